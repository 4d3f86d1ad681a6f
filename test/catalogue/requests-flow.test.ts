/**
 * Requests under a catalogue service (#15 item 6): a request becomes a helpdesk ticket with the
 * service as category and the service's SLA; no active adesione → 403 with a link to ask for it;
 * another ente's adesione does not count (IDOR); units are counted per year of adesione, and a
 * request over the included units is accepted but flagged (flash + a message on the ticket).
 */
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { adesioni, catalogueServices } from '../../src/modules/catalogue/schema.js';
import { adesioneYear } from '../../src/modules/catalogue/requests.js';
import { buildTestApp, csrfFrom, loginAs } from '../helpers.js';
import { sqlAll, sqlGet, sqlRun } from '../../src/db/raw.js';

const users = demoUserFiscalCodes();
const REF_TE = users.find((u) => u.role === 'ente_admin' && u.enteIstat === '070078')!.fiscalCode;
const OP_TE = users.find((u) => u.role === 'operator' && u.enteIstat === '070078')!.fiscalCode;
const OP_CB = users.find((u) => u.role === 'operator' && u.enteIstat === '070006')!.fiscalCode;
const HELPDESK = users.find((u) => u.role === 'helpdesk')!.fiscalCode;

function multipart(fields: Record<string, string>, file?: { filename: string; type: string; data: Buffer }) {
  const boundary = `----sael${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  if (file) parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${file.filename}"\r\ncontent-type: ${file.type}\r\n\r\n`), file.data, Buffer.from('\r\n'));
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, accept: 'text/html' } };
}

async function enteId(app: FastifyInstance, istat: string): Promise<number> {
  return ((await sqlGet(app.db, 'SELECT id FROM enti WHERE istat_code = ?', istat)) as { id: number }).id;
}

const day = (offsetDays: number) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);

/** A test service (code 99: no clash with the seeded catalogue) and an adesione in `status`. */
async function setup(app: FastifyInstance) {
  const service = (await app.db
      .insert(catalogueServices)
      .values({
        code: '99',
        name: 'Assistenza di prova',
        kind: 'specialistico',
        area: 'consulenza_tecnica',
        summary: 'Servizio di prova',
        description: 'Servizio di prova.',
        billing: 'annual',
        unitLabel: 'intervento',
        includedUnits: 2,
        requiresConvenzione: false,
        requiresApproval: true,
        slaTtoMinutes: 240,
        slaTtrMinutes: 960,
        requestKinds: 'Intervento hardware\nInstallazione software',
      })
      .returning())[0]!;
  const adesione = async (ente: number, status: 'active' | 'expiring' | 'submitted' | 'suspended') =>
    (await app.db.insert(adesioni).values({ enteId: ente, serviceId: service.id, status, startDate: day(-30), endDate: day(335) }).returning())[0]!;
  return { service, adesione };
}

async function post(app: FastifyInstance, cookie: string, fields: Record<string, string>, file?: { filename: string; type: string; data: Buffer }) {
  const { token, cookie: c } = await csrfFrom(app, '/servizi/99/richiesta', cookie);
  const mp = multipart({ _csrf: token, ...fields }, file);
  return app.inject({ method: 'POST', url: '/servizi/99/richiesta', headers: { ...mp.headers, cookie: c }, payload: mp.payload });
}

const ticketCount = async (app: FastifyInstance) => ((await sqlGet(app.db, 'SELECT count(*) AS n FROM tickets')) as { n: number }).n;

