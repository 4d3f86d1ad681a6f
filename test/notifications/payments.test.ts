/**
 * Payment notifications end to end, over real HTTP: a TARI published through the API reaches the
 * debtor's App IO inbox (the built-in simulator, which validates every request against the
 * official OpenAPI document) with its payment data; a reminder N days before the due date (never
 * for a paid notice, checked again at send time); the receipt message after paying through the
 * simulated node; a citizen without sender_allowed gets nothing. Then the pages: preferences with
 * e-mail double opt-in, the ente's App IO service (key encrypted, never shown), the helpdesk log.
 */
import t from 'tap';
import { and, eq, like } from 'drizzle-orm';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { demoCitizenProfiles, demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { decryptSecret, deriveKey, encryptSecret, ioKeyAad } from '../../src/modules/notifications/crypto.js';
import { runDispatch } from '../../src/modules/notifications/dispatch.js';
import { runPaymentTriggers } from '../../src/modules/notifications/payment-triggers.js';
import { enteIoServices, notifications, notificationPreferences } from '../../src/modules/notifications/schema.js';
import { paymentOptions } from '../../src/modules/positions/schema.js';
import { simIoMessages } from '../../src/simulators/io/schema.js';
import { loadIoOpenApi } from '../../src/simulators/io/openapi.js';
import { payNotice } from '../../src/simulators/pagopa/node.js';
import { demoIoApiKey } from '../../src/modules/notifications/io-services.js';
import { csrfFrom, form, FORM_HEADERS, htmlUnescape, loginAs, tempDir } from '../helpers.js';
import { createTari, freePort } from '../pagopa/helpers.js';
import { addDays } from '../../src/domain/iso-date.js';
import { upsertUser } from '../../src/modules/users/repository.js';
import { users } from '../../src/modules/users/schema.js';
import { pushSubscriptions } from '../../src/modules/events/schema.js';
import { confirmEmail, savePreferences } from '../../src/modules/notifications/preferences.js';
import { personalCheckChar } from '../../src/domain/fiscal-code.js';
import { sqlAll, sqlGet } from '../../src/db/raw.js';
import { suiteDb } from '../suite-db.js';

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
let clock = new Date();
const sdb = await suiteDb();
const config = loadConfig({ DATA_DIR: tempDir(t), LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '100000', PORT: String(port), PUBLIC_URL: base, PAGOPA_FDR_INTERVAL_MINUTES: '0', ...sdb.env });
const app = await buildApp(config, { logger: false, backgroundWorkers: false, now: () => clock });
sdb.closeWith(t, app);
await app.listen({ port, host: '127.0.0.1' });

const [LUCIA, ANTONIO, GIULIA] = demoCitizenProfiles();
const USERS = Object.fromEntries(demoUserFiscalCodes().map((u) => [`${u.role}:${u.enteIstat ?? ''}`, u.fiscalCode]));
const HELPDESK = USERS['helpdesk:']!;
const ANNA_TERMOLI_ADMIN = USERS['ente_admin:070078']!;
const GIUSEPPE_CB_OPERATOR = USERS['operator:070006']!;
const openapi = loadIoOpenApi();
// The demo citizens sign in with SPID in the demo; here their user rows are made as a login would.
for (const c of [LUCIA!, ANTONIO!]) await upsertUser(app.db, { fiscalCode: c.fiscalCode, name: c.name, familyName: c.familyName }, { actor: 'test' });

const debtor = (fiscalCode: string, fullName: string) => ({ type: 'F', fiscalCode, fullName, streetName: 'Via Roma', civicNumber: '1', postalCode: '86100', city: 'Campobasso', province: 'CB' });
const rowsOf = async (subject: string) => await app.db.select().from(notifications).where(eq(notifications.subject, subject));
const inbox = async (fc: string) => await app.db.select().from(simIoMessages).where(eq(simIoMessages.fiscalCode, fc));
const optionId = async (noticeNumber: string) => (await app.db.select({ id: paymentOptions.id }).from(paymentOptions).where(eq(paymentOptions.noticeNumber, noticeNumber)).limit(1))[0]!.id;
const positionIdOf = async (noticeNumber: string) => (await app.db.select({ id: paymentOptions.positionId }).from(paymentOptions).where(eq(paymentOptions.noticeNumber, noticeNumber)).limit(1))[0]!.id;

t.test('a published TARI, a reminder before its due date, the receipt after paying — in the IO simulator', async (t) => {
  const before = (await inbox(LUCIA!.fiscalCode)).length;
  const p1 = await createTari(app, { debtor: debtor(LUCIA!.fiscalCode, 'Lucia Ferrante') });
  const p2 = await createTari(app, { debtor: debtor(LUCIA!.fiscalCode, 'Lucia Ferrante') });
  const p3 = await createTari(app, { debtor: debtor(LUCIA!.fiscalCode, 'Lucia Ferrante') });
  const single1 = p1.options.find((o) => o.kind === 'single') ?? p1.options[0]!;
  await app.notificationsTick(clock);

  const pos1 = await positionIdOf(single1.noticeNumber);
  const [row] = await rowsOf(`position:${pos1}`);
  t.equal(row?.channel, 'io');
  t.equal(row?.status, 'sent', 'accepted by App IO');
  t.ok(row?.providerId, 'IO message id recorded');
  const mine = await inbox(LUCIA!.fiscalCode);
  t.equal(mine.length, before + 3, 'one message per published position');
  const m1 = mine.find((m) => m.id === row!.providerId)!;
  const sent = JSON.parse(m1.body) as { fiscal_code: string; content: { subject: string; due_date: string; payment_data: Record<string, unknown> } };
  t.same(sent.content.payment_data, { amount: 30000, notice_number: single1.noticeNumber, invalid_after_due_date: false, payee: { fiscal_code: p1.fiscalCode } }, 'payment data: cents, notice number, payee = the creditor comune');
  const due = (await app.db.select({ d: paymentOptions.dueDate }).from(paymentOptions).where(eq(paymentOptions.id, await optionId(single1.noticeNumber))).limit(1))[0]!.d;
  t.equal(sent.content.due_date, `${due}T00:00:00.000Z`);
  t.equal(sent.fiscal_code, LUCIA!.fiscalCode);
  t.notMatch(sent.content.subject, /Lucia|Ferrante|FRRLCU/i, 'no personal data in the subject');
  t.ok(openapi.definition('NewMessage')(sent), 'the stored request is a valid NewMessage');

  clock = new Date(clock.getTime() + 2 * 60_000);
  await app.notificationsTick(clock);
  const polled = (await rowsOf(`position:${pos1}`))[0]!;
  t.equal(polled.status, 'delivered', 'getMessage said PROCESSED');
  t.equal(polled.deliveryState, 'PROCESSED');

  // p2 is paid before the reminder window: receipt message, and never a reminder.
  const single2 = p2.options.find((o) => o.kind === 'single') ?? p2.options[0]!;
  const paid = await payNotice(app, { fiscalCode: p2.fiscalCode, noticeNumber: single2.noticeNumber });
  t.ok(paid.ok, 'paid through the simulated node');
  await app.notificationsTick(clock);
  const receiptRows = await app.db.select().from(notifications).where(and(eq(notifications.kind, 'receipt'), eq(notifications.recipient, LUCIA!.fiscalCode)));
  t.equal(receiptRows.length, 1, 'one receipt message');
  t.equal(receiptRows[0]!.status, 'sent');
  const receiptMsg = (await inbox(LUCIA!.fiscalCode)).find((m) => m.id === receiptRows[0]!.providerId)!;
  t.match(receiptMsg.subject, /Pagamento ricevuto/);
  t.match(receiptMsg.markdown, /300,00/);
  t.equal(receiptMsg.paymentData, null, 'a receipt carries no payment data');

  // The reminder day: due date − NOTIFICATIONS_REMINDER_DAYS, at 10:30 in Rome.
  const days = app.config.notifications.reminderDays;
  clock = new Date(`${addDays(due, -days)}T08:30:00Z`);
  const stats = await runPaymentTriggers(app.notifications, clock);
  t.equal(stats.reminders, 4, 'p1 and p3: the single option and the first instalment are due in the window; p2 is paid');
  const p2Options = await app.db.select({ id: paymentOptions.id }).from(paymentOptions).where(eq(paymentOptions.positionId, await positionIdOf(single2.noticeNumber)));
  for (const o of p2Options) t.equal((await rowsOf(`option:${o.id}`)).length, 0, `no reminder queued for paid p2 option ${o.id}`);

  // p3 is paid after its reminders were queued, before they are sent: checked again at send time.
  const single3 = p3.options.find((o) => o.kind === 'single') ?? p3.options[0]!;
  t.ok((await payNotice(app, { fiscalCode: p3.fiscalCode, noticeNumber: single3.noticeNumber })).ok);
  await runDispatch(app.notifications, clock);
  const r3 = await rowsOf(`option:${await optionId(single3.noticeNumber)}`);
  t.equal(r3.length, 1);
  t.equal(r3[0]!.status, 'skipped', 'reminder of a notice paid meanwhile: not sent');
  t.match(r3[0]!.lastError, /pagato/);
  const r1 = (await rowsOf(`option:${await optionId(single1.noticeNumber)}`))[0]!;
  t.equal(r1.status, 'sent', 'reminder of the unpaid p1 sent');
  t.equal(r1.dedupeKey, `io:reminder:${await optionId(single1.noticeNumber)}:${due}`);
  const reminder = (await inbox(LUCIA!.fiscalCode)).find((m) => m.id === r1.providerId)!;
  t.match(reminder.subject, /Promemoria/);
  t.same(JSON.parse(reminder.paymentData!).notice_number, single1.noticeNumber);

  // The same day again: nothing new (once a day, dedupe keys).
  const again = await runPaymentTriggers(app.notifications, new Date(clock.getTime() + 3600_000));
  t.equal(again.reminders, 0, 'no second reminder');
  t.equal(again.receipts, 1, 'only the receipt of p3, paid meanwhile');
  t.end();
});

t.test('a citizen without sender_allowed, or not on IO, gets nothing', async (t) => {
  const notOnIo = `BNCGNN80A01B519${personalCheckChar('BNCGNN80A01B519')}`;
  const pg = await createTari(app, { debtor: debtor(GIULIA!.fiscalCode, 'Giulia Castelli') });
  const pn = await createTari(app, { debtor: debtor(notOnIo, 'Gianni Bianco') });
  clock = new Date(clock.getTime() + 60_000);
  await app.notificationsTick(clock);
  const g = (await rowsOf(`position:${await positionIdOf(pg.options[0]!.noticeNumber)}`))[0]!;
  t.equal(g.status, 'skipped');
  t.equal(g.deliveryState, 'SENDER_NOT_ALLOWED');
  t.equal((await inbox(GIULIA!.fiscalCode)).length, 0, 'nothing in her inbox');
  const n = (await rowsOf(`position:${await positionIdOf(pn.options[0]!.noticeNumber)}`))[0]!;
  t.equal(n.status, 'skipped');
  t.equal(n.deliveryState, 'NO_PROFILE');
  t.end();
});

t.test('a draft published later is notified; a position cancelled before sending is not', async (t) => {
  const draft = await createTari(app, { debtor: debtor(LUCIA!.fiscalCode, 'Lucia Ferrante'), publish: false });
  const draftId = await positionIdOf(draft.options[0]!.noticeNumber);
  clock = new Date(clock.getTime() + 60_000);
  await app.notificationsTick(clock);
  t.equal((await rowsOf(`position:${draftId}`)).length, 0, 'a draft: nothing');
  const pub = await app.inject({ method: 'POST', url: `/api/v1/positions/${draft.iupd}/publish`, headers: { authorization: `Bearer ${draft.key}` } });
  t.equal(pub.statusCode, 200);
  clock = new Date(clock.getTime() + 60_000);
  await app.notificationsTick(clock);
  t.same((await rowsOf(`position:${draftId}`)).map((r) => r.status), ['sent'], 'published from the draft: notified');

  const p = await createTari(app, { debtor: debtor(LUCIA!.fiscalCode, 'Lucia Ferrante') });
  const pid = await positionIdOf(p.options[0]!.noticeNumber);
  await runPaymentTriggers(app.notifications, clock);
  t.same((await rowsOf(`position:${pid}`)).map((r) => r.status), ['queued']);
  const cancel = await app.inject({ method: 'POST', url: `/api/v1/positions/${p.iupd}/cancel`, headers: { authorization: `Bearer ${p.key}` } });
  t.equal(cancel.statusCode, 200);
  await runDispatch(app.notifications, clock);
  const [row] = await rowsOf(`position:${pid}`);
  t.equal(row!.status, 'skipped', 'cancelled after queuing: not sent');
  t.match(row!.lastError, /annullata/);
  t.end();
});

t.test('the IO simulator validates every request against the official document', async (t) => {
  const key = demoIoApiKey('070006');
  const api = (method: 'GET' | 'POST', url: string, payload?: unknown, headers: Record<string, string> = { 'ocp-apim-subscription-key': key }) =>
    app.inject({ method, url: `/simulators/io/api/v1${url}`, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
  const good = {
    fiscal_code: ANTONIO!.fiscalCode,
    content: { subject: 'Avviso di prova del simulatore', markdown: 'Testo di prova abbastanza lungo da superare gli ottanta caratteri richiesti dal documento ufficiale.' },
  };
  const bad: [string, unknown, RegExp][] = [
    ['short subject', { ...good, content: { ...good.content, subject: 'corto' } }, /subject/],
    ['short markdown', { ...good, content: { ...good.content, markdown: 'breve' } }, /markdown/],
    ['amount 0', { ...good, content: { ...good.content, payment_data: { amount: 0, notice_number: '301000000000000001', payee: { fiscal_code: '80001234567' } } } }, /amount/],
    ['notice number', { ...good, content: { ...good.content, payment_data: { amount: 100, notice_number: '12345', payee: { fiscal_code: '80001234567' } } } }, /notice_number/],
    ['payee fiscal code', { ...good, content: { ...good.content, payment_data: { amount: 100, notice_number: '301000000000000001', payee: { fiscal_code: 'ABC' } } } }, /OrganizationFiscalCode/],
    ['due date', { ...good, content: { ...good.content, due_date: '31/12/2030' } }, /UTCISODateFromString/],
    ['fiscal code', { ...good, fiscal_code: 'not-a-code' }, /FiscalCode/],
  ];
  for (const [name, body, re] of bad) {
    const res = await api('POST', '/messages', body);
    t.equal(res.statusCode, 400, name);
    t.match((res.json() as { detail: string }).detail, re, `${name}: says why`);
  }
  t.equal((await api('POST', '/profiles', { fiscal_code: 'abc' })).statusCode, 400, 'profiles: invalid fiscal code');
  t.equal((await api('GET', '/messages/abc/01ARZ3NDEKTSV4RRFFQ69G5FAV')).statusCode, 400, 'getMessage: path parameter checked');
  t.equal((await api('POST', '/messages', good, {})).statusCode, 401, 'no key');
  t.equal((await api('POST', '/messages', good, { 'ocp-apim-subscription-key': 'not-a-known-key-1234' })).statusCode, 401, 'unknown key');

  const profile = await api('POST', '/profiles', { fiscal_code: ANTONIO!.fiscalCode });
  t.equal(profile.statusCode, 200);
  t.ok(openapi.definition('LimitedProfile')(profile.json()), 'profile answer is a LimitedProfile');
  t.equal((await api('POST', '/profiles', { fiscal_code: `BNCGNN80A01B519${personalCheckChar('BNCGNN80A01B519')}` })).statusCode, 404, 'not on IO');
  const created = await api('POST', '/messages', good);
  t.equal(created.statusCode, 201);
  const { id } = created.json() as { id: string };
  t.match(id, /^[0-9A-HJKMNP-TV-Z]{26}$/, 'a ULID');
  const viaPath = await api('POST', `/messages/${ANTONIO!.fiscalCode}`, { content: good.content });
  t.equal(viaPath.statusCode, 201, 'submitMessageforUser (fiscal code in the path)');
  const got = await api('GET', `/messages/${ANTONIO!.fiscalCode}/${id}`);
  t.equal(got.statusCode, 200);
  t.ok(openapi.definition('ExternalMessageResponseWithContent')(got.json()), 'getMessage answer matches the document');
  t.equal((got.json() as { status: string }).status, 'PROCESSED');
  t.equal((await app.inject({ method: 'GET', url: `/simulators/io/api/v1/messages/${ANTONIO!.fiscalCode}/${id}`, headers: { 'ocp-apim-subscription-key': demoIoApiKey('070078') } })).statusCode, 404, 'another service cannot read it');
  t.end();
});

t.test('the simulator page: profiles and the demo tools', async (t) => {
  const page = await app.inject({ method: 'GET', url: `/simulators/io?cf=${LUCIA!.fiscalCode}` });
  t.equal(page.statusCode, 200);
  t.match(page.body, /Avviso pagoPA/);
  t.match(htmlUnescape(page.body), /href="\/paga-avviso\?codiceAvviso=\d{18}&cfEnte=\d{11}"/, 'Paga leads to the notice');
  const { token, cookie } = await csrfFrom(app, '/simulators/io');
  const post = (url: string, fields: Record<string, string>) => app.inject({ method: 'POST', url, headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token, ...fields }) });
  const fc = `VRDMRA70A41B519${personalCheckChar('VRDMRA70A41B519')}`;
  t.equal((await post('/simulators/io/profili', { fiscalCode: fc.toLowerCase(), senderAllowed: 'on' })).statusCode, 303);
  const prof = await app.inject({ method: 'POST', url: '/simulators/io/api/v1/profiles', headers: { 'ocp-apim-subscription-key': demoIoApiKey('070006') }, payload: { fiscal_code: fc } });
  t.same(prof.json(), { sender_allowed: true, preferred_languages: ['it_IT'] }, 'the new profile is on IO');
  t.equal((await post('/simulators/io/esegui', { day: '31/12/2030' })).statusCode, 400, 'a day that is not a date');
  t.equal((await post('/simulators/io/esegui', { day: '' })).statusCode, 303, 'run now');
  t.equal((await app.inject({ method: 'POST', url: '/simulators/io/esegui', headers: FORM_HEADERS, payload: form({ day: '' }) })).statusCode, 403, 'without the CSRF token');
  t.end();
});

t.test('preferences: App IO off, e-mail with double opt-in', async (t) => {
  t.equal((await app.inject({ method: 'GET', url: '/area-personale/notifiche' })).statusCode, 303, 'anonymous: to the login');
  const cookie = await loginAs(app, ANTONIO!.fiscalCode);
  const page = await app.inject({ method: 'GET', url: '/area-personale/notifiche', headers: { cookie } });
  t.equal(page.statusCode, 200);
  t.match(page.body, /App IO/);
  const { token, cookie: c2 } = await csrfFrom(app, '/area-personale/notifiche', cookie);
  const badMail = await app.inject({ method: 'POST', url: '/area-personale/notifiche', headers: { ...FORM_HEADERS, cookie: c2 }, payload: form({ _csrf: token, email: 'on', emailAddress: 'non-valida' }) });
  t.equal(badMail.statusCode, 400);
  t.match(badMail.body, /Indirizzo e-mail non valido/);
  const saved = await app.inject({
    method: 'POST',
    url: '/area-personale/notifiche',
    headers: { ...FORM_HEADERS, cookie: c2 },
    payload: form({ _csrf: token, email: 'on', emailAddress: 'Antonio.DiIorio@example.org', reminders: 'on' }),
  });
  t.equal(saved.statusCode, 303);
  const prefs = (await app.db.select().from(notificationPreferences).where(eq(notificationPreferences.emailAddress, 'antonio.diiorio@example.org')).limit(1))[0]!;
  t.equal(prefs.io, false, 'App IO turned off');
  t.equal(prefs.emailConfirmedAt, null, 'not confirmed yet');

  // Before confirming: a new position goes nowhere (IO off, e-mail unconfirmed).
  const pa = await createTari(app, { debtor: debtor(ANTONIO!.fiscalCode, 'Antonio Di Iorio') });
  await app.notificationsTick(clock);
  t.equal((await rowsOf(`position:${await positionIdOf(pa.options[0]!.noticeNumber)}`)).length, 0, 'no channel usable yet');

  const mail = (await sqlGet(app.db, "SELECT body FROM mail_outbox WHERE to_address = 'antonio.diiorio@example.org' ORDER BY id DESC")) as { body: string } | undefined;
  t.ok(mail, 'confirmation e-mail in the mail outbox');
  const link = /(http\S+\/area-personale\/notifiche\/conferma\?token=\S+)/.exec(mail!.body)![1]!;
  const url = link.slice(base.length);
  const landing = await app.inject({ method: 'GET', url });
  t.equal(landing.statusCode, 200, 'the link shows a confirm button (a prefetch confirms nothing)');
  t.equal((await app.db.select().from(notificationPreferences).where(eq(notificationPreferences.userId, prefs.userId)).limit(1))[0]!.emailConfirmedAt, null);
  const lc = landing.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(landing.body)![1]!;
  const tok = new URL(link).searchParams.get('token')!;
  const confirmed = await app.inject({ method: 'POST', url: '/area-personale/notifiche/conferma', headers: { ...FORM_HEADERS, cookie: lc }, payload: form({ _csrf: htmlUnescape(csrf), token: tok }) });
  t.equal(confirmed.statusCode, 200);
  t.match(confirmed.body, /Indirizzo confermato/);
  const reused = await app.inject({ method: 'POST', url: '/area-personale/notifiche/conferma', headers: { ...FORM_HEADERS, cookie: lc }, payload: form({ _csrf: htmlUnescape(csrf), token: tok }) });
  t.equal(reused.statusCode, 400, 'a token works once');

  const pb = await createTari(app, { debtor: debtor(ANTONIO!.fiscalCode, 'Antonio Di Iorio') });
  clock = new Date(clock.getTime() + 60_000);
  await app.notificationsTick(clock);
  const rows = await rowsOf(`position:${await positionIdOf(pb.options[0]!.noticeNumber)}`);
  t.same(rows.map((r) => `${r.channel}:${r.status}`), ['email:sent'], 'e-mail only, App IO off');
  const notice = (await sqlGet(app.db, "SELECT subject, body FROM mail_outbox WHERE to_address = 'antonio.diiorio@example.org' ORDER BY id DESC")) as { subject: string; body: string };
  t.match(notice.subject, /Nuovo avviso di pagamento/);
  t.match(notice.body, new RegExp(pb.options[0]!.noticeNumber));

  // The e-mail's foot: a link that turns the e-mails off without logging in.
  const stored = (await app.db.select().from(notificationPreferences).where(eq(notificationPreferences.userId, prefs.userId)).limit(1))[0]!;
  t.match(stored.emailUnsubscribeToken, /^[A-Za-z0-9_-]{32}$/, 'a token made at the confirmation');
  const off = /Per non ricevere più questi messaggi per e-mail: (http\S+\/notifiche\/disiscrizione\?token=(\S+))/.exec(notice.body);
  t.ok(off, 'the unsubscribe link is in the e-mail');
  t.equal(off![2], stored.emailUnsubscribeToken);
  t.match(notice.body, `${base}/area-personale/notifiche`, 'and the choices page');
  const header = (await sqlGet(app.db, "SELECT list_unsubscribe AS u FROM mail_outbox WHERE to_address = 'antonio.diiorio@example.org' ORDER BY id DESC")) as { u: string };
  t.equal(header.u, off![1], 'the same URL for the List-Unsubscribe headers (RFC 8058)');
  const offUrl = off![1]!.slice(base.length);
  const ask = await app.inject({ method: 'GET', url: offUrl, headers: { accept: 'text/html' } });
  t.equal(ask.statusCode, 200);
  t.match(ask.body, 'a••••••@example.org', 'the address, masked');
  t.match(ask.body, `action="/notifiche/disiscrizione?token=${stored.emailUnsubscribeToken}"`);
  t.equal((await app.db.select().from(notificationPreferences).where(eq(notificationPreferences.userId, prefs.userId)).limit(1))[0]!.email, true, 'opening the link (a prefetch) changes nothing');
  t.equal((await app.inject({ method: 'GET', url: '/notifiche/disiscrizione?token=' + 'x'.repeat(32), headers: { accept: 'text/html' } })).statusCode, 404, 'an unknown token');
  t.equal((await app.inject({ method: 'GET', url: '/notifiche/disiscrizione?token=corto', headers: { accept: 'text/html' } })).statusCode, 400, 'a malformed token');
  // a mail client's one-click POST (RFC 8058): no session, no CSRF token
  const oneClick = await app.inject({ method: 'POST', url: offUrl, headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, payload: 'List-Unsubscribe=One-Click' });
  t.equal(oneClick.statusCode, 200);
  t.match(oneClick.body, /non riceverà più e-mail/);
  const after = (await app.db.select().from(notificationPreferences).where(eq(notificationPreferences.userId, prefs.userId)).limit(1))[0]!;
  t.match(after, { email: false, emailAddress: 'antonio.diiorio@example.org', io: false }, 'e-mails off, the address kept, the other choices untouched');
  t.ok(after.emailConfirmedAt, 'still confirmed: turning them on again needs no new link');
  t.match((await app.inject({ method: 'GET', url: offUrl, headers: { accept: 'text/html' } })).body, /non riceve già più e-mail/, 'the link again: already off');
  t.equal((await app.inject({ method: 'POST', url: offUrl, headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, payload: '' })).statusCode, 200, 'idempotent');
  const audits = await sqlAll<{ action: string }>(app.db, "SELECT action FROM audit_log WHERE action = 'notification_preferences.email_unsubscribe'");
  t.equal(audits.length, 1, 'audited once');
  const pc = await createTari(app, { debtor: debtor(ANTONIO!.fiscalCode, 'Antonio Di Iorio') });
  clock = new Date(clock.getTime() + 60_000);
  await app.notificationsTick(clock);
  t.same(await rowsOf(`position:${await positionIdOf(pc.options[0]!.noticeNumber)}`), [], 'no e-mail any more');

  // An address confirmed before the tokens existed gets one with its next e-mail.
  await app.db.update(notificationPreferences).set({ email: true, emailUnsubscribeToken: null }).where(eq(notificationPreferences.userId, prefs.userId));
  const pd = await createTari(app, { debtor: debtor(ANTONIO!.fiscalCode, 'Antonio Di Iorio') });
  clock = new Date(clock.getTime() + 60_000);
  await app.notificationsTick(clock);
  const made = (await app.db.select().from(notificationPreferences).where(eq(notificationPreferences.userId, prefs.userId)).limit(1))[0]!.emailUnsubscribeToken;
  t.ok(made && made !== stored.emailUnsubscribeToken, 'a new token');
  const latest = (await sqlGet(app.db, "SELECT body FROM mail_outbox WHERE to_address = 'antonio.diiorio@example.org' ORDER BY id DESC")) as { body: string };
  t.match(latest.body, new RegExp(pd.options[0]!.noticeNumber));
  t.match(latest.body, `/notifiche/disiscrizione?token=${made}`, 'in its link');
  t.end();
});

t.test('the ente’s App IO service: ente_admin only, key encrypted and never shown, Prova', async (t) => {
  const termoli = (await app.db.select().from(enteIoServices)).find((s) => s.serviceId === 'DEMO-IO-070078')!;
  const campobassoId = (await app.db.select().from(enteIoServices)).find((s) => s.serviceId === 'DEMO-IO-070006')!.enteId;
  const anna = await loginAs(app, ANNA_TERMOLI_ADMIN);
  t.equal((await app.inject({ method: 'GET', url: `/backoffice/enti/${campobassoId}/app-io`, headers: { cookie: anna } })).statusCode, 403, 'another ente');
  t.equal((await app.inject({ method: 'GET', url: `/backoffice/enti/${campobassoId}/app-io`, headers: { cookie: await loginAs(app, GIUSEPPE_CB_OPERATOR) } })).statusCode, 403, 'an operator is not ente_admin');
  t.equal((await app.inject({ method: 'GET', url: '/backoffice/enti/999999/app-io', headers: { cookie: anna } })).statusCode, 404);
  const url = `/backoffice/enti/${termoli.enteId}/app-io`;
  const page = await app.inject({ method: 'GET', url, headers: { cookie: anna } });
  t.equal(page.statusCode, 200);
  t.notMatch(page.body, new RegExp(demoIoApiKey('070078')), 'the key is never shown');

  const { token, cookie } = await csrfFrom(app, url, anna);
  const bad = await app.inject({ method: 'POST', url, headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token, serviceId: 'con spazi', apiKey: 'corta', enabled: 'on' }) });
  t.equal(bad.statusCode, 400);
  t.match(bad.body, /ID del servizio/);
  t.match(bad.body, /chiave API non sembra valida/);
  const newKey = 'termoli-new-io-key-0123456789abcdef';
  const saved = await app.inject({ method: 'POST', url, headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token, serviceId: 'TERMOLI-TRIBUTI', apiKey: newKey, enabled: 'on' }) });
  t.equal(saved.statusCode, 303);
  const row = (await app.db.select().from(enteIoServices).where(eq(enteIoServices.enteId, termoli.enteId)).limit(1))[0]!;
  t.notMatch(row.apiKeyEncrypted, /termoli/, 'stored encrypted');
  t.equal(row.apiKeyHint, 'cdef');
  const after = await app.inject({ method: 'GET', url, headers: { cookie: anna } });
  t.notMatch(after.body, new RegExp(newKey));
  t.match(after.body, /…cdef/);
  const audit = (await sqlGet(app.db, "SELECT after FROM audit_log WHERE action = 'io_service.update' AND entity_id = ?", String(termoli.enteId))) as { after: string };
  t.ok(audit, 'audited');
  t.notMatch(audit.after, /termoli-new/, 'the audit holds no key');

  const prova = await app.inject({ method: 'POST', url: `${url}/prova`, headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token }) });
  t.equal(prova.statusCode, 200);
  t.match(prova.body, /Chiave accettata da App IO/, 'the simulator knows the saved key');

  // A key copied onto another ente's row does not decrypt (associated data), nor with another secret.
  const k = deriveKey('a'.repeat(40));
  const enc = encryptSecret(k, 'secret-key', ioKeyAad(1));
  t.equal(decryptSecret(k, enc, ioKeyAad(1)), 'secret-key');
  t.throws(() => decryptSecret(k, enc, ioKeyAad(2)));
  t.throws(() => decryptSecret(deriveKey('b'.repeat(40)), enc, ioKeyAad(1)));
  t.end();
});

