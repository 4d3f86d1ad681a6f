/**
 * Worker thread of {@link StationReadPool}: answers the node's read-only calls with the same code
 * as the main thread (beginStationRequest) on its own read-only connection to the database file.
 * A message that would need a write (a receipt to store, or anything else the read-only
 * connection refuses) goes back to the main thread untouched: `{ type: 'main' }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openReadOnlyDatabase, rawClient } from '../../db/client.js';
import { paForNodeSoapSchema } from './spec-files.js';
import { beginStationRequest } from './station.js';
import type { StationPoolData, StationPoolMessage, StationPoolReply } from './station-pool.js';

const port = parentPort!;
const { file, settings } = workerData as StationPoolData;

const db = openReadOnlyDatabase(file);

port.on('message', async (m: StationPoolMessage) => {
  let reply: StationPoolReply;
  try {
    const step = await beginStationRequest({ db, settings }, { body: m.body, soapAction: m.soapAction, requestId: m.requestId });
    reply = 'finish' in step ? { id: m.id, type: 'main' } : { id: m.id, type: 'done', result: step };
  } catch (err) {
    reply = { id: m.id, type: 'main', error: (err as Error).message };
  }
  port.postMessage(reply);
});
port.on('close', () => rawClient(db).close());
paForNodeSoapSchema(); // the XSDs compiled before the first call, not during it
port.postMessage({ id: 0, type: 'ready' } satisfies StationPoolReply);
