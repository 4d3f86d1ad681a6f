/**
 * Worker thread of the PdV checks (check-pool.ts): runs `checkSip` on each PdV posted to it and
 * answers with its result, or with the error's message when a check itself failed.
 */
import { parentPort } from 'node:worker_threads';
import { checkSip, type CheckSipInput } from './run-checks.js';

const port = parentPort!;

port.on('message', (msg: { id: number; input: CheckSipInput }) => {
  checkSip(msg.input).then(
    (result) => port.postMessage({ id: msg.id, result }),
    (err: unknown) => port.postMessage({ id: msg.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