t.test('the helpdesk log of notifications', async (t) => {
  t.equal((await app.inject({ method: 'GET', url: '/helpdesk/notifiche', headers: { cookie: await loginAs(app, LUCIA!.fiscalCode) } })).statusCode, 403, 'a citizen');
  const cookie = await loginAs(app, HELPDESK);
  const all = await app.inject({ method: 'GET', url: '/helpdesk/notifiche', headers: { cookie } });
  t.equal(all.statusCode, 200);
  t.match(all.body, /Promemoria scadenza/);
  const skipped = await app.inject({ method: 'GET', url: `/helpdesk/notifiche?stato=skipped&q=${GIULIA!.fiscalCode}`, headers: { cookie } });
  t.match(skipped.body, /SENDER_NOT_ALLOWED/);
  t.notMatch(skipped.body, new RegExp(LUCIA!.fiscalCode), 'filtered by recipient');
  // The subject matches from its start whatever the case, on both databases (PostgreSQL's LIKE is case-sensitive).
  const [{ subject }] = await app.db.select({ subject: notifications.subject }).from(notifications).limit(1) as [{ subject: string }];
  const search = async (q: string) => (await app.inject({ method: 'GET', url: `/helpdesk/notifiche?q=${encodeURIComponent(q)}`, headers: { cookie } })).body;
  const swapped = [...subject.slice(0, 12)].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('');
  t.notMatch(await search(swapped), /Nessuna notifica corrisponde/, `subject prefix in another case (${swapped})`);
  t.match(await search(`zz${subject.slice(0, 12)}`), /Nessuna notifica corrisponde/, 'the search is not a match-anything');
  t.equal((await app.inject({ method: 'GET', url: '/helpdesk/notifiche?canale=fax', headers: { cookie } })).statusCode, 400, 'bad filter refused');
  const confirmRows = await app.db.select().from(notifications).where(like(notifications.dedupeKey, 'email:confirm:%'));
  t.ok(confirmRows.length > 0);
  const log = await app.inject({ method: 'GET', url: '/helpdesk/notifiche?tipo=email_confirmation', headers: { cookie } });
  t.notMatch(log.body, /token=/, 'confirmation links are not shown to the helpdesk');
  t.end();
});

