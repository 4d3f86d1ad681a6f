// Bootstrap for worker threads running the server's modules: registers the tsx loader in the
// worker when the module named in workerData.entry (a file: URL) is TypeScript, then imports it.
// Compiled JavaScript (the test run's .test-build/) is imported as it is.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

if (workerData.entry.endsWith('.ts')) register();
await import(workerData.entry);
