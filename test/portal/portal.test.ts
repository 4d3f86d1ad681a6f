/**
 * Citizen portal routes through app.inject (the payment steps need the Checkout simulator, which
 * calls back our station over HTTP, so the app also listens on a free loopback port).
 */
import t from 'tap';
import { sqlGet, sqlRun } from '../../src/db/raw.js';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildTestApp, csrfFrom, form, FORM_HEADERS, loginAs, sessionCookieFrom } from '../helpers.js';
import { freePort, countRows } from '../pagopa/helpers.js';
import { upsertUser } from '../../src/modules/users/repository.js';
import { buildNoticeNumber, checkDigits } from '../../src/modules/positions/numbers.js';
import { NOTICE_NUMBER_MESSAGES } from '../../src/modules/positions/numbers.js';
import { cancel, citizens, comune, createCitizenPosition, expire, fullName } from './fixtures.js';

const HTML = { accept: 'text/html' };

async function get(app: FastifyInstance, url: string, cookie?: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url, headers: { ...HTML, ...(cookie ? { cookie } : {}) } });
}

/** Decodes the few entities Handlebars writes, to match Italian text with apostrophes. */
function text(res: LightMyRequestResponse): string {
  return res.body.replace(/&#x27;/g, "'").replace(/&#x3D;/g, '=').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

t.test('citizen portal', async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const app = await buildTestApp(t, { PORT: String(port), PUBLIC_URL: base, PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  await app.listen({ port, host: '127.0.0.1' });
  const { lucia, antonio } = citizens();
  await upsertUser(app.db, lucia, { actor: 'test' });
  await upsertUser(app.db, antonio, { actor: 'test' });
  const campobasso = await comune(app, 'Campobasso');
  const termoli = await comune(app, 'Termoli');

  await t.test('home: comuni with links, pay box, SPID and CIE buttons', async (t) => {
    const res = await get(app, '/');
    t.equal(res.statusCode, 200);
    t.match(res.body, `href="/comuni/${campobasso.ipaCode}"`);
    t.match(res.body, /Paga un avviso/);
    t.match(res.body, /action="\/paga-avviso"/);
    t.match(res.body, /Entra con SPID/);
    t.match(res.body, /Entra con CIE/);
    t.match(res.body, /Cosa puoi pagare/);
    t.match(res.body, /Mensa scolastica/);
    t.match(res.body, /href="\/area-personale"/, 'citizen navigation in the header');
    const search = await get(app, '/?q=termo');
    const list = /data-testid="member-comuni">([\s\S]*?)<\/ul>/.exec(search.body)?.[1] ?? '';
    t.match(list, 'Comune di Termoli');
    t.notMatch(list, 'Comune di Riccia');
  });

  await t.test('comune page: stemma, slogan, zone, services, contacts, hours', async (t) => {
    const res = await get(app, `/comuni/${campobasso.ipaCode}`);
    t.equal(res.statusCode, 200);
    const body = text(res);
    t.match(body, /<h1[^>]*>Comune di Campobasso<\/h1>/);
    t.match(body, /alt="Stemma del Comune di Campobasso"/);
    t.match(body, /Il capoluogo del Molise/);
    t.match(body, /Area urbana di Campobasso/);
    t.match(body, `href="/comuni/${campobasso.ipaCode}/servizi/MENSA"`, 'spontaneous service has a pay link');
    t.match(body, `href="/comuni/${campobasso.ipaCode}/servizi/DIRITTI"`);
    t.notMatch(body, `/servizi/TARI"`, 'TARI is paid by notice only');
    t.match(body, /Importo fisso 10,00\s€/);
    t.match(body, /Lunedì, mercoledì e venerdì 9:00–12:00/);
    t.match(body, /tributi@comune-b519/);
    const other = (await get(app, '/comuni/c_a050')).statusCode;
    t.ok(other === 200 || other === 404);
    t.equal((await get(app, '/comuni/c_zzzz')).statusCode, 404);
    t.equal((await get(app, '/comuni/BAD!')).statusCode, 400);
  });

  await t.test('pay a notice: every error message', async (t) => {
    const p = await createCitizenPosition(app, lucia.fiscalCode, fullName(lucia), { comune: 'Campobasso', description: 'TARI da verificare', amountCents: 15050, installments: 2 });
    const nav = p.options[0]!.noticeNumber;
    const form0 = await get(app, '/paga-avviso');
    t.equal(form0.statusCode, 200);
    t.match(form0.body, /data-element="service-title"/);
    t.match(form0.body, /Codice Fiscale Ente Creditore/);

    const cases: [string, number, string][] = [
      [`/paga-avviso?codiceAvviso=&ente=${campobasso.id}`, 400, NOTICE_NUMBER_MESSAGES.EMPTY],
      [`/paga-avviso?codiceAvviso=30100000000000A&ente=${campobasso.id}`, 400, NOTICE_NUMBER_MESSAGES.NOT_DIGITS],
      [`/paga-avviso?codiceAvviso=3010000&ente=${campobasso.id}`, 400, 'Il codice avviso è composto da 18 cifre: ne hai inserite 7.'],
      [`/paga-avviso?codiceAvviso=101000000000000001&ente=${campobasso.id}`, 400, NOTICE_NUMBER_MESSAGES.UNSUPPORTED_AUX],
      [`/paga-avviso?codiceAvviso=${nav.slice(0, 16)}${nav.slice(16) === '00' ? '01' : '00'}&ente=${campobasso.id}`, 400, NOTICE_NUMBER_MESSAGES.WRONG_CHECK_DIGIT],
      [`/paga-avviso?codiceAvviso=${nav}&ente=`, 400, 'Scegli il comune che ha emesso l’avviso oppure inserisci il codice fiscale dell’ente creditore.'],
      [`/paga-avviso?codiceAvviso=${nav}&cfEnte=123`, 400, 'Il codice fiscale dell’ente creditore è composto da 11 cifre'],
      [`/paga-avviso?codiceAvviso=${nav}&cfEnte=00000000000`, 400, 'L’ente con codice fiscale 00000000000 non usa questo portale'],
      [`/paga-avviso?codiceAvviso=${buildNoticeNumber('01', 9_999_999)}&ente=${campobasso.id}`, 404, 'Non risulta nessun avviso con questo codice presso Comune di Campobasso'],
    ];
    for (const [url, status, message] of cases) {
      const res = await get(app, url);
      t.equal(res.statusCode, status, url);
      t.match(text(res), message, url);
      t.match(res.body, /role="alert"/);
    }
    const wrongField = await get(app, `/paga-avviso?codiceAvviso=123&ente=${campobasso.id}`);
    t.match(wrongField.body, /aria-invalid="true"/);
    t.match(wrongField.body, /aria-describedby="codiceAvviso-help codiceAvviso-error"/);

    // Payable: amount, due date, description as of now; by the comune or by the ente fiscal code.
    for (const q of [`ente=${campobasso.id}`, `cfEnte=${campobasso.fiscalCode}`]) {
      const ok = await get(app, `/paga-avviso?codiceAvviso=${nav.replace(/(\d{4})/g, '$1 ')}&${q}`);
      t.equal(ok.statusCode, 200, q);
      t.match(ok.body, /150,50\s€/);
      t.match(ok.body, /TARI da verificare/);
      t.match(ok.body, nav.replace(/(\d{4})(?=\d)/g, '$1 '));
      t.notMatch(ok.body, lucia.familyName, 'nothing about the debtor');
      t.match(ok.body, /name="_csrf"/);
    }
    const inst = await get(app, `/paga-avviso?codiceAvviso=${p.options[2]!.noticeNumber}&ente=${campobasso.id}`);
    t.match(inst.body, /Rata 2 di 2/);
    // The amount is read now: an operator change shows at once.
    (await sqlRun(app.db, 'UPDATE payment_options SET amount_cents = 16000 WHERE id = ?', p.options[0]!.id));
    t.match((await get(app, `/paga-avviso?codiceAvviso=${nav}&ente=${campobasso.id}`)).body, /160,00\s€/);

    // Not payable: already paid, closed by another option, expired, cancelled, draft.
    const paid = await createCitizenPosition(app, lucia.fiscalCode, fullName(lucia), { description: 'già pagata' });
    (await sqlRun(app.db, "UPDATE payment_options SET status = 'paid' WHERE id = ?", paid.options[0]!.id));
    (await sqlRun(app.db, "UPDATE positions SET status = 'paid' WHERE id = ?", paid.id));
    const r1 = await get(app, `/paga-avviso?codiceAvviso=${paid.options[0]!.noticeNumber}&ente=${campobasso.id}`);
    t.equal(r1.statusCode, 409);
    t.match(text(r1), 'Questo avviso risulta già pagato: non serve pagarlo di nuovo.');
    const closed = await createCitizenPosition(app, lucia.fiscalCode, fullName(lucia), { description: 'chiusa', installments: 2 });
    (await sqlRun(app.db, "UPDATE payment_options SET status = 'paid' WHERE id = ?", closed.options[1]!.id));
    (await sqlRun(app.db, "UPDATE payment_options SET status = 'cancelled' WHERE id = ?", closed.options[0]!.id));
    (await sqlRun(app.db, "UPDATE positions SET status = 'partially_paid' WHERE id = ?", closed.id));
    const r2 = await get(app, `/paga-avviso?codiceAvviso=${closed.options[0]!.noticeNumber}&ente=${campobasso.id}`);
    t.equal(r2.statusCode, 409);
    t.match(text(r2), 'la posizione è già stata pagata con un’altra modalità');
    const expired = await createCitizenPosition(app, lucia.fiscalCode, fullName(lucia), { description: 'scaduta' });
    await expire(app, expired);
    const r3 = await get(app, `/paga-avviso?codiceAvviso=${expired.options[0]!.noticeNumber}&ente=${campobasso.id}`);
    t.equal(r3.statusCode, 409);
    t.match(text(r3), 'L’avviso è scaduto e non è più pagabile.');
    const cancelled = await createCitizenPosition(app, lucia.fiscalCode, fullName(lucia), { description: 'annullata' });
    await cancel(app, cancelled);
    const r4 = await get(app, `/paga-avviso?codiceAvviso=${cancelled.options[0]!.noticeNumber}&ente=${campobasso.id}`);
    t.equal(r4.statusCode, 409);
    t.match(text(r4), 'L’avviso è stato annullato da Comune di Campobasso: non va pagato.');
    const draft = await createCitizenPosition(app, lucia.fiscalCode, fullName(lucia), { description: 'bozza', publish: false });
    const r5 = await get(app, `/paga-avviso?codiceAvviso=${draft.options[0]!.noticeNumber}&ente=${campobasso.id}`);
    t.equal(r5.statusCode, 404, 'a draft is unknown, as for the node');
    t.ok(checkDigits('3010000000000000').length === 2);
  });

  await t.test('cart without login: add, duplicates, limit of 5, remove, empty, errors', async (t) => {
    const notices: Awaited<ReturnType<typeof createCitizenPosition>>[] = [];
    for (const i of [1, 2, 3, 4, 5, 6]) notices.push(await createCitizenPosition(app, antonio.fiscalCode, fullName(antonio), { comune: i % 2 ? 'Campobasso' : 'Termoli', description: `Avviso carrello ${i}`, amountCents: 1000 * i }));
    const first = notices[0]!;
    const { token, cookie } = await csrfFrom(app, `/paga-avviso?codiceAvviso=${first.options[0]!.noticeNumber}&ente=${campobasso.id}`);
    const add = (p: (typeof notices)[number], extra: Record<string, string> = {}) =>
      app.inject({
        method: 'POST',
        url: '/carrello/aggiungi',
        headers: { ...FORM_HEADERS, cookie },
        payload: form({ _csrf: token, ente: String(p.enteId), codiceAvviso: p.options[0]!.noticeNumber, azione: 'aggiungi', ...extra }),
      });
    const r = await add(first);
    t.equal(r.statusCode, 303);
    t.equal(r.headers.location, '/carrello?aggiunti=1');
    await add(first);
    let cart = await get(app, '/carrello', cookie);
    t.equal(cart.statusCode, 200);
    t.match(cart.body, /Avvisi nel carrello \(1 di 5\)/, 'the same notice once');
    t.match(cart.body, /Carrello \(1/, 'count in the header');
    for (const p of notices.slice(1, 5)) t.equal((await add(p)).statusCode, 303);
    cart = await get(app, '/carrello', cookie);
    t.match(cart.body, /Avvisi nel carrello \(5 di 5\)/);
    t.match(cart.body, /Comune di Termoli/);
    t.match(cart.body, /150,00\s€/, 'total of 10+20+30+40+50 €');
    const sixth = await add(notices[5]!);
    t.equal(sixth.statusCode, 409);
    t.match(text(sixth), 'Il carrello può contenere al massimo 5 avvisi');
    // Without the CSRF token nothing happens.
    const noCsrf = await app.inject({ method: 'POST', url: '/carrello/aggiungi', headers: { ...FORM_HEADERS, cookie }, payload: form({ ente: String(first.enteId), codiceAvviso: first.options[0]!.noticeNumber }) });
    t.equal(noCsrf.statusCode, 403);
    // A notice paid meanwhile is flagged in the cart.
    (await sqlRun(app.db, "UPDATE payment_options SET status = 'paid' WHERE id = ?", notices[4]!.options[0]!.id));
    cart = await get(app, '/carrello', cookie);
    t.match(text(cart), 'Questo avviso risulta già pagato');
    t.match(text(cart), 'rimuovili dal carrello per procedere');
    const remove = await app.inject({ method: 'POST', url: '/carrello/rimuovi', headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token, chiave: `${notices[4]!.enteId}-${notices[4]!.options[0]!.noticeNumber}` }) });
    t.equal(remove.statusCode, 303);
    t.match((await get(app, '/carrello', cookie)).body, /\(4 di 5\)/);
    const badEmail = await app.inject({ method: 'POST', url: '/carrello/paga', headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token, email: 'non-una-email' }) });
    t.equal(badEmail.statusCode, 400);
    t.match(badEmail.body, /Indirizzo email non valido/);
    t.match(badEmail.body, /aria-invalid="true"/);
    const empty = await app.inject({ method: 'POST', url: '/carrello/svuota', headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token }) });
    t.equal(empty.statusCode, 303);
    t.match((await get(app, '/carrello', cookie)).body, /Il carrello è vuoto/);
    const payEmpty = await app.inject({ method: 'POST', url: '/carrello/paga', headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token }) });
    t.equal(payEmpty.statusCode, 400);
    t.match(payEmpty.body, /Il carrello è vuoto: aggiungi almeno un avviso/);
    const unknown = await app.inject({ method: 'POST', url: '/carrello/aggiungi', headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token, ente: String(campobasso.id), codiceAvviso: '12' }) });
    t.equal(unknown.statusCode, 400);
  });

  await t.test('pay now without login → Checkout → in corso → paid, receipts through the payment link', async (t) => {
    const p = await createCitizenPosition(app, antonio.fiscalCode, fullName(antonio), { comune: 'Termoli', description: 'Canone da pagare', amountCents: 4321 });
    const nav = p.options[0]!.noticeNumber;
    const { token, cookie } = await csrfFrom(app, `/paga-avviso?codiceAvviso=${nav}&ente=${termoli.id}`);
    const res = await app.inject({ method: 'POST', url: '/carrello/aggiungi', headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token, ente: String(termoli.id), codiceAvviso: nav, azione: 'paga' }) });
    t.equal(res.statusCode, 303);
    const redirect = String(res.headers.location);
    t.match(redirect, `${base}/simulators/pagopa/checkout/carrello/`);
    const cartId = (await sqlGet(app.db, 'SELECT cart_id AS id FROM checkout_cart_items WHERE notice_number = ?', nav)) as { id: string };
    const before = await get(app, `/pagamento/esito/${cartId.id}?esito=ok`);
    t.equal(before.statusCode, 200);
    t.match(before.body, /Pagamento in corso/);
    t.match(before.body, /data-poll="1"/);
    t.match(before.body, /src="\/static\/js\/esito-poll.js"/);
    t.match(before.body, `${base}/pagamento/esito/${cartId.id}`, 'the check-later link');
    t.same((await app.inject(`/pagamento/esito/${cartId.id}/stato`)).json(), { status: 'redirected', paid: 0, total: 1 });
    t.equal((await get(app, `/pagamento/esito/${cartId.id}/ricevute/1.pdf`)).statusCode, 404, 'no receipt yet');

    const pay = await fetch(redirect, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'outcome=success' });
    t.equal(pay.headers.get('location'), `${base}/pagamento/esito/${cartId.id}?esito=ok`);
    t.same((await app.inject(`/pagamento/esito/${cartId.id}/stato`)).json(), { status: 'paid', paid: 1, total: 1 });
    const after = await get(app, `/pagamento/esito/${cartId.id}?esito=ok`);
    t.match(after.body, /Pagamento completato/);
    t.match(after.body, /data-poll="0"/);
    t.match(after.body, `/pagamento/esito/${cartId.id}/ricevute/1.pdf`);
    const pdf = await app.inject(`/pagamento/esito/${cartId.id}/ricevute/1.pdf`);
    t.equal(pdf.statusCode, 200);
    t.equal(pdf.headers['content-type'], 'application/pdf');
    t.equal(pdf.rawPayload.subarray(0, 5).toString(), '%PDF-');
    t.equal((await get(app, `/pagamento/esito/${cartId.id}/ricevute/2.pdf`)).statusCode, 404);
    t.equal((await get(app, '/pagamento/esito/00000000-0000-4000-8000-000000000000')).statusCode, 404);
    t.equal((await get(app, '/pagamento/esito/non-un-id')).statusCode, 400);
    // Cancel and error outcomes of another payment.
    const q = await createCitizenPosition(app, antonio.fiscalCode, fullName(antonio), { description: 'annullo' });
    const s2 = await csrfFrom(app, `/paga-avviso?codiceAvviso=${q.options[0]!.noticeNumber}&ente=${campobasso.id}`);
    const r2 = await app.inject({ method: 'POST', url: '/carrello/aggiungi', headers: { ...FORM_HEADERS, cookie: s2.cookie }, payload: form({ _csrf: s2.token, ente: String(campobasso.id), codiceAvviso: q.options[0]!.noticeNumber, azione: 'paga' }) });
    const back = await fetch(String(r2.headers.location), { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'outcome=cancel' });
    const cancelledPage = await get(app, new URL(back.headers.get('location')!).pathname + new URL(back.headers.get('location')!).search);
    t.match(cancelledPage.body, /Pagamento annullato/);
    const id2 = new URL(back.headers.get('location')!).pathname.split('/').pop();
    t.match((await get(app, `/pagamento/esito/${id2}?esito=errore`)).body, /Pagamento non riuscito/);
  });

  await t.test('personal area: login required, groups across comuni, installments, PDFs, profile', async (t) => {
    const anon = await get(app, '/area-personale');
    t.equal(anon.statusCode, 303);
    t.equal(anon.headers.location, '/accesso?next=%2Farea-personale');
    const login = await get(app, '/accesso?next=/area-personale');
    t.match(login.body, /next&#x3D;%2Farea-personale/);

    const gc = citizens().giulia;
    await upsertUser(app.db, gc, { actor: 'test' });
    const tari = await createCitizenPosition(app, gc.fiscalCode, fullName(gc), { comune: 'Campobasso', description: 'TARI Giulia', amountCents: 30000, installments: 3 });
    const cup = await createCitizenPosition(app, gc.fiscalCode, fullName(gc), { comune: 'Termoli', description: 'Canone Giulia', amountCents: 5000, serviceCode: 'CUP' });
    const old = await createCitizenPosition(app, gc.fiscalCode, fullName(gc), { comune: 'Larino', description: 'Mensa scaduta Giulia', serviceCode: 'MENSA' });
    await expire(app, old);
    const gone = await createCitizenPosition(app, gc.fiscalCode, fullName(gc), { comune: 'Riccia', description: 'Annullata Giulia' });
    await cancel(app, gone);
    await createCitizenPosition(app, gc.fiscalCode, fullName(gc), { comune: 'Bojano', description: 'Bozza Giulia', publish: false });
    const others = await createCitizenPosition(app, lucia.fiscalCode, fullName(lucia), { comune: 'Campobasso', description: 'Posizione di Lucia' });
    const cookie = await loginAs(app, gc.fiscalCode);

    const area = await get(app, '/area-personale', cookie);
    t.equal(area.statusCode, 200);
    const body = text(area);
    t.match(body, /Giulia Castelli/);
    t.match(body, `CF: ${gc.fiscalCode}`);
    t.match(body, /Da pagare \(2\)/);
    t.match(body, /Scaduti \(1\)/);
    t.match(body, /TARI Giulia/);
    t.match(body, /Canone Giulia/);
    t.match(body, /Comune di Termoli/);
    t.match(body, /Rata 3 di 3/);
    t.match(body, /Mensa scaduta Giulia/);
    t.match(body, /Annullata Giulia/);
    t.notMatch(body, /Bozza Giulia/, 'drafts are not shown');
    t.notMatch(body, /Posizione di Lucia/, 'someone else’s positions are not shown');
    t.match(body, `name="opzione" value="${tari.options[2]!.id}"`);
    t.match(body, `/area-personale/avvisi/${cup.options[0]!.id}.pdf`);

    const detail = await get(app, `/area-personale/posizioni/${tari.id}`, cookie);
    t.equal(detail.statusCode, 200);
    t.match(detail.body, /data-element="service-status"/);
    t.match(text(detail), /Puoi pagare in unica soluzione/);
    const pdf = await app.inject({ url: `/area-personale/avvisi/${tari.options[1]!.id}.pdf`, headers: { cookie } });
    t.equal(pdf.statusCode, 200);
    t.equal(pdf.headers['content-type'], 'application/pdf');

    // IDOR: Lucia's position, option and notice PDF are "not found" for Giulia.
    t.equal((await get(app, `/area-personale/posizioni/${others.id}`, cookie)).statusCode, 404);
    t.equal((await get(app, `/area-personale/avvisi/${others.options[0]!.id}.pdf`, cookie)).statusCode, 404);
    t.equal((await get(app, `/area-personale/avvisi/${others.options[0]!.id}.pdf`)).statusCode, 401);
    const { token } = await csrfFrom(app, '/area-personale', cookie);
    const steal = await app.inject({ method: 'POST', url: '/carrello/aggiungi', headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token, opzione: String(others.options[0]!.id), azione: 'paga' }) });
    t.equal(steal.statusCode, 404);
    t.equal((await countRows(app, 'checkout_cart_items WHERE option_id = ?', others.options[0]!.id)), 0, 'no cart for someone else’s notice');
    const anonAdd = await app.inject({ method: 'POST', url: '/carrello/aggiungi', headers: FORM_HEADERS, payload: form({ opzione: String(tari.options[0]!.id) }) });
    t.equal(anonAdd.statusCode, 403, 'CSRF first');

    // Add two notices of two comuni through the checkboxes.
    const add = await app.inject({
      method: 'POST',
      url: '/carrello/aggiungi',
      headers: { ...FORM_HEADERS, cookie },
      payload: `${form({ _csrf: token, azione: 'aggiungi' })}&opzione=${tari.options[1]!.id}&opzione=${cup.options[0]!.id}`,
    });
    t.equal(add.statusCode, 303);
    const cart = await get(app, '/carrello', cookie);
    t.match(cart.body, /\(2 di 5\)/);
    t.match(cart.body, /TARI Giulia rata 1 di 3/);
    t.match(cart.body, /value="giulia.castelli@example.org"/, 'profile email proposed');

    // Profile.
    const prof = await get(app, '/area-personale/profilo', cookie);
    t.equal(prof.statusCode, 200);
    t.match(prof.body, /giulia.castelli@example.org/);
    const bad = await app.inject({ method: 'POST', url: '/area-personale/profilo', headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token, email: 'giulia@' }) });
    t.equal(bad.statusCode, 400);
    t.match(bad.body, /Indirizzo email non valido/);
    const ok = await app.inject({ method: 'POST', url: '/area-personale/profilo', headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token, email: 'giulia@example.net' }) });
    t.equal(ok.statusCode, 303);
    t.match((await get(app, '/area-personale/profilo?salvato=1', cookie)).body, /Profilo aggiornato[\s\S]*giulia@example.net/);
    t.equal((await app.inject({ method: 'POST', url: '/area-personale/profilo', headers: FORM_HEADERS, payload: form({ email: 'x@y.it' }) })).statusCode, 403);

    const history = await get(app, '/area-personale/storico', cookie);
    t.equal(history.statusCode, 200);
    t.match(history.body, /Storico dei pagamenti/);
    t.equal((await get(app, '/area-personale/storico')).statusCode, 303);
  });

  await t.test('spontaneous payment: login, fields of the service, amount bounds, privacy, then Checkout', async (t) => {
    const url = `/comuni/${campobasso.ipaCode}/servizi/MENSA`;
    const anon = await get(app, url);
    t.equal(anon.statusCode, 200);
    t.match(anon.body, /Accedi con SPID o CIE/);
    t.equal((await get(app, `/comuni/${campobasso.ipaCode}/servizi/TARI`)).statusCode, 404, 'not spontaneous');
    const cookie = await loginAs(app, lucia.fiscalCode);
    const page = await get(app, url, cookie);
    t.match(text(page), /Nome e cognome dell’alunno/);
    t.match(text(page), /Da 1,00\s€ a 500,00\s€/);
    const { token } = await csrfFrom(app, url, cookie);
    const post = (fields: Record<string, string>) => app.inject({ method: 'POST', url, headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token, ...fields }) });
    const empty = await post({});
    t.equal(empty.statusCode, 400);
    t.match(text(empty), 'Compila il campo «Nome e cognome dell’alunno o dell’alunna».');
    t.match(text(empty), 'Indica l’importo da pagare.');
    t.match(text(empty), 'Per proseguire conferma di aver letto l’informativa sulla privacy.');
    const low = await post({ alunno: 'Marco Ferrante', scuola: 'Primaria, 3ª B', importo: '0,50', privacy: 'si' });
    t.match(text(low), /L’importo minimo per questo servizio è 1,00\s€/);
    const high = await post({ alunno: 'Marco Ferrante', scuola: 'Primaria, 3ª B', importo: '900', privacy: 'si' });
    t.match(text(high), /L’importo massimo per questo servizio è 500,00\s€/);
    const nonsense = await post({ alunno: 'Marco Ferrante', scuola: 'Primaria, 3ª B', importo: 'dieci', privacy: 'si' });
    t.match(text(nonsense), 'Importo non valido: scrivilo in euro, ad esempio 25,50.');
    const good = await post({ alunno: 'Marco Ferrante', scuola: 'Primaria, 3ª B', importo: '42,50', privacy: 'si' });
    t.equal(good.statusCode, 303);
    t.match(String(good.headers.location), `${base}/simulators/pagopa/checkout/carrello/`);
    const row = (await sqlGet(app.db, "SELECT p.debtor_fiscal_code AS cf, p.status, o.amount_cents AS cents, p.description FROM positions p JOIN payment_options o ON o.position_id = p.id WHERE p.description LIKE 'Mensa scolastica: Marco%'")) as { cf: string; status: string; cents: number; description: string };
    t.same(row, { cf: lucia.fiscalCode, status: 'published', cents: 4250, description: 'Mensa scolastica: Marco Ferrante – Primaria, 3ª B' });
    // Fixed amount service: no amount field.
    const fixed = await get(app, `/comuni/${campobasso.ipaCode}/servizi/DIRITTI`, cookie);
    t.match(fixed.body, /Importo fisso: <strong>10,00\s€/);
    t.notMatch(fixed.body, /id="importo"/);
    t.equal((await app.inject({ method: 'POST', url, headers: { ...FORM_HEADERS }, payload: form({ alunno: 'x' }) })).statusCode, 403);
  });

  await t.test('info pages and session cookie hygiene', async (t) => {
    for (const url of ['/privacy', '/accessibilita', '/note-legali']) t.equal((await get(app, url)).statusCode, 200, url);
    const home = await get(app, '/');
    t.equal(sessionCookieFrom(home), undefined, 'no cookie for a plain visit');
    const lookup = await get(app, `/paga-avviso?codiceAvviso=${buildNoticeNumber('01', 1)}&ente=${campobasso.id}`);
    const c = lookup.cookies.find((x) => x.name === 'sael_sid');
    if (c) {
      t.equal(c.httpOnly, true);
      t.equal(c.sameSite, 'Lax');
    }
  });
});
