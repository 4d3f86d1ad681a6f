// Bootstrap for worker threads running the server's modules: registers the tsx loader in the
// worker when the module named in workerData.entry (a file: URL) is TypeScript, then imports it.
// Compiled JavaScript (the test run's .test-build/) is imported as it is.
//
// workerData.preload names packages imported before tsx is registered. tsx's loader passes every
// module through its transform, plain JavaScript in node_modules included, and libxml2-wasm's
// 960 KB module (its WebAssembly inlined) took it 0.8 s of a thread's start where a plain import
// takes 0.08 s; imported first, the entry's own import of it finds it loaded.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

if (workerData.entry.endsWith('.ts')) {
  for (const name of workerData.preload ?? []) await import(name);
  register();
}
await import(workerData.entry);
