/**
 * The last sign-in of each enabled person (users.last_login_at): written by a successful SPID/CIE
 * login only, shown to the SAEL administrator next to the global roles and to the ente's
 * administrator next to the ente's operators, so unused accounts stand out when access is reviewed.
 */
import t from 'tap';
import { eq } from 'drizzle-orm';
import { demoUserFiscalCodes } from '../src/modules/enti/demo-seed.js';
import { enti } from '../src/modules/enti/schema.js';
import { users } from '../src/modules/users/schema.js';
import { buildTestApp, loginAs, postToAcs, spidLogin, spidToAcs } from './helpers.js';

const DATETIME_IT = new Intl.DateTimeFormat('it-IT', { day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Rome' });

/** The table row (as text) of the person with this fiscal code. */
function rowOf(html: string, fiscalCode: string): string {
  const row = [...html.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => m[1]!).find((r) => r.includes(`<td>${fiscalCode}</td>`));
  return (row ?? '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
}

t.test('a login is recorded and shown to the administrators; a refused one is not', async (t) => {
  const app = await buildTestApp(t);
  const demo = demoUserFiscalCodes();
  const helpdesk = demo.find((u) => u.role === 'helpdesk')!.fiscalCode;
  const operator = demo.find((u) => u.role === 'operator')!;
  const admin = await loginAs(app, demo.find((u) => u.role === 'sael_admin')!.fiscalCode);
  const lastLogin = async (cf: string) => (await app.db.select({ at: users.lastLoginAt }).from(users).where(eq(users.fiscalCode, cf)).limit(1))[0]?.at ?? null;
  const rolesPage = async () => (await app.inject({ url: '/admin/ruoli', headers: { accept: 'text/html', cookie: admin } })).body;

  t.equal(await lastLogin(helpdesk), null, 'the seeded helpdesk user never signed in');
  t.match(rowOf(await rolesPage(), helpdesk), / mai /, 'the roles page says so');

  // A login the IdP refuses (ErrorCode 22: the user declined consent) records nothing.
  const refused = await spidToAcs(app, { identity: `demo:${helpdesk}`, outcome: '22' });
  t.not((await postToAcs(app, refused.acsForm, refused.jar)).statusCode, 303);
  t.equal(await lastLogin(helpdesk), null, 'a refused login is not a login');

  const before = Date.now();
  await spidLogin(app, { identity: `demo:${helpdesk}` });
  const at = await lastLogin(helpdesk);
  t.ok(at && Date.parse(at) >= before - 1000 && Date.parse(at) <= Date.now(), `recorded at the login: ${at}`);
  const row = rowOf(await rolesPage(), helpdesk);
  t.ok(row.includes(DATETIME_IT.format(new Date(at!))), `the roles page shows it, Italian time: ${row}`);
  t.notMatch(row, / mai /);

  // The ente's page lists its operators with theirs.
  const ente = (await app.db.select().from(enti).where(eq(enti.istatCode, operator.enteIstat!)).limit(1))[0]!;
  const entePage = async () => (await app.inject({ url: `/admin/enti/${ente.id}`, headers: { accept: 'text/html', cookie: admin } })).body;
  t.match(rowOf(await entePage(), operator.fiscalCode), / mai /);
  await spidLogin(app, { identity: `demo:${operator.fiscalCode}` });
  t.ok(rowOf(await entePage(), operator.fiscalCode).includes(DATETIME_IT.format(new Date((await lastLogin(operator.fiscalCode))!))), 'the operator’s login on the ente’s page');
});