t.test('a stored IO key that no longer decrypts (NOTIFICATIONS_KEY changed): retried, and the page says so', async (t) => {
  const termoli = (await app.db.select().from(enteIoServices)).find((s) => s.apiKeyHint === 'cdef')!;
  await app.db
        .update(enteIoServices)
        .set({ apiKeyEncrypted: encryptSecret(deriveKey('another-secret-of-forty-characters-xxxxx'), 'whatever-key-0000', ioKeyAad(termoli.enteId)) })
        .where(eq(enteIoServices.enteId, termoli.enteId));
  const p = await createTari(app, { debtor: debtor(LUCIA!.fiscalCode, 'Lucia Ferrante') }, 'Termoli');
  clock = new Date(clock.getTime() + 60_000);
  await app.notificationsTick(clock);
  const pid = (await app.db
      .select({ id: paymentOptions.positionId })
      .from(paymentOptions)
      .where(and(eq(paymentOptions.enteId, termoli.enteId), eq(paymentOptions.noticeNumber, p.options[0]!.noticeNumber))).limit(1))[0]!.id;
  const [row] = await rowsOf(`position:${pid}`);
  t.equal(row!.status, 'queued', 'kept for a retry');
  t.match(row!.lastError, /NOTIFICATIONS_KEY/);
  const url = `/backoffice/enti/${termoli.enteId}/app-io`;
  const { token, cookie } = await csrfFrom(app, url, await loginAs(app, ANNA_TERMOLI_ADMIN));
  const prova = await app.inject({ method: 'POST', url: `${url}/prova`, headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token }) });
  t.equal(prova.statusCode, 200);
  t.match(prova.body, /non si può usare/);
  t.end();
});