t.test('a request becomes a ticket with the service and its SLA; units counted; over the included units flagged', async (t) => {
  const app = await buildTestApp(t);
  const te = await enteId(app, '070078');
  const { service, adesione } = await setup(app);
  const a = await adesione(te, 'active');
  const ref = await loginAs(app, REF_TE);

  const page = await app.inject({ method: 'GET', url: '/servizi/99/richiesta', headers: { accept: 'text/html', cookie: ref } });
  t.equal(page.statusCode, 200);
  t.match(page.body, 'usati 0 di 2');
  t.match(page.body, 'Intervento hardware');
  t.match(page.body, '4 ore lavorative', 'TTO of the service');

  const bad = await post(app, ref, { ente: String(te), kind: 'Non esiste', subject: 'ok ok', description: 'abbastanza lunga', priority: 'media' });
  t.equal(bad.statusCode, 400, 'a kind not offered by the service');
  t.match(bad.body, 'Scegli il tipo di richiesta');
  t.equal(await ticketCount(app), 0);

  const res = await post(app, ref, { ente: String(te), kind: 'Intervento hardware', subject: 'Stampante ufficio tributi', description: 'La stampante non stampa da ieri.', priority: 'alta' }, { filename: 'foto.png', type: 'image/png', data: Buffer.from('\x89PNG\r\n\x1a\nxx') });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, `/backoffice/enti/${te}/richieste`);
  const tk = (await sqlGet(app.db, 'SELECT * FROM tickets ORDER BY id DESC LIMIT 1')) as Record<string, unknown>;
  t.match(tk, { ente_id: te, category: 'catalogo', type: 'richiesta', priority: 'alta', service_id: service.id, tto_target_minutes: 240, ttr_target_minutes: 960, status: 'new' });
  t.match(tk.subject, /^Intervento hardware: Stampante/);
  const usage = (await sqlAll(app.db, 'SELECT * FROM service_usage')) as Record<string, unknown>[];
  t.same(usage.map((u) => [u.adesione_id, u.ente_id, u.ticket_id, u.units, u.request_kind]), [[a.id, te, tk.id, 1, 'Intervento hardware']], 'usage row tied to the ticket');
  t.equal(((await sqlGet(app.db, 'SELECT count(*) AS n FROM ticket_attachments WHERE ticket_id = ?', tk.id)) as { n: number }).n, 1, 'attachment kept');

  const list = await app.inject({ method: 'GET', url: `/backoffice/enti/${te}/richieste`, headers: { accept: 'text/html', cookie: ref } });
  t.equal(list.statusCode, 200);
  t.match(list.body, `Richiesta inviata: ticket n. ${tk.id}. Unità usate: 1 di 2.`);
  t.match(list.body, 'usati 1 di 2');
  t.match(list.body, `/helpdesk/ticket/${tk.id}`);
  t.match(list.body, 'Nuovo');

  // An operator of the same ente (not the referente) may open requests too.
  const op = await loginAs(app, OP_TE);
  t.equal((await post(app, op, { ente: String(te), kind: 'Installazione software', subject: 'Nuovo gestionale', description: 'Installare il gestionale sul PC 3.', priority: 'media' })).statusCode, 303);
  const over = await post(app, op, { ente: String(te), kind: 'Intervento hardware', subject: 'Monitor guasto', description: 'Il monitor del protocollo è guasto.', priority: 'bassa' });
  t.equal(over.statusCode, 303, 'over the included units: still accepted');
  const last = (await sqlGet(app.db, 'SELECT id FROM tickets ORDER BY id DESC LIMIT 1')) as { id: number };
  const msgs = (await sqlAll(app.db, 'SELECT body, visibility FROM ticket_messages WHERE ticket_id = ? ORDER BY id', last.id)) as { body: string; visibility: string }[];
  t.match(msgs.at(-1), { visibility: 'public', body: /oltre le unità incluse nell’adesione: usate 3 di 2/ }, 'the ticket says so');
  const list2 = await app.inject({ method: 'GET', url: `/backoffice/enti/${te}/richieste`, headers: { accept: 'text/html', cookie: op } });
  t.match(list2.body, /le unità usate sono 3 su 2 incluse/, 'the user is told');
  t.match(list2.body, 'usati 3 di 2');
  t.match(list2.body, 'oltre le incluse');
  const form3 = await app.inject({ method: 'GET', url: '/servizi/99/richiesta', headers: { accept: 'text/html', cookie: op } });
  t.match(form3.body, 'Unità incluse esaurite', 'the form warns before sending');

  // The helpdesk sees the service's name on its list and on the ticket.
  const staff = await loginAs(app, HELPDESK);
  const hl = await app.inject({ method: 'GET', url: '/helpdesk/ticket', headers: { accept: 'text/html', cookie: staff } });
  t.match(hl.body, 'Servizi del catalogo SAEL: Assistenza di prova');
  const hd = await app.inject({ method: 'GET', url: `/helpdesk/ticket/${tk.id}`, headers: { accept: 'text/html', cookie: staff } });
  t.match(hd.body, 'Servizi del catalogo SAEL: Assistenza di prova');
  t.equal((await app.inject({ method: 'GET', url: `/backoffice/enti/${te}/richieste`, headers: { accept: 'text/html', cookie: staff } })).statusCode, 200, 'helpdesk reads any ente');
});

