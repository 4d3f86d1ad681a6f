/**
 * Manual check helper (not a test): a demo server on 127.0.0.1:<PORT> with positions for the demo
 * citizen Lucia Ferrante in two comuni. `PORT=4010 npx tsx test/portal/dev-server.ts`
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { upsertUser } from '../../src/modules/users/repository.js';
import { cancel, citizens, createCitizenPosition, expire, fullName } from './fixtures.js';

const port = Number(process.env.PORT ?? 4010);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sael-portal-dev-'));
const app = await buildApp(loadConfig({ DATA_DIR: dir, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, LOG_LEVEL: 'warn', PAGOPA_FDR_INTERVAL_MINUTES: '0' }));
const { lucia } = citizens();
await upsertUser(app.db, lucia, { actor: 'dev' });
await createCitizenPosition(app, lucia.fiscalCode, fullName(lucia), { comune: 'Campobasso', description: 'TARI 2026 – tassa sui rifiuti', amountCents: 24550, installments: 3 });
await createCitizenPosition(app, lucia.fiscalCode, fullName(lucia), { comune: 'Termoli', description: 'Canone unico 2026 – passo carrabile', amountCents: 8000, serviceCode: 'CUP' });
await expire(app, await createCitizenPosition(app, lucia.fiscalCode, fullName(lucia), { comune: 'Bojano', description: 'Mensa scolastica marzo 2025', amountCents: 4500, serviceCode: 'MENSA' }));
await cancel(app, await createCitizenPosition(app, lucia.fiscalCode, fullName(lucia), { comune: 'Larino', description: 'Sanzione annullata', amountCents: 4200, serviceCode: 'SANZIONI' }));
const p = await createCitizenPosition(app, 'RSSMRA85T10A562S', 'Mario Rossi', { comune: 'Campobasso', description: 'TARI di un altro', amountCents: 9900 });
await app.listen({ port, host: '127.0.0.1' });
console.log(`listening ${port} dir ${dir} other nav ${p.options[0]!.noticeNumber}`);
