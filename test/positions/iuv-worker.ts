/** Child process for the concurrency test: opens the same SQLite file and creates positions in a loop. */
import { openDatabase } from '../../src/db/client.js';
import { getEnte, getServiceByCode } from '../../src/modules/enti/repository.js';
import { createPosition } from '../../src/modules/positions/repository.js';
import type { ValidPosition } from '../../src/modules/positions/validation.js';

const { file, enteId, count, tag, value } = JSON.parse(process.argv[2]!) as { file: string; enteId: number; count: number; tag: string; value: ValidPosition };
const h = openDatabase(file);
const ente = (await getEnte(h.db, enteId))!;
const service = (await getServiceByCode(h.db, enteId, 'MENSA'))!;
for (let i = 0; i < count; i++) {
  await createPosition(h.db, ente, service, { value: { ...value, iupd: `${tag}-${i}` }, switchToExpired: false }, { publish: true }, { actor: 'test' });
}
h.close();