t.test('no active adesione → 403 with a link to ask for it; another ente’s adesione does not count', async (t) => {
  const app = await buildTestApp(t);
  const te = await enteId(app, '070078');
  const cb = await enteId(app, '070006');
  const { adesione } = await setup(app);
  await adesione(te, 'expiring'); // Termoli may open requests (expiring still counts as active)
  await adesione(cb, 'submitted'); // Campobasso only asked for it
  const opCb = await loginAs(app, OP_CB);

  const page = await app.inject({ method: 'GET', url: '/servizi/99/richiesta', headers: { accept: 'text/html', cookie: opCb } });
  t.equal(page.statusCode, 403);
  t.match(page.body, 'Serve un’adesione attiva al servizio');
  t.match(page.body, 'href="/servizi/99/adesione"');
  t.equal((await app.inject({ method: 'GET', url: `/servizi/99/richiesta?ente=${te}`, headers: { accept: 'text/html', cookie: opCb } })).statusCode, 403, 'asking for Termoli does not help');

  const idor = await post(app, opCb, { ente: String(te), kind: 'Intervento hardware', subject: 'Tentativo', description: 'Con l’adesione di un altro ente.', priority: 'media' });
  t.equal(idor.statusCode, 403, 'posting another ente’s id: refused');
  t.equal(await ticketCount(app), 0, 'no ticket');
  t.equal(((await sqlGet(app.db, 'SELECT count(*) AS n FROM service_usage')) as { n: number }).n, 0, 'no usage');
  t.equal((await app.inject({ method: 'GET', url: `/backoffice/enti/${te}/richieste`, headers: { accept: 'text/html', cookie: opCb } })).statusCode, 403, 'another ente’s requests: 403');

  (await sqlRun(app.db, "UPDATE adesioni SET status = 'suspended' WHERE ente_id = ?", te));
  const suspended = await app.inject({ method: 'GET', url: '/servizi/99/richiesta', headers: { accept: 'text/html', cookie: await loginAs(app, REF_TE) } });
  t.equal(suspended.statusCode, 403, 'a suspended adesione is not active');

  const anon = await app.inject({ method: 'GET', url: '/servizi/99/richiesta', headers: { accept: 'text/html' } });
  t.equal(anon.statusCode, 401);
  t.equal((await app.inject({ method: 'GET', url: '/servizi/98/richiesta', headers: { accept: 'text/html', cookie: opCb } })).statusCode, 404, 'unknown service');
  t.equal((await app.inject({ method: 'GET', url: '/servizi/..%2F/richiesta', headers: { accept: 'text/html', cookie: opCb } })).statusCode, 400, 'code checked by the schema');
});

t.test('year of adesione (pure)', async (t) => {
  t.same(adesioneYear('2025-03-15', '2025-03-15'), { from: '2025-03-15', to: '2026-03-15' });
  t.same(adesioneYear('2025-03-15', '2026-03-14'), { from: '2025-03-15', to: '2026-03-15' });
  t.same(adesioneYear('2025-03-15', '2026-03-15'), { from: '2026-03-15', to: '2027-03-15' });
  t.same(adesioneYear('2025-03-15', '2027-01-10'), { from: '2026-03-15', to: '2027-03-15' });
  t.same(adesioneYear(null, '2026-07-01'), { from: '2026-01-01', to: '2027-01-01' });
});

t.test('a seeded service: the hardware assistance (8) with its request kinds, included units and SLA', async (t) => {
  const app = await buildTestApp(t);
  const te = await enteId(app, '070078');
  const hw = (await sqlGet(app.db, "SELECT * FROM catalogue_services WHERE code = '8'")) as { id: number; included_units: number; sla_tto_minutes: number; sla_ttr_minutes: number; request_kinds: string } | undefined;
  t.ok(hw, 'service 8 is seeded');
  if (!hw) return;
  await app.db.insert(adesioni).values({ enteId: te, serviceId: hw.id, status: 'active', quantity: 1, startDate: day(-10), endDate: day(355) });
  const ref = await loginAs(app, REF_TE);
  const page = await app.inject({ method: 'GET', url: '/servizi/8/richiesta', headers: { accept: 'text/html', cookie: ref } });
  t.equal(page.statusCode, 200);
  t.match(page.body, `usati 0 di ${hw.included_units}`);
  const kind = hw.request_kinds.split('\n')[0]!;
  const { token, cookie } = await csrfFrom(app, '/servizi/8/richiesta', ref);
  const mp = multipart({ _csrf: token, ente: String(te), kind, subject: 'PC della ragioneria', description: 'Il PC non si accende più.', priority: 'media' });
  const res = await app.inject({ method: 'POST', url: '/servizi/8/richiesta', headers: { ...mp.headers, cookie }, payload: mp.payload });
  t.equal(res.statusCode, 303);
  t.match((await sqlGet(app.db, 'SELECT * FROM tickets')), { service_id: hw.id, category: 'catalogo', tto_target_minutes: hw.sla_tto_minutes, ttr_target_minutes: hw.sla_ttr_minutes });
});
