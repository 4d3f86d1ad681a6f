/**
 * Helpdesk pages end to end: the demo path (pay through the simulator, acquire flows, import the
 * simulated treasury statement, everything reconciled, one injected anomaly worked through a linked
 * ticket), ente isolation for operators, ticket workflow over HTTP, CSV export, dashboard SVG.
 */
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { sqlGet } from '../../src/db/raw.js';
import { csrfFrom, FORM_HEADERS, form, loginAs } from '../helpers.js';
import { demoEnte } from '../positions/fixtures.js';
import { countRows, flowXml, listeningApp, paidTari } from './helpers.js';

const users = demoUserFiscalCodes();
const HELPDESK = users.find((u) => u.role === 'helpdesk')!.fiscalCode;
const OP_CB = users.find((u) => u.role === 'operator' && u.enteIstat === '070006')!.fiscalCode;
const OP_TE = users.find((u) => u.role === 'operator' && u.enteIstat === '070078')!.fiscalCode;

function multipart(fields: Record<string, string>, file?: { name: string; filename: string; type: string; data: Buffer }) {
  const boundary = `----sael${Date.now()}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  if (file) {
    parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${file.name}"; filename="${file.filename}"\r\ncontent-type: ${file.type}\r\n\r\n`), file.data, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, accept: 'text/html' } };
}

async function get(app: FastifyInstance, url: string, cookie: string) {
  return app.inject({ method: 'GET', url, headers: { accept: 'text/html', cookie } });
}

