/**
 * One debt is paid once, from the citizen's side (issue 14 §2): the Larino TARI of 285 € payable
 * in one go or in 3 installments of 95 €. The cart, pay-a-notice, the personal area and Checkout
 * cart creation refuse the single payment together with an installment; the outcome page's
 * headline agrees with its rows whatever happened (paid, cancelled, refused, paid twice).
 */
import zlib from 'node:zlib';
import t from 'tap';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildTestApp, csrfFrom, form, FORM_HEADERS, loginAs } from '../helpers.js';
import { freePort, countRows, identity, callStation } from '../pagopa/helpers.js';
import { sqlAll } from '../../src/db/raw.js';
import { upsertUser } from '../../src/modules/users/repository.js';
import { CheckoutError, startCheckout } from '../../src/modules/pagopa/checkout.js';
import { paymentMethodLabel } from '../../src/modules/pagopa/receipt-pdf.js';
import { cartLines } from '../../src/modules/portal/cart.js';
import { outcomeView } from '../../src/modules/portal/outcome.js';
import { getPaymentRequest, newReceiptId, readPaymentData, sendRtRequest } from '../../src/simulators/pagopa/node-messages.js';
import { citizens, comune, createCitizenPosition, fullName } from './fixtures.js';

const HTML = { accept: 'text/html' };

async function get(app: FastifyInstance, url: string, cookie?: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url, headers: { ...HTML, ...(cookie ? { cookie } : {}) } });
}

