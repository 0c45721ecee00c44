// Node stand-in for `import module from '.../cedar_wasm_bg.wasm'` (a workerd/wrangler module
// import): the same file, compiled here. Aliased in vitest.config.ts for the unit project.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const file = fileURLToPath(
  new URL('../../node_modules/@cedar-policy/cedar-wasm/web/cedar_wasm_bg.wasm', import.meta.url),
);
export default await WebAssembly.compile(new Uint8Array(await readFile(file)));
