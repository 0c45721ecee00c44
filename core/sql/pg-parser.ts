/**
 * The real PostgreSQL parser (libpg_query compiled to WASM), loaded from a precompiled
 * WebAssembly.Module: workerd forbids compiling WASM from bytes at run time, so the module is
 * imported as a `.wasm` module there and compiled from the file in Node. The emscripten glue
 * gets it through its `instantiateWasm` hook instead of fetching a file.
 */
import createModule from 'libpg-query/wasm/libpg-query.js';
import { PosternError } from '../errors.ts';

/** The JSON parse tree (libpg_query's protobuf-as-JSON shape, see @pgsql/types). */
export type ParseTree = {
  version: number;
  stmts?: Array<{ stmt: Record<string, unknown>; stmt_location?: number; stmt_len?: number }>;
};

/** One lexical token as Postgres's own scanner (scan.l) reads it. */
export interface SqlToken {
  /** Byte offsets into the UTF-8 text. */
  start: number;
  end: number;
  /** libpg_query's name for the token: SCONST, IDENT, C_COMMENT, ASCII_61... (UNKNOWN for many). */
  name: string;
  /** A keyword (reserved or not). */
  keyword: boolean;
}

export interface SqlParser {
  /** Throws PosternError INVALID_INPUT with Postgres's own message for SQL that does not parse. */
  parse(sql: string): ParseTree;
  /**
   * The tokens of `sql` (comments included) as the server's scanner reads them, with
   * standard_conforming_strings on; undefined when it cannot be lexed (an unterminated string or
   * comment, an invalid escape), as the server would refuse it.
   */
  scan(sql: string): SqlToken[] | undefined;
}

interface EmscriptenModule {
  _malloc(n: number): number;
  _free(p: number): void;
  _wasm_parse_query_raw(p: number): number;
  _wasm_free_parse_result(p: number): void;
  _wasm_scan(p: number): number;
  _wasm_free_string(p: number): void;
  lengthBytesUTF8(s: string): number;
  stringToUTF8(s: string, p: number, n: number): void;
  UTF8ToString(p: number): string;
  getValue(p: number, type: 'i32'): number;
  /** Replaced when the WASM memory grows: read it afresh on every call. */
  HEAPU8: Uint8Array;
}

const utf8 = new TextDecoder();

export async function loadPgParser(wasm: WebAssembly.Module): Promise<SqlParser> {
  // The glue sniffs its environment when called: in workerd (nodejs_compat) it sees both
  // `process.versions.node` and WorkerGlobalScope and reads `__filename`/`__dirname` (or
  // `self.location`, which workerd lacks) to locate its .wasm file. With instantiateWasm that
  // location is never used, so the names only have to exist while the factory runs.
  const g = globalThis as Record<string, unknown>;
  const shim = g['__filename'] === undefined;
  if (shim) Object.assign(g, { __filename: '/libpg-query.js', __dirname: '/' });
  try {
    const mod = (await createModule({
      instantiateWasm(imports: WebAssembly.Imports, done: (i: WebAssembly.Instance) => void) {
        void WebAssembly.instantiate(wasm, imports).then((instance) => done(instance));
        return {};
      },
    })) as EmscriptenModule;
    return { parse: (sql) => parseWith(mod, sql), scan: (sql) => scanWith(mod, sql) };
  } finally {
    if (shim) {
      delete g['__filename'];
      delete g['__dirname'];
    }
  }
}

function parseWith(mod: EmscriptenModule, sql: string): ParseTree {
  const len = mod.lengthBytesUTF8(sql) + 1;
  const queryPtr = mod._malloc(len);
  let result = 0;
  try {
    mod.stringToUTF8(sql, queryPtr, len);
    result = mod._wasm_parse_query_raw(queryPtr);
    if (!result) throw new PosternError('INTERNAL', 'SQL parser out of memory');
    // struct PgQueryParseResult { char* parse_tree; char* stderr_buffer; PgQueryError* error; }
    const tree = mod.getValue(result, 'i32');
    const error = mod.getValue(result + 8, 'i32');
    if (error) {
      const msgPtr = mod.getValue(error, 'i32');
      const cursor = mod.getValue(error + 16, 'i32');
      const message = msgPtr ? mod.UTF8ToString(msgPtr) : 'syntax error';
      throw new PosternError('INVALID_INPUT', message, { position: cursor });
    }
    // The tree is ~1-2 KB of JSON even for a short query: find its end with a native indexOf
    // rather than the glue's byte-by-byte loop (UTF8ToString).
    const heap = mod.HEAPU8;
    const end = tree ? heap.indexOf(0, tree) : 0;
    return JSON.parse(utf8.decode(heap.subarray(tree, end < 0 ? heap.length : end))) as ParseTree;
  } finally {
    mod._free(queryPtr);
    if (result) mod._wasm_free_parse_result(result);
  }
}

/**
 * libpg_query's scanner (pg_query_scan) returns JSON tokens, or a message when the text cannot
 * be lexed. Its JSON leaves control characters inside token text unescaped; only offsets, names
 * and keyword kinds are read here, so those characters are blanked before parsing.
 */
function scanWith(mod: EmscriptenModule, sql: string): SqlToken[] | undefined {
  // The server reads a query up to its first NUL (protocol §55.7): what follows is not SQL.
  if (sql.includes('\0')) return undefined;
  const len = mod.lengthBytesUTF8(sql) + 1;
  const queryPtr = mod._malloc(len);
  let result = 0;
  try {
    mod.stringToUTF8(sql, queryPtr, len);
    result = mod._wasm_scan(queryPtr);
    if (!result) return undefined;
    const heap = mod.HEAPU8;
    const end = heap.indexOf(0, result);
    const text = utf8.decode(heap.subarray(result, end < 0 ? heap.length : end));
    if (!text.startsWith('{')) return undefined;
    const json = JSON.parse(text.replace(/[\u0000-\u001f]/g, ' ')) as {
      tokens?: Array<{ start: number; end: number; tokenName: string; keywordKind: number }>;
    };
    return (json.tokens ?? []).map((t) => ({
      start: t.start,
      end: t.end,
      name: t.tokenName,
      keyword: t.keywordKind > 0,
    }));
  } catch {
    return undefined;
  } finally {
    mod._free(queryPtr);
    if (result) mod._wasm_free_string(result);
  }
}
