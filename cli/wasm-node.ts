/**
 * The WASM pieces (Postgres parser, Cedar) for Node: tests, the benchmark and the CLI compile
 * them from the installed packages. The edge imports the same files as `.wasm` modules instead
 * (workers/wasm.ts).
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initCedar } from '../core/policy/engine.ts';
import { loadPgParser, type SqlParser } from '../core/sql/pg-parser.ts';

const fileOf = (specifier: string) => fileURLToPath(import.meta.resolve(specifier));

let parser: Promise<SqlParser> | undefined;

export function nodeSqlParser(): Promise<SqlParser> {
  parser ??= readFile(join(dirname(fileOf('libpg-query')), 'libpg-query.wasm'))
    .then((bytes) => WebAssembly.compile(new Uint8Array(bytes)))
    .then(loadPgParser);
  return parser;
}

let cedar: Promise<void> | undefined;

export function nodeCedar(): Promise<void> {
  cedar ??= readFile(join(dirname(fileOf('@cedar-policy/cedar-wasm/web')), 'cedar_wasm_bg.wasm'))
    .then((bytes) => WebAssembly.compile(new Uint8Array(bytes)))
    .then(initCedar);
  return cedar;
}