t.test('Web Push for payments: to the citizen’s subscriptions with payments on, when they chose push', async (t) => {
  const lucia = (await app.db.select().from(users).where(eq(users.fiscalCode, LUCIA!.fiscalCode)).limit(1))[0]!;
  const sub = async (n: number, payments: boolean) =>
    (await app.db
            .insert(pushSubscriptions)
            .values({ userId: lucia.id, endpoint: `https://push.example.invalid/${n}`, p256dh: 'BPk', auth: 'x', manageToken: `tok-${n}`, events: true, payments })
            .returning({ id: pushSubscriptions.id }))[0]!.id;
  const withPayments = await sub(1, true);
  await sub(2, false);
  await savePreferences(app.db, lucia.id, { io: true, email: false, push: true, reminders: true, emailAddress: '' }, clock, { actor: 'test' });
  const p = await createTari(app, { debtor: debtor(LUCIA!.fiscalCode, 'Lucia Ferrante') });
  await runPaymentTriggers(app.notifications, clock);
  const pid = await positionIdOf(p.options[0]!.noticeNumber);
  const rows = await rowsOf(`position:${pid}`);
  t.same(rows.map((r) => r.dedupeKey).sort(), [`io:position:${pid}`, `push:position:${pid}:${withPayments}`], 'IO and the one subscription with payments on');
  const push = JSON.parse(rows.find((r) => r.channel === 'push')!.payload) as Record<string, string>;
  t.same(Object.keys(push).sort(), ['body', 'tag', 'title', 'url']);
  t.match(push.url, new RegExp(`/area-personale/posizioni/${pid}$`));
  t.end();
});

