/**
 * A GPD client's own IUVs against the platform's counter, two processes on one PostgreSQL database
 * (#19): a client posts IUVs at the very values the counter would issue next while the other
 * process creates positions with platform IUVs. Whatever the interleaving, no IUV is stored twice,
 * the client's position either keeps its IUVs (201) or is refused as a whole (409, nothing
 * written), and the counter never issues an IUV a client holds. Skipped without TEST_DATABASE_URL
 * (SQLite serialises every writer in one process: nothing to race).
 */
import t from 'tap';
import { sqlAll, sqlGet } from '../../src/db/raw.js';
import { createTestDatabase, pgServerUrl } from '../db/pg-helpers.js';
import { buildTestApp } from '../helpers.js';
import { apiKeyFor, demoEnte, inDays, tariBody } from '../positions/fixtures.js';
import { clientIuv, GPD_DEBTOR } from './fixtures.js';

type App = Awaited<ReturnType<typeof buildTestApp>>;


t.test('a GPD client takes the IUVs the counter would issue next, while the other process issues them', async (t) => {
  const server = pgServerUrl(t);
  if (!server) return;
  const url = await createTestDatabase(t, server);
  const env = { DATABASE_URL: url, PAGOPA_FDR_INTERVAL_MINUTES: '0' };
  const a: App = await buildTestApp(t, env);
  const b: App = await buildTestApp(t, env);
  const { ente, ibans } = await demoEnte(a, 'Campobasso');
  const key = await apiKeyFor(a, ente.id);
  const bankIban = ibans.find((i) => i.kind === 'bank')!.iban;
  const seg = ente.segregationCode;
  const gpdBody = (iupd: string, iuvs: string[]) => ({
    iupd,
    ...GPD_DEBTOR,
    switchToExpired: false,
    companyName: ente.name,
    paymentOption: iuvs.map((iuv, i) => ({
      iuv,
      amount: 5000,
      description: `Canone ${i + 1}`,
      isPartialPayment: iuvs.length > 1,
      dueDate: `${inDays(30 * (i + 1))}T23:59:59.999Z`,
      transfer: [{ idTransfer: '1', amount: 5000, organizationFiscalCode: ente.fiscalCode, remittanceInformation: `Canone ${i + 1}`, category: '9/0101108TS/', iban: bankIban }],
    })),
  });
  const nextValue = async () => (await sqlGet<{ next_value: number }>(a.db, 'SELECT next_value FROM iuv_sequences WHERE ente_id = ?', ente.id))?.next_value ?? 1;

  const outcomes: number[] = [];
  for (let round = 0; round < 8; round++) {
    const next = await nextValue();
    // The client's three IUVs are the counter's next three values; the platform's positions race them.
    const iuvs = [clientIuv(seg, next), clientIuv(seg, next + 1), clientIuv(seg, next + 2)];
    const client = round % 2 ? b : a;
    const platform = round % 2 ? a : b;
    const { body } = await tariBody(platform, 'Campobasso', { iupd: `RACE-V1-${round}-${Date.now()}` });
    const [gpd, v1] = await Promise.all([
      client.inject({
        method: 'POST',
        url: `/gpd/organizations/${ente.fiscalCode}/debtpositions`,
        headers: { 'ocp-apim-subscription-key': key },
        payload: gpdBody(`RACE-GPD-${round}-${Date.now()}`, iuvs),
      }),
      platform.inject({ method: 'POST', url: '/api/v1/positions', headers: { authorization: `Bearer ${key}` }, payload: body }),
    ]);
    t.equal(v1.statusCode, 201, `round ${round}: the platform's position is created (${v1.body.slice(0, 200)})`);
    t.ok(gpd.statusCode === 201 || gpd.statusCode === 409, `round ${round}: the client's is created or refused, never an error (${gpd.statusCode} ${gpd.body.slice(0, 200)})`);
    outcomes.push(gpd.statusCode);
    const platformIuvs = (v1.json() as { paymentOptions: { iuv: string }[] }).paymentOptions.map((o) => o.iuv);
    if (gpd.statusCode === 201) {
      t.same((gpd.json() as { paymentOption: { iuv: string }[] }).paymentOption.map((o) => o.iuv), iuvs, `round ${round}: the client keeps its IUVs`);
      t.same(platformIuvs.filter((i) => iuvs.includes(i)), [], `round ${round}: the counter skipped them`);
    } else {
      t.equal((await sqlGet<{ n: number }>(a.db, 'SELECT count(*) AS n FROM external_iuvs WHERE ente_id = ? AND iuv = ?', ente.id, iuvs[0]))!.n, 0, `round ${round}: a refused client's IUVs are not held`);
    }
  }
  const stored = await sqlAll<{ iuv: string }>(b.db, 'SELECT iuv FROM payment_options WHERE ente_id = ?', ente.id);
  t.equal(new Set(stored.map((r) => r.iuv)).size, stored.length, 'no IUV stored twice');
  t.comment(`client outcomes: ${outcomes.join(', ')}`);
});
