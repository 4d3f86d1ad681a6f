import t from 'tap';
import Fastify, { type FastifyInstance } from 'fastify';
import { buildTestApp } from '../../helpers.js';
import { startCheckout, CheckoutError } from '../../../src/modules/pagopa/checkout.js';
import pagopaSimulator from '../../../src/simulators/pagopa/index.js';
import { sqlGet } from '../../../src/db/raw.js';
import { createTari, freePort } from '../../pagopa/helpers.js';

/** Rows of `FROM …` (with its WHERE), on either database. */
async function count(app: FastifyInstance, from: string, ...params: unknown[]): Promise<number> {
  return (await sqlGet<{ n: number }>(app.db, `SELECT count(*) AS n FROM ${from}`, ...params))!.n;
}

t.test('cart → simulated Checkout → receipts over real SOAP → cart paid', async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const app = await buildTestApp(t, { PORT: String(port), PUBLIC_URL: base, PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  await app.listen({ port, host: '127.0.0.1' });
  const pos = await createTari(app);
  const other = await createTari(app, {}, 'Termoli');

  await t.test('success: both notices paid, page says completed', async (t) => {
    const { cartId, redirectUrl } = await startCheckout(
      app.db,
      { notices: [{ enteId: pos.enteId, noticeNumber: pos.options[1]!.noticeNumber }, { enteId: other.enteId, noticeNumber: other.options[0]!.noticeNumber }], email: 'mario.rossi@example.invalid', returnBase: base },
      app.config.pagopa,
    );
    t.match(redirectUrl, new RegExp(`^${base}/simulators/pagopa/checkout/carrello/`));
    t.equal(await count(app, "checkout_carts WHERE id = ? AND status = 'redirected'", cartId), 1);
    const before = await fetch(`${base}/pagamento/esito/${cartId}?esito=ok`);
    t.match(await before.text(), /Pagamento in corso/, 'the return URL alone proves nothing');

    const page = await fetch(redirectUrl);
    t.equal(page.status, 200);
    t.match(await page.text(), /Paga con pagoPA/);
    const res = await fetch(redirectUrl, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'outcome=success' });
    t.equal(res.status, 303);
    t.equal(res.headers.get('location'), `${base}/pagamento/esito/${cartId}?esito=ok`);

    t.equal(await count(app, "checkout_carts WHERE id = ? AND status = 'paid'", cartId), 1, 'cart paid');
    t.equal(await count(app, 'receipts WHERE payment_note = ? AND processing = ?', cartId, 'applied'), 2, 'one applied receipt per notice, idCart in paymentNote');
    t.equal(await count(app, "receipts WHERE payment_note = ? AND processing = 'secondary'", cartId), 2, 'province copies (TEFA)');
    t.equal(await count(app, "positions WHERE iupd = ? AND status = 'partially_paid'", pos.iupd), 1);
    t.equal(await count(app, "positions WHERE iupd = ? AND status = 'paid'", other.iupd), 1);
    const after = await (await fetch(`${base}/pagamento/esito/${cartId}?esito=ok`)).text();
    t.match(after, /Pagamento completato/);
  });

  await t.test('cancel: nothing paid, page says cancelled', async (t) => {
    const { cartId, redirectUrl } = await startCheckout(app.db, { notices: [{ enteId: pos.enteId, noticeNumber: pos.options[2]!.noticeNumber }], returnBase: base }, app.config.pagopa);
    const res = await fetch(redirectUrl, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'outcome=cancel' });
    t.equal(res.headers.get('location'), `${base}/pagamento/esito/${cartId}?esito=annullato`);
    t.equal(await count(app, "checkout_carts WHERE id = ? AND status = 'redirected'", cartId), 1);
    t.match(await (await fetch(res.headers.get('location')!)).text(), /Pagamento annullato/);
  });

  await t.test('refuses notices that are not payable, and duplicates', async (t) => {
    await t.rejects(startCheckout(app.db, { notices: [{ enteId: pos.enteId, noticeNumber: pos.options[1]!.noticeNumber }], returnBase: base }, app.config.pagopa), CheckoutError);
    await t.rejects(
      startCheckout(app.db, { notices: [{ enteId: pos.enteId, noticeNumber: pos.options[3]!.noticeNumber }, { enteId: pos.enteId, noticeNumber: pos.options[3]!.noticeNumber }], returnBase: base }, app.config.pagopa),
      /più volte/,
    );
  });

  await t.test('Checkout unreachable → cart failed, clear error', async (t) => {
    const settings = { ...app.config.pagopa, checkoutUrl: 'http://127.0.0.1:1/checkout/ec/v2' };
    await t.rejects(startCheckout(app.db, { notices: [{ enteId: pos.enteId, noticeNumber: pos.options[3]!.noticeNumber }], returnBase: base }, settings), /non è al momento raggiungibile/);
    t.ok((await count(app, "checkout_carts WHERE status = 'failed'")) >= 1);
  });

  await t.test('PSP desk pays a notice, with a duplicate receipt', async (t) => {
    const p = await createTari(app);
    const res = await fetch(`${base}/simulators/pagopa/psp`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ fiscalCode: p.fiscalCode, noticeNumber: p.options[0]!.noticeNumber, primitive: 'v1', duplicates: '1' }).toString(),
    });
    t.equal(res.status, 200);
    t.match(await res.text(), /Pagamento eseguito/);
    t.equal(await count(app, "positions WHERE iupd = ? AND status = 'paid'", p.iupd), 1);
    t.equal(await count(app, 'receipts WHERE iuv = ? AND id_pa = ?', p.options[0]!.iuv, p.fiscalCode), 1, 'duplicate stored once');
  });

  await t.test('central archive paCreatePosition answers 200 to a valid body, 400 to an invalid one, 401 without the key', async (t) => {
    const post = (body: unknown, key = app.config.pagopa.subscriptionKey) =>
      fetch(`${base}/simulators/pagopa/aca/paCreatePosition`, { method: 'POST', headers: { 'content-type': 'application/json', 'ocp-apim-subscription-key': key }, body: JSON.stringify(body) });
    const body = { paFiscalCode: pos.fiscalCode, entityType: 'F', entityFiscalCode: 'RSSMRA85T10A562S', entityFullName: 'Mario Rossi', iuv: pos.options[0]!.iuv, nav: pos.options[0]!.noticeNumber, amount: 0, description: 'TARI', expirationDate: '2026-12-31T23:59:59' };
    const ok = await post(body);
    t.equal(ok.status, 200);
    t.match(await ok.json(), { status: 'INVALID' });
    t.equal((await post({ iuv: 'x' })).status, 400);
    t.equal((await post(body, 'wrong')).status, 401);
  });
});

t.test('production refuses the simulator', async (t) => {
  const app = Fastify();
  app.decorate('config', { isProduction: true } as never);
  await t.rejects(async () => { await app.register(pagopaSimulator); await app.ready(); }, /not available in production/);
});