t.test('e-mail opt-in: the same unconfirmed address saved again resends the link at most every 5 minutes; a link expires', async (t) => {
  const id = await upsertUser(app.db, { fiscalCode: GIULIA!.fiscalCode, name: GIULIA!.name, familyName: GIULIA!.familyName }, { actor: 'test' });
  const input = { io: true, email: true, push: false, reminders: true, emailAddress: 'giulia.castelli@example.org' };
  const t0 = new Date('2030-05-01T10:00:00Z');
  const first = await savePreferences(app.db, id, input, t0, { actor: 'test' });
  t.ok(first.confirm, 'a link for a new address');
  t.notOk((await savePreferences(app.db, id, input, new Date(t0.getTime() + 60_000), { actor: 'test' })).confirm, 'not again after a minute');
  const second = await savePreferences(app.db, id, input, new Date(t0.getTime() + 6 * 60_000), { actor: 'test' });
  t.ok(second.confirm, 'again after 6 minutes');
  t.equal(await confirmEmail(app.db, first.confirm!.token, new Date(t0.getTime() + 7 * 60_000)), 'unknown', 'the previous link no longer works');
  t.equal(await confirmEmail(app.db, second.confirm!.token, new Date(t0.getTime() + 49 * 3600_000)), 'expired', 'after 48 hours');
  const third = await savePreferences(app.db, id, input, new Date(t0.getTime() + 50 * 3600_000), { actor: 'test' });
  t.equal(await confirmEmail(app.db, third.confirm!.token, new Date(t0.getTime() + 51 * 3600_000)), 'confirmed');
  t.notOk((await savePreferences(app.db, id, input, new Date(t0.getTime() + 60 * 3600_000), { actor: 'test' })).confirm, 'a confirmed address stays confirmed');
  t.end();
});