t.test('demo path, isolation and tickets', async (t) => {
  const app = await listeningApp(t);
  const cb = await demoEnte(app, 'Campobasso');
  const te = await demoEnte(app, 'Termoli');
  const pCb = await paidTari(app);
  const pTe = await paidTari(app, 'Termoli');
  const staff = await loginAs(app, HELPDESK);
  const opCb = await loginAs(app, OP_CB);
  const opTe = await loginAs(app, OP_TE);

  await t.test('helpdesk acquires simulated flows and the treasury statement: all reconciled', async (t) => {
    const { token, cookie } = await csrfFrom(app, '/helpdesk/flussi', staff);
    const acq = await app.inject({ method: 'POST', url: '/helpdesk/flussi/simulatore', headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token }) });
    t.equal(acq.statusCode, 303);
    t.match((await get(app, '/helpdesk/flussi', cookie)).body, /Acquisiti \d+ flussi/);
    for (const e of [cb, te, await demoEnte(app, 'Provincia di Campobasso')]) {
      const csv = await get(app, `/helpdesk/tesoreria/simulatore/${e.ente.id}?formato=csv`, cookie);
      t.equal(csv.statusCode, 200);
      const up = multipart({ _csrf: token, ente: String(e.ente.id) }, { name: 'file', filename: 'giornale.csv', type: 'text/csv', data: Buffer.from(csv.body) });
      const res = await app.inject({ method: 'POST', url: '/helpdesk/tesoreria', headers: { ...up.headers, cookie }, payload: up.payload });
      t.equal(res.statusCode, 303, 'Post/Redirect/Get');
      t.equal(res.headers.location, '/helpdesk/tesoreria');
      t.match((await get(app, '/helpdesk/tesoreria', cookie)).body, /Importati 1 movimenti nuovi \(0 già presenti\): 1 abbinati/);
      t.notMatch((await get(app, '/helpdesk/tesoreria', cookie)).body, /Importati 1 movimenti/, 'the notice is shown once');
    }
    t.equal(await countRows(app, "treasury_movements WHERE state <> 'matched'"), 0, 'every credit matched');
    const dash = await get(app, '/helpdesk', cookie);
    t.match(dash.body, /100\u00a0%/, 'reconciliation rate 100 % (Italian: space before the sign)');
    const search = await get(app, `/helpdesk/pagamenti?q=${pCb.options[0]!.noticeNumber}`, cookie);
    t.match(search.body, /Riconciliato/);
    const optionId = (await sqlGet<{ id: number }>(app.db, 'SELECT id FROM payment_options WHERE notice_number = ?', pCb.options[0]!.noticeNumber))!.id;
    const tl = await get(app, `/helpdesk/pagamenti/${optionId}`, cookie);
    for (const step of ['Posizione debitoria creata', 'Nodo pagoPA: paVerifyPaymentNotice', 'Nodo pagoPA: paGetPaymentV2', 'Ricevuta', 'Riga nel flusso di rendicontazione', 'Accredito del tesoriere', 'Riconciliato']) t.match(tl.body, step, step);
    const svg = await get(app, '/helpdesk/grafico.svg', cookie);
    t.equal(svg.headers['content-type'], 'image/svg+xml; charset=utf-8');
    t.match(svg.body, /<svg[^>]+role="img"/);
    const csvExport = await get(app, '/helpdesk/pagamenti?format=csv', cookie);
    t.match(csvExport.body, /codice_avviso/);
    t.match(csvExport.body, pTe.options[0]!.noticeNumber, 'staff see every ente');
  });

  await t.test('an injected anomaly, worked through a linked ticket', async (t) => {
    const { token, cookie } = await csrfFrom(app, '/helpdesk/flussi', staff);
    const bad = flowXml({ flowId: '2026-03-20SIMPSP01-0000000099', cf: cb.ente.fiscalCode, rows: [{ iuv: '01000000000777777', iur: 'IUR-IGNOTO', amountCents: 5000 }] });
    const up = multipart({ _csrf: token }, { name: 'file', filename: 'flusso.xml', type: 'application/xml', data: Buffer.from(bad) });
    const res = await app.inject({ method: 'POST', url: '/helpdesk/flussi', headers: { ...up.headers, cookie }, payload: up.payload });
    t.equal(res.statusCode, 303);
    const again = await app.inject({ method: 'POST', url: '/helpdesk/flussi', headers: { ...up.headers, cookie }, payload: up.payload });
    t.equal(again.statusCode, 303);
    t.match((await get(app, '/helpdesk/flussi', cookie)).body, /già stato acquisito: nulla è cambiato/);
    const broken = multipart({ _csrf: token }, { name: 'file', filename: 'rotto.xml', type: 'application/xml', data: Buffer.from(bad.replace('<pay_i:dataRegolamento>', '<pay_i:dataRegolamentoX>')) });
    const r2 = await app.inject({ method: 'POST', url: '/helpdesk/flussi', headers: { ...broken.headers, cookie }, payload: broken.payload });
    t.equal(r2.statusCode, 422, 'XSD failure: precise report');
    t.match(r2.body, /non è conforme allo schema/);
    const anomaly = (await sqlGet<{ id: number }>(app.db, "SELECT id FROM anomalies WHERE type = 'fdr_row_without_receipt' ORDER BY id LIMIT 1"))!;
    const list = await get(app, '/helpdesk/anomalie', opCb);
    t.match(list.body, /Riga di rendicontazione senza ricevuta/, 'Campobasso operator sees its anomaly');

    // The operator opens a ticket about it, with an attachment.
    const page = await csrfFrom(app, `/helpdesk/ticket/nuovo?collega=anomaly:${anomaly.id}`, opCb);
    const tk = multipart({ _csrf: page.token, subject: 'Riga senza ricevuta nel flusso', category: 'riconciliazione', type: 'segnalazione_pagamento', priority: 'alta', body: 'Nel flusso del 20/03 c’è una riga che non riconosciamo.' }, { name: 'file', filename: 'estratto.pdf', type: 'application/pdf', data: Buffer.from('%PDF-1.4 prova') });
    const created = await app.inject({ method: 'POST', url: `/helpdesk/ticket?collega=anomaly:${anomaly.id}`, headers: { ...tk.headers, cookie: page.cookie }, payload: tk.payload });
    t.equal(created.statusCode, 303, created.body.slice(0, 300));
    const ticketUrl = created.headers.location as string;
    const ticketId = Number(ticketUrl.split('/').pop());
    t.equal(await countRows(app, "tickets WHERE id = ? AND link_kind = 'anomaly' AND link_id = ? AND ente_id = ?", ticketId, anomaly.id, cb.ente.id), 1);
    t.equal(await countRows(app, "ticket_attachments WHERE ticket_id = ? AND sha256 = '0b9c1d0c5d4d7ccca2c7b04f5e4bf1d4d1d65bd7a35b3e1bdb2e8e1b32bd4aa9' OR ticket_id = ?", ticketId, ticketId), 1);
    t.ok(await countRows(app, "mail_outbox WHERE status = 'mailbox'") >= 1, 'notification in the demo mailbox');

    // Staff: internal note (invisible to the ente), take in charge, wait for the ente.
    const sp = await csrfFrom(app, ticketUrl, staff);
    const note = multipart({ _csrf: sp.token, body: 'Verificare con il PSP', internal: 'on' });
    await app.inject({ method: 'POST', url: `${ticketUrl}/messaggi`, headers: { ...note.headers, cookie: sp.cookie }, payload: note.payload });
    for (const action of ['start', 'wait']) {
      const r = await app.inject({ method: 'POST', url: `${ticketUrl}/stato`, headers: { ...FORM_HEADERS, cookie: sp.cookie }, payload: form({ _csrf: sp.token, action }) });
      t.equal(r.statusCode, 303, action);
    }
    const seen = await get(app, ticketUrl, opCb);
    t.notMatch(seen.body, /Verificare con il PSP/, 'internal note hidden from the ente');
    t.match(seen.body, /in pausa: in attesa dell’ente/);
    const op = await csrfFrom(app, ticketUrl, opCb);
    const answer = multipart({ _csrf: op.token, body: 'Ecco la ricevuta del PSP.' });
    await app.inject({ method: 'POST', url: `${ticketUrl}/messaggi`, headers: { ...answer.headers, cookie: op.cookie }, payload: answer.payload });
    t.equal(await countRows(app, "tickets WHERE id = ? AND status = 'in_progress' AND clock_from IS NOT NULL", ticketId), 1, 'the ente reply resumes the ticket');
    const forbidden = await app.inject({ method: 'POST', url: `${ticketUrl}/stato`, headers: { ...FORM_HEADERS, cookie: op.cookie }, payload: form({ _csrf: op.token, action: 'resolve' }) });
    t.equal(forbidden.statusCode, 409, 'operators cannot resolve');
    await app.inject({ method: 'POST', url: `${ticketUrl}/stato`, headers: { ...FORM_HEADERS, cookie: sp.cookie }, payload: form({ _csrf: sp.token, action: 'resolve', note: 'Riga stornata dal PSP' }) });
    const an = await app.inject({ method: 'POST', url: `/helpdesk/anomalie/${anomaly.id}`, headers: { ...FORM_HEADERS, cookie: sp.cookie }, payload: form({ _csrf: sp.token, status: 'resolved', note: 'Chiarito col PSP (ticket)' }) });
    t.equal(an.statusCode, 303);
    t.equal(await countRows(app, "anomalies WHERE id = ? AND status = 'resolved'", anomaly.id), 1);
    const opAn = await app.inject({ method: 'POST', url: `/helpdesk/anomalie/${anomaly.id}`, headers: { ...FORM_HEADERS, cookie: op.cookie }, payload: form({ _csrf: op.token, status: 'open' }) });
    t.equal(opAn.statusCode, 403, 'operators cannot change anomalies');
    await app.inject({ method: 'POST', url: `${ticketUrl}/stato`, headers: { ...FORM_HEADERS, cookie: op.cookie }, payload: form({ _csrf: op.token, action: 'close' }) });
    t.equal(await countRows(app, "tickets WHERE id = ? AND status = 'closed'", ticketId), 1);
    t.ok(await countRows(app, "audit_log WHERE entity = 'ticket' AND entity_id = ?", String(ticketId)) >= 6, 'every step audited');
    const att = (await sqlGet<{ id: number }>(app.db, 'SELECT id FROM ticket_attachments WHERE ticket_id = ? ORDER BY id LIMIT 1', ticketId))!;
    const dl = await get(app, `${ticketUrl}/allegati/${att.id}`, opCb);
    t.equal(dl.body, '%PDF-1.4 prova');
    t.equal(dl.headers['content-type'], 'application/octet-stream');

    // Isolation: Termoli's operator sees none of Campobasso's payments, flows, anomalies or tickets.
    t.equal((await get(app, ticketUrl, opTe)).statusCode, 404);
    t.equal((await get(app, `${ticketUrl}/allegati/${att.id}`, opTe)).statusCode, 404);
    t.equal((await get(app, `/helpdesk/anomalie/${anomaly.id}`, opTe)).statusCode, 404);
    const flowRow = (await sqlGet<{ id: number }>(app.db, 'SELECT id FROM fdr_flows WHERE ente_id = ? ORDER BY id LIMIT 1', cb.ente.id))!;
    t.equal((await get(app, `/helpdesk/flussi/${flowRow.id}`, opTe)).statusCode, 404);
    const cbOption = (await sqlGet<{ id: number }>(app.db, 'SELECT id FROM payment_options WHERE notice_number = ?', pCb.options[0]!.noticeNumber))!.id;
    t.equal((await get(app, `/helpdesk/pagamenti/${cbOption}`, opTe)).statusCode, 404);
    for (const url of ['/helpdesk/pagamenti?format=csv', '/helpdesk/pagamenti', '/helpdesk/flussi', '/helpdesk/anomalie?stato=', '/helpdesk/ticket?stato=closed', '/helpdesk/tesoreria', '/helpdesk/anomalie/invecchiamento']) {
      const body = (await get(app, url, opTe)).body;
      t.notMatch(body, /Comune di Campobasso/, `${url}: no Campobasso rows`);
    }
    t.match((await get(app, '/helpdesk/pagamenti?format=csv', opTe)).body, pTe.options[0]!.noticeNumber, 'but its own');
    t.equal((await get(app, `/helpdesk/ticket/nuovo?collega=anomaly:${anomaly.id}`, opTe)).statusCode, 404, 'cannot link to another ente’s anomaly');
    t.equal((await get(app, `/helpdesk/tesoreria/simulatore/${cb.ente.id}`, opTe)).statusCode, 404);
    t.equal((await get(app, '/helpdesk/posta', opTe)).statusCode, 403);
    t.equal((await get(app, '/helpdesk', '')).statusCode, 401);
  });
});
