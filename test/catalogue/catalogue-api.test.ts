/**
 * REST API of an ente's adesioni and charges with its API key: scoped to the key's ente (another
 * ente's charge is a 404), schemas on the query, paid on read, listed in the OpenAPI.
 */
import t from 'tap';
import { eq } from 'drizzle-orm';
import { issueChargesForAdesione } from '../../src/modules/catalogue/charges.js';
import { catalogueCharges } from '../../src/modules/catalogue/schema.js';
import { createApiKey } from '../../src/modules/users/repository.js';
import { addAdesione, addService, chargesApp, comune, dayPlus, province } from './charges-fixtures.js';
import { sqlRun } from '../../src/db/raw.js';

t.test('/api/v1/adesioni and /api/v1/addebiti', async (t) => {
  const { app, clock } = await chargesApp(t);
  const today = dayPlus(clock.now, 0);
  const termoli = await comune(app, 'Termoli');
  const bojano = await comune(app, 'Bojano');
  const annual = await addService(app, 'annual', 'Conservazione');
  const free = await addService(app, 'free', 'Formazione di base');
  const aT = await addAdesione(app, { enteId: termoli.id, serviceId: annual, startDate: today, endDate: dayPlus(clock.now, 364), amountCents: 50000 });
  const aTfree = await addAdesione(app, { enteId: termoli.id, serviceId: free, status: 'submitted' });
  const aB = await addAdesione(app, { enteId: bojano.id, serviceId: annual, startDate: today, endDate: dayPlus(clock.now, 364), amountCents: 70000 });
  await issueChargesForAdesione(app.catalogue, aT, clock.now);
  await issueChargesForAdesione(app.catalogue, aB, clock.now);
  const cT = (await app.db.select().from(catalogueCharges).where(eq(catalogueCharges.adesioneId, aT)).limit(1))[0]!;
  const cB = (await app.db.select().from(catalogueCharges).where(eq(catalogueCharges.adesioneId, aB)).limit(1))[0]!;
  const keyT = (await createApiKey(app.db, termoli.id, 'gestionale', { actor: 'test' })).key;
  const api = (url: string, key: string | null = keyT) => app.inject({ url, headers: key ? { authorization: `Bearer ${key}` } : {} });

  const ad = await api('/api/v1/adesioni');
  t.equal(ad.statusCode, 200);
  t.same(ad.json().items.map((a: { id: number }) => a.id), [aT, aTfree], 'only Termoli’s adesioni');
  t.match(ad.json().items[0], { serviceName: 'Conservazione', billing: 'annual', status: 'active', amountCents: 50000, startDate: today });
  t.same((await api('/api/v1/adesioni?status=submitted')).json().items.map((a: { id: number }) => a.id), [aTfree]);
  t.equal((await api('/api/v1/adesioni?status=bogus')).statusCode, 400);

  const list = await api('/api/v1/addebiti');
  t.equal(list.statusCode, 200);
  const items = list.json().items as Record<string, unknown>[];
  t.same(items.map((c) => c.id), [cT.id], 'only Termoli’s charges');
  t.match(items[0], {
    adesioneId: aT,
    kind: 'annual',
    status: 'issued',
    overdue: false,
    noticeNumber: cT.noticeNumber,
    amountCents: cT.amountCents,
    creditor: { fiscalCode: (await province(app)).fiscalCode, name: 'Provincia di Campobasso' },
    paidAt: null,
  });
  t.equal((await api(`/api/v1/addebiti/${cT.id}`)).json().id, cT.id);
  const idor = await api(`/api/v1/addebiti/${cB.id}`);
  t.equal(idor.statusCode, 404, 'Bojano’s charge does not exist for Termoli’s key');
  t.notMatch(idor.body, cB.noticeNumber!);
  t.equal((await api('/api/v1/addebiti?status=paid')).json().items.length, 0);
  t.equal((await api('/api/v1/addebiti?status=nope')).statusCode, 400);
  t.equal((await api('/api/v1/addebiti?year=20x6')).statusCode, 400);
  t.equal((await api('/api/v1/addebiti?extra=1')).statusCode, 400, 'unknown parameters refused');
  t.equal((await api('/api/v1/addebiti/0')).statusCode, 400);
  t.equal((await api('/api/v1/addebiti', null)).statusCode, 401);
  t.equal((await api('/api/v1/adesioni', 'not-a-key')).statusCode, 401);

  (await sqlRun(app.db, "UPDATE payment_options SET status = 'paid', paid_at = '2026-01-02T10:00:00.000Z' WHERE position_id = ?", cT.positionId));
  const paid = (await api(`/api/v1/addebiti/${cT.id}`)).json();
  t.match(paid, { status: 'paid', paidAt: '2026-01-02T10:00:00.000Z' }, 'paid by the receipt, on read');
  t.same((await api('/api/v1/addebiti?status=paid')).json().items.map((c: { id: number }) => c.id), [cT.id]);

  await app.ready();
  const spec = app.swagger() as { paths: Record<string, unknown> };
  for (const p of ['/api/v1/adesioni', '/api/v1/addebiti', '/api/v1/addebiti/{id}']) t.ok(spec.paths[p], `${p} in the OpenAPI`);
});
