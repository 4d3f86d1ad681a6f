/** Issue #14 §5: a position's history names who did what (a person, an API key, an import), not `user:3`. */
import t from 'tap';
import { eq } from 'drizzle-orm';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { actorLabel, loadActorNames } from '../../src/modules/backoffice/shared.js';
import { users } from '../../src/modules/users/schema.js';
import { createApiKey } from '../../src/modules/users/repository.js';
import { sqlGet } from '../../src/db/raw.js';
import { buildTestApp, csrfFrom, form, FORM_HEADERS, loginAs } from '../helpers.js';
import { dueIn, fiscalCodeFor, IMPORT_HEADER } from '../positions/csv-fixtures.js';
import { demoEnte, tariBody } from '../positions/fixtures.js';

const OP_CB = demoUserFiscalCodes().find((u) => u.role === 'operator' && u.enteIstat === '070006')!.fiscalCode;

t.test('actor labels', async (t) => {
  const names = { users: new Map([[3, 'Giuseppe Verdi']]), apiKeys: new Map([[7, 'Gestionale tributi']]) };
  t.equal(actorLabel('user:3', names), 'Giuseppe Verdi');
  t.equal(actorLabel('user:4', names), 'Utente n. 4', 'a user without a name or deleted');
  t.equal(actorLabel('apikey:7', names), 'API – chiave «Gestionale tributi»');
  t.equal(actorLabel('apikey:8', names), 'API – chiave n. 8');
  t.equal(actorLabel('pagopa-node', names), 'Nodo pagoPA');
  t.equal(actorLabel('system:demo-seed', names), 'Dati dimostrativi');
  t.equal(actorLabel('system:scheduler', names), 'Procedura automatica');
  t.equal(actorLabel('cli', names), 'Riga di comando (amministratore)');
});

t.test('the history of a position names people, API keys and imports', async (t) => {
  const app = await buildTestApp(t);
  const cb = (await demoEnte(app, 'Campobasso')).ente;
  const op = await loginAs(app, OP_CB);
  const operator = (await app.db.select().from(users).where(eq(users.fiscalCode, OP_CB)).limit(1))[0]!;
  const operatorName = `${operator.name} ${operator.familyName}`;
  const key = (await createApiKey(app.db, cb.id, 'Gestionale tributi', { actor: 'test' })).key;
  const auth = { authorization: `Bearer ${key}` };

  // Created by the API key, published again from the back office (an update).
  const { body } = await tariBody(app);
  const created = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: auth, payload: { ...body, iupd: 'HIST-1', publish: false } });
  t.equal(created.statusCode, 201, created.body.slice(0, 300));
  const id = (await sqlGet<{ id: number }>(app.db, "SELECT id FROM positions WHERE iupd = 'HIST-1'"))!.id;
  const detailUrl = `/backoffice/enti/${cb.id}/posizioni/${id}`;
  const { token, cookie } = await csrfFrom(app, detailUrl, op);
  const published = await app.inject({ method: 'POST', url: `${detailUrl}/pubblica`, headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token }) });
  t.equal(published.statusCode, 303);

  const page = await app.inject({ url: detailUrl, headers: { accept: 'text/html', cookie } });
  t.match(page.body, /Creata <span class="small text-secondary">da API – chiave «Gestionale tributi»<\/span>/);
  t.match(page.body, new RegExp(`Pubblicata <span class="small text-secondary">da ${operatorName}</span>`));
  t.notMatch(page.body, /user:\d|apikey:\d/, 'no raw actor ids');

  // Imported by the operator through the back office: the history links the import.
  const csv = [IMPORT_HEADER.join(';'), ['HIST-2', 'F', fiscalCodeFor(5), 'Cinque', 'Mensa', '', '25,50', dueIn(40), '25,50', 'Mensa', '9/0201133IM/'].join(';')].join('\r\n');
  const jobId = await app.jobs.enqueue({ kind: 'positions-csv-import', enteId: cb.id, requestedBy: `user:${operator.id}`, input: await storedUpload(app, csv) });
  await app.jobs.drain();
  const imported = (await sqlGet<{ id: number }>(app.db, "SELECT id FROM positions WHERE iupd = 'HIST-2'"))?.id;
  t.ok(imported, 'imported');
  const importedPage = await app.inject({ url: `/backoffice/enti/${cb.id}/posizioni/${imported}`, headers: { accept: 'text/html', cookie } });
  t.match(importedPage.body, new RegExp(`Creata <span class="small text-secondary">da ${operatorName}, <a href="/backoffice/enti/${cb.id}/importazioni/${jobId}">importazione CSV n. ${jobId}</a>`));

  const names = await loadActorNames(app.db, ['user:999999', 'apikey:x', 'pagopa-node']);
  t.equal(names.users.size + names.apiKeys.size, 0, 'unknown ids and other actors read nothing');
});

async function storedUpload(app: Awaited<ReturnType<typeof buildTestApp>>, csv: string) {
  const { Readable } = await import('node:stream');
  const { storeUpload } = await import('../../src/modules/positions/import-job.js');
  const stored = await storeUpload(app.config.dataDir, Readable.from([Buffer.from(csv)]), 1_000_000);
  return { file: stored.file, sha256: stored.sha256, originalName: 'storico.csv', mode: 'valid', serviceCode: 'MENSA', maxRows: 1000 };
}
