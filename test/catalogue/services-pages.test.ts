/** Public catalogue pages, the SAEL admin's service editor and the public REST catalogue. */
import t from 'tap';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { buildTestApp, csrfFrom, form, FORM_HEADERS, loginAs } from '../helpers.js';
import { sqlGet } from '../../src/db/raw.js';

const HTML = { accept: 'text/html' };
const who = (role: string, istat?: string) => demoUserFiscalCodes().find((u) => u.role === role && (istat === undefined || u.enteIstat === istat))!.fiscalCode;
const cards = (body: string) => (body.match(/class="card card-bg no-after h-100 mx-0 catalogue-card"/g) ?? []).length;

t.test('catalogue pages', async (t) => {
  const app = await buildTestApp(t);
  const admin = await loginAs(app, who('sael_admin'));
  const operator = await loginAs(app, who('operator', '070006')); // Campobasso
  const referente = await loginAs(app, who('ente_admin'));

  await t.test('/servizi lists the 22 services by area; GET filters by area and kind; anonymous answers cacheable', async (t) => {
    const all = await app.inject({ url: '/servizi', headers: HTML });
    t.equal(all.statusCode, 200);
    t.equal(cards(all.body), 22);
    t.match(all.body, /Amministrazione digitale[\s\S]*Consulenza tecnica[\s\S]*Altri servizi/);
    t.equal(all.headers['cache-control'], 'public, max-age=60');
    const ct = await app.inject({ url: '/servizi?area=consulenza-tecnica', headers: HTML });
    t.equal(cards(ct.body), 6);
    t.match(ct.body, /<option value="consulenza-tecnica" selected>/);
    t.equal(cards((await app.inject({ url: '/servizi?tipo=base', headers: HTML })).body), 4);
    const both = await app.inject({ url: '/servizi?area=altri-servizi&tipo=base', headers: HTML });
    t.equal(cards(both.body), 2, '19 and 20');
    t.match(both.body, /2 servizi corrispondono ai filtri/);
    const bad = await app.inject({ url: '/servizi?area=marte', headers: HTML });
    t.equal(bad.statusCode, 400);
    const signed = await app.inject({ url: '/servizi', headers: { ...HTML, cookie: operator } });
    t.equal(signed.headers['cache-control'], 'no-store', 'signed-in answers stay out of caches');
  });

  await t.test('scheda: sections, demo listino by class, SLA; unknown code → Italian 404', async (t) => {
    const res = await app.inject({ url: '/servizi/8', headers: HTML });
    t.equal(res.statusCode, 200);
    for (const h of ['Descrizione', 'A chi è rivolto', 'Cosa comprende', 'Costi', 'Come richiederlo', 'Documenti', 'Tempi e livelli di servizio', 'Contatti']) t.match(res.body, `>${h}</h2>`);
    t.match(res.body, /data-testid="demo-prices"/);
    t.match(res.body, /Classe A – Fino a 1\.000 abitanti<\/th><td>400,00\s€ all’anno/);
    t.match(res.body, /entro 2 ore lavorative/);
    t.match(res.body, /Intervento hardware in sede/);
    t.notMatch(res.body, /data-testid="your-price"/);
    const pdfs = [...res.body.matchAll(/href="(\/infopoint\/modulistica\/[^"]+\.pdf)"/g)].map((m) => m[1]!);
    t.equal(pdfs.length, 2, 'the adhesion and request forms are linked');
    for (const href of pdfs) {
      const pdf = await app.inject({ url: href });
      t.equal(pdf.statusCode, 200, href);
      t.match(pdf.headers['content-type'], /application\/pdf/);
    }
    t.notMatch(res.body, /data-testid="join-link"/);
    const free = await app.inject({ url: '/servizi/19', headers: HTML });
    t.match(free.body, /data-testid="free"/);
    t.notMatch(free.body, /S\.A\.E\.L\.\./, 'no doubled full stop after the acronym');
    t.equal((await app.inject({ url: '/servizi/4a', headers: HTML })).statusCode, 200);
    const missing = await app.inject({ url: '/servizi/99', headers: HTML });
    t.equal(missing.statusCode, 404);
    t.match(missing.body, /Servizio non trovato/);
    t.equal((await app.inject({ url: '/servizi/..%2Fadmin', headers: HTML })).statusCode, 400);
  });

  await t.test('scheda for an ente user: the price for their ente today, class and demo flag; links by role', async (t) => {
    const op = await app.inject({ url: '/servizi/3', headers: { ...HTML, cookie: operator } });
    t.match(op.body, /Il prezzo per Comune di Campobasso oggi/);
    t.match(op.body, /900,00\s€ all’anno<\/strong> <span class="badge bg-warning" data-testid="demo-badge">Prezzo dimostrativo/);
    t.match(op.body, /Classe E – Oltre 15\.000 abitanti/);
    t.match(op.body, /href="\/servizi\/3\/richiesta"/);
    t.notMatch(op.body, /href="\/servizi\/3\/adesione"/, 'an operator does not submit adesioni');
    const ref = await app.inject({ url: '/servizi/1', headers: { ...HTML, cookie: referente } });
    t.match(ref.body, /href="\/servizi\/1\/adesione"/);
    t.match(ref.body, /35,00\s€ per casella PEC all’anno/);
  });

  await t.test('admin: list and edit are sael_admin only', async (t) => {
    t.equal((await app.inject({ url: '/admin/catalogo/servizi', headers: { ...HTML, cookie: admin } })).statusCode, 200);
    t.equal((await app.inject({ url: '/admin/catalogo/servizi', headers: { ...HTML, cookie: operator } })).statusCode, 403);
    t.equal((await app.inject({ url: '/admin/catalogo/servizi/8', headers: { ...HTML, cookie: referente } })).statusCode, 403);
    t.equal((await app.inject({ url: '/admin/catalogo/servizi', headers: HTML })).statusCode, 401);
    const { token } = await csrfFrom(app, '/admin/catalogo/servizi/8', operator).catch(() => ({ token: 'x' }));
    const post = await app.inject({ method: 'POST', url: '/admin/catalogo/servizi/8', headers: { ...FORM_HEADERS, cookie: operator }, payload: form({ _csrf: token, name: 'Hacked' }) });
    t.equal(post.statusCode, 403);
  });

  await t.test('admin edit: invalid fields re-shown (400) and nothing saved; a valid edit is audited and in the history', async (t) => {
    const page = await app.inject({ url: '/admin/catalogo/servizi/8', headers: { ...HTML, cookie: admin } });
    t.match(page.body, /Nessuna modifica dal caricamento iniziale/);
    const { token } = await csrfFrom(app, '/admin/catalogo/servizi/8', admin);
    const base = {
      _csrf: token, name: 'Assistenza hardware in sede e da remoto', kind: 'specialistico', area: 'amministrazione_digitale',
      summary: 'Il personale della Provincia interviene sui guasti.', description: 'Descrizione lunga a sufficienza per passare.',
      included: 'Diagnosi\nInterventi', billing: 'annual', unitLabel: 'intervento', includedUnits: '6', slaTtoMinutes: '120', slaTtrMinutes: '840',
      requestKinds: 'Intervento hardware in sede\nAssistenza da remoto', periodMonths: '12', requiresConvenzione: 'on', requiresApproval: 'on', active: 'on',
    };
    const audits = async () => ((await sqlGet(app.db, "SELECT count(*) AS n FROM audit_log WHERE entity = 'catalogue_service'")) as { n: number }).n;
    const bad = await app.inject({
      method: 'POST', url: '/admin/catalogo/servizi/8', headers: { ...FORM_HEADERS, cookie: admin },
      payload: form({ ...base, kind: 'base', slaTtrMinutes: '60', includedUnits: 'sei' }),
    });
    t.equal(bad.statusCode, 400);
    t.match(bad.body, /Un servizio di base è gratuito/);
    t.match(bad.body, /La risoluzione non può essere più breve della presa in carico/);
    t.match(bad.body, /Indica un numero intero da 1 a 10\.000/);
    t.equal(await audits(), 0);
    const ok = await app.inject({ method: 'POST', url: '/admin/catalogo/servizi/8', headers: { ...FORM_HEADERS, cookie: admin }, payload: form({ ...base, includedUnits: '8' }) });
    t.equal(ok.statusCode, 303);
    t.equal(ok.headers.location, '/admin/catalogo/servizi/8');
    const row = (await sqlGet(app.db, "SELECT actor, before, after FROM audit_log WHERE entity = 'catalogue_service' ORDER BY id DESC")) as { actor: string; before: string; after: string };
    t.match(JSON.parse(row.before), { includedUnits: 6 });
    t.match(JSON.parse(row.after), { includedUnits: 8 });
    t.match(row.actor, /^user:\d+$/);
    const after = await app.inject({ url: '/admin/catalogo/servizi/8', headers: { ...HTML, cookie: admin } });
    t.match(after.body, /Servizio 8 salvato/);
    t.match(after.body, /<strong>[^<]+<\/strong> · Mario Rossi/, 'the history names the editor');
    t.match(after.body, /Unità comprese all’anno<\/th><td class="text-break">6<\/td><td class="text-break">8</);
    t.match((await app.inject({ url: '/servizi/8', headers: HTML })).body, /<strong>8 intervento<\/strong>/);
  });

  await t.test('REST: public list and scheda with the current listino, in the OpenAPI', async (t) => {
    const list = await app.inject({ url: '/api/v1/catalogo/servizi?area=consulenza_tecnica' });
    t.equal(list.statusCode, 200);
    const body = list.json() as { total: number; items: { code: string; sla: { ttoMinutes: number } }[] };
    t.equal(body.total, 6);
    t.equal(list.headers['set-cookie'], undefined);
    t.equal((await app.inject({ url: '/api/v1/catalogo/servizi?area=x' })).statusCode, 400);
    const one = await app.inject({ url: '/api/v1/catalogo/servizi/6' });
    t.match(one.json(), { code: '6', billing: 'annual', tariffs: { isDemo: true, prices: [{ classCode: null, mode: 'bands', bands: [{ from: 1, to: 10, amountCents: 15000 }, {}, { from: 31, to: null }] }] } });
    t.match((await app.inject({ url: '/api/v1/catalogo/servizi/19' })).json(), { billing: 'free', tariffs: null });
    const missing = await app.inject({ url: '/api/v1/catalogo/servizi/77' });
    t.equal(missing.statusCode, 404);
    t.match(missing.headers['content-type'], /problem\+json/);
    const spec = await app.inject({ url: '/api/docs/json' });
    t.ok((spec.json() as { paths: Record<string, unknown> }).paths['/api/v1/catalogo/servizi/{code}'], 'in the OpenAPI');
  });
});
