// Ambient declarations for the WASM pieces (checked by both the root and the runtime-neutral
// tsconfig).
declare module 'libpg-query/wasm/libpg-query.js' {
  const createModule: (options: Record<string, unknown>) => Promise<unknown>;
  export default createModule;
}
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
