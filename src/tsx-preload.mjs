// Imported ahead of tsx's loader by the npm scripts that run the TypeScript sources (start, dev,
// cli, bench: `tsx --import ./src/tsx-preload.mjs …`). tsx passes every module through its
// transform, plain JavaScript in node_modules included, and libxml2-wasm's 960 KB module (its
// WebAssembly inlined) took it ~0.9 s of each start, where a plain import takes 0.08 s; loaded
// here first, the server's own imports of it find it loaded. Importing the app went from 2.6 s
// to 1.6 s. Worker threads do the same through workerData.preload (src/workers/ts-worker.mjs).
await import('libxml2-wasm');
