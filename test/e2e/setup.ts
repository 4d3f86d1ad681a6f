/** The app for an e2e file: listening on a free 127.0.0.1 port with PUBLIC_URL set to it, plus demo positions. */
import type { FastifyInstance } from 'fastify';
import { buildTestApp } from '../helpers.js';
import { freePort } from '../pagopa/helpers.js';
import { upsertUser } from '../../src/modules/users/repository.js';
import { citizens, createCitizenPosition, fullName } from '../portal/fixtures.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function e2eApp(t: Teardown) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const app: FastifyInstance = await buildTestApp(t, { PORT: String(port), PUBLIC_URL: base, PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  await app.listen({ port, host: '127.0.0.1' });
  const { lucia, antonio } = citizens();
  await upsertUser(app.db, antonio, { actor: 'test' });
  const positions = {
    anonNotice: await createCitizenPosition(app, antonio.fiscalCode, fullName(antonio), { comune: 'Riccia', description: 'Canone unico 2026 – insegna', amountCents: 7350, serviceCode: 'CUP' }),
    tari: await createCitizenPosition(app, lucia.fiscalCode, fullName(lucia), { comune: 'Campobasso', description: 'TARI 2026 – Lucia', amountCents: 24000, installments: 3 }),
    mensa: await createCitizenPosition(app, lucia.fiscalCode, fullName(lucia), { comune: 'Termoli', description: 'Mensa scolastica aprile – Lucia', amountCents: 5600, serviceCode: 'MENSA' }),
  };
  return { app, base, lucia, antonio, positions };
}
