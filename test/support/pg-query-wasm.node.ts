// Node stand-in for `import module from 'libpg-query/wasm/libpg-query.wasm'` (see cedar-wasm.node.ts).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const file = fileURLToPath(new URL('../../node_modules/libpg-query/wasm/libpg-query.wasm', import.meta.url));
export default await WebAssembly.compile(new Uint8Array(await readFile(file)));