function text(res: LightMyRequestResponse): string {
  return res.body.replace(/&#x27;/g, "'").replace(/&#x3D;/g, '=').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

/** The state badges of the outcome table, in order. */
function rowStates(res: LightMyRequestResponse): string[] {
  return [...text(res).matchAll(/data-testid="row-state">([^<]+)</g)].map((m) => m[1]!);
}

function headline(res: LightMyRequestResponse): string {
  return /<h1[^>]*>([^<]+)<\/h1>/.exec(text(res))?.[1] ?? '';
}

/** The text drawn in a PDF made by pdfkit (standard fonts write WinAnsi strings as hex). */
function pdfText(pdf: Buffer): string {
  const raw = pdf.toString('latin1');
  let out = '';
  for (const m of raw.matchAll(/stream\r?\n([\s\S]*?)endstream/g)) {
    let body: string;
    try {
      body = zlib.inflateSync(Buffer.from(m[1]!, 'latin1')).toString('latin1');
    } catch {
      continue;
    }
    for (const h of body.matchAll(/<([0-9a-fA-F]+)>/g)) out += Buffer.from(h[1]!, 'hex').toString('latin1');
    out += '\n';
  }
  return out;
}

t.test('pure: payment methods in Italian', async (t) => {
  t.equal(paymentMethodLabel('creditCard'), 'Carta di credito o debito');
  t.equal(paymentMethodLabel('CP'), 'Carta di credito o debito');
  t.equal(paymentMethodLabel('PPAL'), 'PayPal');
  t.equal(paymentMethodLabel('bancomatPay'), 'BANCOMAT Pay');
  t.equal(paymentMethodLabel('BBT'), 'Bonifico bancario');
  t.equal(paymentMethodLabel('qualcosaltro'), 'qualcosaltro', 'unknown values as they came');
  t.equal(paymentMethodLabel(null), null);
});

t.test('pure: the outcome headline follows the rows', async (t) => {
  const item = (state: 'paid' | 'refund' | 'closed' | 'open') => ({ noticeNumber: '3', companyName: 'C', description: 'd', amountCents: 100, paid: state === 'paid', state });
  t.match(outcomeView({ status: 'redirected', items: [item('open')] }, 'annullato'), { kind: 'cancelled', rows: ['notPaid'] });
  t.match(outcomeView({ status: 'redirected', items: [item('open')] }, 'errore'), { kind: 'failed', rows: ['notPaid'] });
  t.match(outcomeView({ status: 'failed', items: [item('open')] }, undefined), { kind: 'failed', rows: ['notPaid'] });
  t.match(outcomeView({ status: 'redirected', items: [item('open')] }, 'ok'), { kind: 'inProgress', rows: ['waiting'] });
  t.match(outcomeView({ status: 'redirected', items: [item('paid'), item('open')] }, 'errore'), { kind: 'partial', rows: ['paid', 'notPaid'] });
  t.match(outcomeView({ status: 'redirected', items: [item('paid'), item('closed')] }, 'errore'), { kind: 'paid', rows: ['paid', 'closed'] });
  t.match(outcomeView({ status: 'redirected', items: [item('closed')] }, 'errore'), { kind: 'notDue', rows: ['closed'] });
  t.match(outcomeView({ status: 'redirected', items: [item('refund')] }, 'errore'), { kind: 'refund', rows: ['refund'], refundCents: 100 });
  t.match(outcomeView({ status: 'redirected', items: [item('paid'), item('refund')] }, 'ok'), { kind: 'paid', rows: ['paid', 'refund'], refundCents: 100, paidCents: 200 });
});

t.test('Larino TARI: single payment 285 € or 3 installments of 95 €, never both', async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const app = await buildTestApp(t, { PORT: String(port), PUBLIC_URL: base, PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  await app.listen({ port, host: '127.0.0.1' });
  const { lucia } = citizens();
  await upsertUser(app.db, lucia, { actor: 'test' });
  const larino = await comune(app, 'Larino');
  const newTari = async (description: string) =>
    await createCitizenPosition(app, lucia.fiscalCode, fullName(lucia), { comune: 'Larino', description, amountCents: 28500, installments: 3 });
  const tari = await newTari('TARI 2026 Larino');
  t.same(tari.options.map((o) => o.amountCents), [28500, 9500, 9500, 9500]);
  const [single, rata1, rata2] = tari.options;
  const cookie = await loginAs(app, lucia.fiscalCode);
  const { token } = await csrfFrom(app, '/area-personale', cookie);
  const post = (payload: string, c = cookie) => app.inject({ method: 'POST', url: '/carrello/aggiungi', headers: { ...FORM_HEADERS, cookie: c }, payload });

  await t.test('personal area: single + installment 1 together are refused, to the cart and to pay', async (t) => {
    for (const azione of ['aggiungi', 'paga']) {
      const res = await post(`${form({ _csrf: token, azione })}&opzione=${single!.id}&opzione=${rata1!.id}`);
      t.equal(res.statusCode, 409, azione);
      t.match(text(res), /una posizione si paga in unica soluzione oppure a rate, non in entrambi i modi/);
      t.match(text(res), /paga l’uno o l’altro, non entrambi/);
    }
    t.equal((await countRows(app, 'checkout_cart_items WHERE option_id IN (?, ?)', single!.id, rata1!.id)), 0, 'no Checkout cart created');
    t.match((await get(app, '/carrello', cookie)).body, /Il carrello è vuoto/, 'nothing added');
    const twoInstallments = await post(`${form({ _csrf: token, azione: 'aggiungi' })}&opzione=${rata1!.id}&opzione=${rata2!.id}`);
    t.equal(twoInstallments.statusCode, 303, 'installments of one plan may go together');
    await app.inject({ method: 'POST', url: '/carrello/svuota', headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token }) });
  });

  await t.test('cart: single payment in the cart, then installment 1 → refused with a clear message', async (t) => {
    t.equal((await post(form({ _csrf: token, opzione: String(single!.id), azione: 'aggiungi' }))).statusCode, 303);
    const res = await post(form({ _csrf: token, ente: String(larino.id), codiceAvviso: rata1!.noticeNumber, azione: 'aggiungi' }));
    t.equal(res.statusCode, 409);
    t.match(text(res), /Avviso non aggiunto al carrello/);
    t.match(text(res), /rata 1 di 3\) è un’alternativa all’avviso .* \(in unica soluzione\)/);
    const cart = await get(app, '/carrello', cookie);
    t.match(cart.body, /\(1 di 5\)/, 'the cart keeps only the single payment');
    t.match(cart.body, /Paga 285,00/);
  });

  await t.test('pay a notice: the installment says it is an alternative and cannot join the cart', async (t) => {
    const page = await get(app, `/paga-avviso?codiceAvviso=${rata1!.noticeNumber}&ente=${larino.id}`, cookie);
    t.equal(page.statusCode, 200);
    const body = text(page);
    t.match(body, /data-testid="alternatives"/);
    t.match(body, /si può pagare anche in unica soluzione \(285,00/);
    t.match(body, /data-testid="cart-alternative"/);
    t.notMatch(body, /Aggiungi al carrello/, 'no button to add it');
    const alone = await get(app, `/paga-avviso?codiceAvviso=${single!.noticeNumber}&ente=${larino.id}`);
    t.match(text(alone), /si può pagare anche a rate \(3 rate da pagare\)/);
    t.notMatch(text(alone), /data-testid="cart-alternative"/, 'another browser has an empty cart');
  });

  await t.test('a cart that already holds both (older session) cannot be paid; Checkout cart creation refuses them', async (t) => {
    const { lines, allPayable, total } = await cartLines(app.db, [
      { enteId: larino.id, noticeNumber: single!.noticeNumber },
      { enteId: larino.id, noticeNumber: rata1!.noticeNumber },
    ]);
    t.notOk(allPayable);
    t.notOk(lines[0]!.problem);
    t.match(lines[1]!.problem, /alternativa/);
    t.match(total, /285,00/, 'the total counts the debt once');
    const err = await startCheckout(
      app.db,
      { notices: [{ enteId: larino.id, noticeNumber: single!.noticeNumber }, { enteId: larino.id, noticeNumber: rata1!.noticeNumber }], returnBase: base },
      app.config.pagopa,
    ).catch((e: unknown) => e);
    t.ok(err instanceof CheckoutError);
    t.match((err as CheckoutError).message, /non in entrambi i modi/);
    t.match((err as CheckoutError).notices[0]?.message, /sono alternativi/);
    t.equal((await countRows(app, 'checkout_cart_items WHERE option_id = ?', rata1!.id)), 0);
  });

  /** Starts a Checkout cart of these notices and returns its id and the simulator's page. */
  async function checkout(notices: string[]) {
    const r = await startCheckout(app.db, { notices: notices.map((noticeNumber) => ({ enteId: larino.id, noticeNumber })), returnBase: base }, app.config.pagopa);
    return r;
  }
  const simulate = (redirectUrl: string, outcome: string) =>
    fetch(redirectUrl, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `outcome=${outcome}` });

  await t.test('outcome pages: cancelled and refused payments do not keep "In attesa di ricevuta"; links back', async (t) => {
    const other = await newTari('TARI Larino annullata');
    const a = await checkout([other.options[0]!.noticeNumber]);
    await simulate(a.redirectUrl, 'cancel');
    const cancelled = await get(app, `/pagamento/esito/${a.cartId}?esito=annullato`);
    t.equal(headline(cancelled), 'Pagamento annullato');
    t.same(rowStates(cancelled), ['Non pagato']);
    t.match(cancelled.body, /data-poll="0"/);
    t.match(cancelled.body, /href="\/paga-avviso"/, 'pay another');
    t.match(cancelled.body, /href="\/">Torna alla home/);
    t.notMatch(cancelled.body, /href="\/area-personale">Vai/, 'no personal area without login');
    const refused = await get(app, `/pagamento/esito/${a.cartId}?esito=errore`, cookie);
    t.equal(headline(refused), 'Pagamento non riuscito');
    t.same(rowStates(refused), ['Non pagato']);
    t.match(refused.body, /href="\/area-personale">Vai all’area personale/);
    const inProgress = await get(app, `/pagamento/esito/${a.cartId}?esito=ok`);
    t.equal(headline(inProgress), 'Pagamento in corso');
    t.same(rowStates(inProgress), ['In attesa di ricevuta']);
  });

  await t.test('two carts race: the second option is refused by the station, its late receipt shows a refund', async (t) => {
    const pos = await newTari('TARI Larino due carrelli');
    const first = await checkout([pos.options[0]!.noticeNumber]);
    const second = await checkout([pos.options[1]!.noticeNumber]);
    // The node activated the installment before the single payment's receipt (another tab, another PSP).
    const id = identity(app, larino.fiscalCode);
    const activation = await callStation(app, getPaymentRequest(id, { fiscalCode: larino.fiscalCode, noticeNumber: pos.options[1]!.noticeNumber }, { v2: true, paymentNote: second.cartId }), 'paGetPaymentV2');
    const data = readPaymentData(activation.answer);

    const paid = await simulate(first.redirectUrl, 'success');
    t.equal(paid.headers.get('location'), `${base}/pagamento/esito/${first.cartId}?esito=ok`);
    const firstPage = await get(app, `/pagamento/esito/${first.cartId}?esito=ok`);
    t.equal(headline(firstPage), 'Pagamento effettuato');
    t.same(rowStates(firstPage), ['Pagato']);

    const refused = await simulate(second.redirectUrl, 'success');
    t.equal(refused.headers.get('location'), `${base}/pagamento/esito/${second.cartId}?esito=errore`, 'the node got DUPLICATO for the installment');
    const secondPage = await get(app, `/pagamento/esito/${second.cartId}?esito=errore`);
    t.equal(headline(secondPage), 'Nessun importo da pagare');
    t.same(rowStates(secondPage), ['Non più dovuto (pagato in altro modo)']);

    // The PSP had already collected the installment: its receipt arrives anyway.
    const receipt = sendRtRequest(id, { v2: true, receiptId: newReceiptId(), noticeNumber: pos.options[1]!.noticeNumber, fiscalCode: larino.fiscalCode, data, paymentNote: second.cartId });
    t.equal((await callStation(app, receipt, 'paSendRTV2')).answer.outcome, 'OK');
    t.equal((await sqlAll<{ refs: string }>(app.db, "SELECT refs FROM anomalies WHERE type = 'receipt_alternative_option'")).filter((a) => JSON.parse(a.refs).optionId === pos.options[1]!.id).length, 1);
    const afterReceipt = await get(app, `/pagamento/esito/${second.cartId}?esito=errore`);
    t.equal(headline(afterReceipt), 'Pagamento non dovuto: sarà rimborsato');
    t.same(rowStates(afterReceipt), ['Pagato, da rimborsare']);
    t.match(text(afterReceipt), /ti rimborserà 95,00/);
    t.equal(headline(await get(app, `/pagamento/esito/${first.cartId}?esito=ok`)), 'Pagamento effettuato', 'the first payment is unchanged');
  });

  await t.test('receipt PDF: ente and pagoPA in the header, payment method in Italian', async (t) => {
    const pos = await newTari('TARI Larino ricevuta');
    const c = await checkout([pos.options[0]!.noticeNumber]);
    await simulate(c.redirectUrl, 'success');
    const pdf = await app.inject(`/pagamento/esito/${c.cartId}/ricevute/1.pdf`);
    t.equal(pdf.statusCode, 200);
    const words = pdfText(pdf.rawPayload);
    t.match(words, 'Comune di Larino');
    t.match(words, 'pagoPA');
    t.match(words, 'Carta di credito o debito');
    t.notMatch(words, 'creditCard');
  });
});
