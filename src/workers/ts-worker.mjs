// Bootstrap for worker threads running TypeScript modules: registers the tsx loader in the
// worker, then imports the module named in workerData.entry (a file: URL).
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
