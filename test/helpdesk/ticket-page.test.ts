/**
 * The ticket pages (issue #14 §5): the link says what it points to (the notice, not "payment
 * n. 68"), a citizen's contact can be recorded and is shown, the helpdesk tab bar is on the ticket
 * pages too, percentages are written the Italian way, the change log names people and actions.
 */
import t from 'tap';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { formatNoticeNumber } from '../../src/modules/positions/numbers.js';
import { sqlGet } from '../../src/db/raw.js';
import { buildTestApp, csrfFrom, loginAs } from '../helpers.js';
import { citizens, createCitizenPosition, fullName } from '../portal/fixtures.js';

const cf = (role: string, istat?: string) => demoUserFiscalCodes().find((u) => u.role === role && (!istat || u.enteIstat === istat))!.fiscalCode;

function multipart(fields: Record<string, string>) {
  const boundary = `----sael${Date.now()}`;
  const body = Object.entries(fields).map(([k, v]) => `--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join('') + `--${boundary}--\r\n`;
  return { payload: Buffer.from(body), headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, accept: 'text/html' } };
}

t.test('ticket linked to a payment, with the citizen’s contact', async (t) => {
  const app = await buildTestApp(t);
  const { lucia } = citizens();
  const position = await createCitizenPosition(app, lucia.fiscalCode, fullName(lucia), { description: 'TARI 2026 – Lucia' });
  const option = position.options[0]!;
  const op = await loginAs(app, cf('operator', '070006'));
  const staff = await loginAs(app, cf('helpdesk'));
  const url = `/helpdesk/ticket/nuovo?collega=payment:${option.id}`;

  const form = await app.inject({ url, headers: { cookie: op, accept: 'text/html' } });
  t.equal(form.statusCode, 200);
  t.match(form.body, `Avviso ${formatNoticeNumber(option.noticeNumber)} – TARI 2026 – Lucia`, 'the new-ticket page names the notice');
  t.notMatch(form.body, /Pagamento n\. \d+/);
  t.match(form.body, /name="citizenContact"/, 'a field for the citizen’s contact');
  t.match(form.body, /aria-label="Sezioni dell’helpdesk"[\s\S]*class="nav-link active" href="\/helpdesk\/ticket" aria-current="page"/, 'tab bar, Ticket active');

  const { token, cookie } = await csrfFrom(app, url, op);
  const send = (contact: string) => {
    const mp = multipart({ _csrf: token, subject: 'Ricevuta non arrivata', category: 'pagopa', type: 'segnalazione_pagamento', priority: 'media', citizenContact: contact, body: 'La contribuente dice di aver pagato ma non ha la ricevuta.' });
    return app.inject({ method: 'POST', url: `/helpdesk/ticket?collega=payment:${option.id}`, headers: { ...mp.headers, cookie, 'x-csrf-token': token }, payload: mp.payload });
  };
  const tooLong = await send('x'.repeat(201));
  t.equal(tooLong.statusCode, 400);
  t.match(tooLong.body, /al massimo 200 caratteri/);
  const created = await send('Lucia Ferrante, 333 000 0000');
  t.equal(created.statusCode, 303, created.body.slice(0, 300));
  const ticketUrl = created.headers.location as string;
  t.equal((await sqlGet<{ c: string }>(app.db, 'SELECT citizen_contact AS c FROM tickets WHERE id = ?', Number(ticketUrl.split('/').pop())))!.c, 'Lucia Ferrante, 333 000 0000');

  for (const who of [op, staff]) {
    const page = await app.inject({ url: ticketUrl, headers: { cookie: who, accept: 'text/html' } });
    t.equal(page.statusCode, 200);
    t.match(page.body, new RegExp(`<a href="/helpdesk/pagamenti/${option.id}">Avviso ${formatNoticeNumber(option.noticeNumber)} – TARI 2026 – Lucia</a>`), 'Collegato a: the notice, linked');
    t.match(page.body, /Contatto del cittadino<\/dt><dd[^>]*>Lucia Ferrante, 333 000 0000</);
    t.match(page.body, /aria-label="Sezioni dell’helpdesk"/, 'tab bar on the ticket page');
  }
  const log = await app.inject({ url: ticketUrl, headers: { cookie: staff, accept: 'text/html' } });
  t.match(log.body, /Ticket aperto \(Giuseppe Verdi\)/, 'the change log names the action and the person in Italian');
  t.notMatch(log.body, /user:\d+|ticket\.create/);
  const list = await app.inject({ url: '/helpdesk/ticket', headers: { cookie: staff, accept: 'text/html' } });
  t.match(list.body, /<td>\d+(,\d)?\u00a0%/, 'SLA percentage in Italian: "0 %"');
});
