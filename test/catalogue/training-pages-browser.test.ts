/**
 * The training and referenti-mailing pages in headless Chromium at 1280 and 390 px: axe-core
 * (WCAG 2.1 A/AA) finds no violation on any of them; screenshots under test-output/e2e/ (cat-d-*).
 * Also: nothing is wider than the 390 px viewport.
 */
import t from 'tap';
import { eq } from 'drizzle-orm';
import { chromiumAvailable, e2eSession, PAGE_WIDTHS } from '../e2e/browser.js';
import { e2eApp } from '../e2e/setup.js';
import { loginAs } from '../helpers.js';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { enti } from '../../src/modules/enti/schema.js';
import { createSession, enrol, markAttendance } from '../../src/modules/catalogue/training-repository.js';
import { addSubscription, createMailing, unsubscribeKey, unsubscribeToken } from '../../src/modules/catalogue/mailing-repository.js';
import { MAILING_JOB } from '../../src/modules/catalogue/mailing-job.js';
import { upsertUser } from '../../src/modules/users/repository.js';

// About 26 page views with axe and a screenshot each: its own file timeout (the default is 120 s).
t.setTimeout(480_000);

const DAY = 86_400_000;
const HOUR = 3_600_000;

t.test('training and mailing pages: axe clean at 1280 and 390 px', { skip: chromiumAvailable() ? false : 'chromium not installed' }, async (t) => {
  const { app, base } = await e2eApp(t);
  const users = demoUserFiscalCodes();
  const cf = (role: string) => users.find((u) => u.role === role)!.fiscalCode;
  await upsertUser(app.db, { fiscalCode: cf('ente_admin'), email: 'anna.esposito@comune.termoli.cb.it' }, { actor: 'test' });
  const termoli = (await app.db.select().from(enti).where(eq(enti.istatCode, '070078')).limit(1))[0]!;
  const campobasso = (await app.db.select().from(enti).where(eq(enti.istatCode, '070006')).limit(1))[0]!;
  const by = { actor: 'test' };
  const noMail = () => {};
  const s = await createSession(app.db, { title: 'SUAP: la pratica online dalla A alla Z', topic: 'SUAP e commercio', description: 'Programma della giornata:\n- accesso al portale\n- compilazione e firma\n- domande', startsAt: new Date(Date.now() + 9 * DAY).toISOString(), endsAt: new Date(Date.now() + 9 * DAY + 4 * HOUR).toISOString(), place: 'Sala Falcone, Palazzo della Provincia, Via Roma 47, Campobasso', onlineUrl: 'https://meet.example.invalid/sael-suap', speakers: 'Mario Rossi; Laura Bianchi', seats: 25, freePerEnte: 2 }, { ...by, userId: null });
  await createSession(app.db, { title: 'Albo pretorio e trasparenza', topic: 'Trasparenza', description: '', startsAt: new Date(Date.now() + 20 * DAY).toISOString(), endsAt: new Date(Date.now() + 20 * DAY + 2 * HOUR).toISOString(), place: null, onlineUrl: 'https://meet.example.invalid/albo', speakers: '', seats: 3, freePerEnte: 2 }, { ...by, userId: null });
  for (const [n, e] of [['Carla Bruno', 'carla@termoli.it'], ['Dario Conti', 'dario@termoli.it'], ['Elena Fabbri', 'elena@termoli.it']])
    await enrol(app.db, { sessionId: s.id, enteId: termoli.id, name: n!, email: e!, role: 'Ufficio SUAP', enrolledBy: null }, { now: new Date(), mail: noMail, publicUrl: base, by });
  const past = await createSession(app.db, { title: 'Conservazione digitale', topic: 'Conservazione', description: '', startsAt: new Date(Date.now() - 5 * DAY).toISOString(), endsAt: new Date(Date.now() - 5 * DAY + 3 * HOUR).toISOString(), place: 'Termoli', onlineUrl: null, speakers: 'Laura Bianchi', seats: 20, freePerEnte: 2 }, { ...by, userId: null });
  const p = await enrol(app.db, { sessionId: past.id, enteId: termoli.id, name: 'Carla Bruno', email: 'carla@termoli.it', role: null, enrolledBy: null }, { now: new Date(Date.now() - 7 * DAY), mail: noMail, publicUrl: base, by });
  await markAttendance(app.db, p.enrollment.id, 'attended', { now: new Date(), by });
  const sub = await addSubscription(app.db, { enteId: campobasso.id, name: 'Ufficio segreteria', email: 'segreteria@comune.campobasso.it' }, by);
  const m = await createMailing(app.db, { subject: 'Nuova modulistica per le adesioni 2027', body: 'Gentili referenti,\nè disponibile la nuova modulistica.', documentIds: [] }, { userId: null, by, enqueue: async (id) => await app.jobs.enqueue({ kind: MAILING_JOB, enteId: null, requestedBy: 'test', input: { mailingId: id } }) });
  await app.jobs.drain();
  const token = unsubscribeToken(await unsubscribeKey(app.db), sub.id);

  const session = await e2eSession(base);
  t.teardown(() => session.browser.close());
  const cookieOf = (c: string) => {
    const i = c.indexOf('=');
    return { name: c.slice(0, i), value: decodeURIComponent(c.slice(i + 1)), url: base };
  };
  const pages: [string, string, string | null][] = [
    ['list', '/formazione', null],
    ['detail-anon', `/formazione/${s.id}`, null],
    ['detail-ente', `/formazione/${s.id}`, 'ente_admin'],
    ['ente', `/backoffice/enti/${termoli.id}/formazione`, 'ente_admin'],
    ['admin-list', '/admin/catalogo/formazione', 'sael_admin'],
    ['admin-new', '/admin/catalogo/formazione/nuova', 'sael_admin'],
    ['admin-session', `/admin/catalogo/formazione/${s.id}`, 'sael_admin'],
    ['admin-register', `/admin/catalogo/formazione/${past.id}`, 'sael_admin'],
    ['mailings', '/admin/catalogo/comunicazioni', 'sael_admin'],
    ['mailing', `/admin/catalogo/comunicazioni/${m.id}`, 'sael_admin'],
    ['referenti', '/admin/catalogo/comunicazioni/referenti', 'sael_admin'],
    ['unsubscribe', `/referenti/disiscrizione?token=${token}`, null],
  ];
  for (const width of PAGE_WIDTHS) {
    const { ctx, page } = await session.context(width);
    for (const [name, url, role] of pages) {
      await ctx.clearCookies();
      if (role) await ctx.addCookies([cookieOf(await loginAs(app, cf(role)))]);
      const res = await page.goto(`${base}${url}`);
      t.equal(res?.status(), 200, `${name} ${url}`);
      await session.check(page, `cat-d-${name}-${width}`, { axe: width === 1280 });
      if (width === 390) {
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        t.ok(overflow <= 0, `${name}: no horizontal scrolling at 390 px (${overflow})`);
      }
    }
    // The admin form with its errors shown.
    await ctx.clearCookies();
    await ctx.addCookies([cookieOf(await loginAs(app, cf('sael_admin')))]);
    await page.goto(`${base}/admin/catalogo/formazione/nuova`);
    await page.getByRole('button', { name: 'Crea la sessione' }).click();
    await page.waitForLoadState('load');
    await session.check(page, `cat-d-admin-form-errors-${width}`);
    await ctx.close();
  }
  for (const [name, violations] of Object.entries(session.axeResults)) t.same(violations, [], `axe: ${name}`);
  t.same(session.thirdParty, [], 'no third-party requests');
});
