/**
 * Issue #14 §5: bulk printing says why positions of the filter were not printed (paid, cancelled,
 * draft), names them, and says which installments of partly paid positions were left out.
 */
import t from 'tap';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { payNotice } from '../../src/simulators/pagopa/node.js';
import { sqlGet } from '../../src/db/raw.js';
import { csrfFrom, form, FORM_HEADERS, loginAs } from '../helpers.js';
import { listeningApp, paidTari } from '../helpdesk/helpers.js';
import { createTari } from '../pagopa/helpers.js';

const OP_CB = demoUserFiscalCodes().find((u) => u.role === 'operator' && u.enteIstat === '070006')!.fiscalCode;

t.test('bulk print reports the positions it skipped and why', async (t) => {
  const app = await listeningApp(t, { NOTICE_WORKERS: '0' });
  const paid = await paidTari(app, 'Campobasso');
  // paidTari uses the fixture's debtor: give the others the same one, so one debtor filter takes them all.
  const debtorFilter = (await sqlGet<{ cf: string }>(app.db, 'SELECT debtor_fiscal_code AS cf FROM positions WHERE iupd = ?', paid.iupd))!.cf;
  const open = await createTari(app);
  const partly = await createTari(app);
  const first = await payNotice(app, { fiscalCode: partly.fiscalCode, noticeNumber: partly.options[1]!.noticeNumber });
  t.ok(first.ok, 'installment 1 paid');
  const cancelled = await createTari(app);
  await app.inject({ method: 'POST', url: `/api/v1/positions/${cancelled.iupd}/cancel`, headers: { authorization: `Bearer ${cancelled.key}` } });
  const draft = await createTari(app, { publish: false });
  t.same(
    await Promise.all([paid, open, partly, cancelled, draft].map(async (p) => (await sqlGet<{ status: string }>(app.db, 'SELECT status FROM positions WHERE iupd = ?', p.iupd))!.status)),
    ['paid', 'published', 'partially_paid', 'cancelled', 'draft'],
  );

  const op = await loginAs(app, OP_CB);
  const base = `/backoffice/enti/${paid.enteId}`;
  const { token, cookie } = await csrfFrom(app, `${base}/posizioni`, op);
  const start = await app.inject({ method: 'POST', url: `${base}/stampe`, headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token, status: '', debtor: debtorFilter }) });
  t.equal(start.statusCode, 303);
  await app.jobs.drain();
  const page = await app.inject({ url: start.headers.location as string, headers: { accept: 'text/html', cookie } });
  t.equal(page.statusCode, 200);
  const text = page.body.replace(/\s+/g, ' ');
  const seeded = (await sqlGet<{ n: number }>(app.db, "SELECT count(*) AS n FROM positions WHERE debtor_fiscal_code = ? AND status IN ('published','partially_paid','expired')", debtorFilter))!.n;
  t.match(text, new RegExp(`Pronti ${seeded} avvisi\\. Non stampate 3 posizioni: 1 pagata, 1 annullata, 1 in bozza\\.`));
  t.match(text, /Posizioni non stampate \(3\)/);
  t.match(text, /<strong>1<\/strong> – già pagata: non c’è più nulla da pagare/);
  t.match(text, /<strong>1<\/strong> – in bozza: va pubblicata prima di stampare/);
  for (const [p, label] of [[paid, 'pagata'], [cancelled, 'annullata'], [draft, 'in bozza']] as const) {
    const id = (await sqlGet<{ id: number }>(app.db, 'SELECT id FROM positions WHERE iupd = ?', p.iupd))!.id;
    t.match(text, `<a href="${base}/posizioni/${id}">${p.iupd}</a></th><td>Mario Rossi</td><td>${label}</td>`, `${p.iupd} listed as ${label}`);
  }
  t.match(text, /non compare 1 opzione già pagata/);
  t.notMatch(text, new RegExp(open.iupd), 'printed positions are not listed');
});
