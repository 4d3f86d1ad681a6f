/**
 * OPI Giornale di Cassa: the sample of every version (test/fixtures/opi) validates against its XSD
 * and reconciles with the flows of real simulated payments; a two-page journal uploaded page by
 * page is joined into one import; broken pages (XSD, totals, another ente, conflicting data) are
 * refused whole with their reason and leave nothing behind; re-uploads change nothing; the API
 * upload (ente API key) and the helpdesk upload.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { importOpiPage, pendingOpiJournals } from '../../src/modules/helpdesk/opi-import.js';
import { parseOpiPage } from '../../src/modules/helpdesk/opi-journal.js';
import { writeOpiJournal, type OpiOutMovement } from '../../src/modules/helpdesk/opi-writer.js';
import { ReconError, ingestFlowXml } from '../../src/modules/helpdesk/reconcile.js';
import { CAMPOBASSO_CF, sampleBase, sampleFileName, sampleFlowIds, sampleJournal, SAMPLE_DIR, SAMPLE_VERSIONS } from '../fixtures/opi/generate.js';
import { sqlAll, sqlGet } from '../../src/db/raw.js';
import { csrfFrom, loginAs } from '../helpers.js';
import { apiKeyFor, demoEnte } from '../positions/fixtures.js';
import { countRows, flowXml, listeningApp, paidTari, recon } from './helpers.js';

const SYS = { actor: 'test', allowedEnti: 'all' as const };
const HELPDESK = demoUserFiscalCodes().find((u) => u.role === 'helpdesk')!.fiscalCode;

async function refused(p: Promise<unknown>): Promise<ReconError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ReconError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

t.test('OPI Giornale di Cassa', async (t) => {
  const app = await listeningApp(t);
  const r = recon(app);
  const cb = await demoEnte(app, 'Campobasso');
  t.equal(cb.ente.fiscalCode, CAMPOBASSO_CF, 'the samples are for the demo Comune di Campobasso');
  const cf = cb.ente.fiscalCode;
  const flowOf = async (flowId: string, p: Awaited<ReturnType<typeof paidTari>>) => {
    const res = await ingestFlowXml(r, { xml: flowXml({ flowId, cf, rows: [{ iuv: p.options[0]!.iuv, iur: p.receiptId, index: 1, amountCents: 28500 }] }), source: 'upload', ...SYS });
    return (res as { result: { flowRowId: number } }).result.flowRowId;
  };
  const journal = (o: { version?: '1.4' | '1.6.1' | '1.7.1' | '1.8'; code: string; pages?: number; movements: OpiOutMovement[]; wrongInTotalPage1?: number; cf?: string }) =>
    writeOpiJournal({ version: o.version ?? '1.8', enteFiscalCode: o.cf ?? cf, enteName: 'COMUNE DI CAMPOBASSO', esercizio: 2026, date: '2026-03-18', code: o.code, pages: o.pages, movements: o.movements, wrongInTotalPage1: o.wrongInTotalPage1 });

  await t.test('every version’s sample validates and reconciles with the flows', async (t) => {
    for (const v of SAMPLE_VERSIONS) {
      const bytes = fs.readFileSync(path.join(SAMPLE_DIR, sampleFileName(v)));
      t.equal(bytes.toString('utf8'), sampleJournal(v), `${v}: the committed sample is what generate.ts writes`);
      // 1.8 only adds a value to 1.7.1: a 1.7.1 file reads as 1.8 unless its version is stated.
      t.equal(parseOpiPage(bytes).version, v === '1.7.1' ? '1.8' : v, `${v}: version recognised from the file`);
      const [a, b] = sampleFlowIds(v);
      const flowA = await flowOf(a, await paidTari(app));
      const flowB = await flowOf(b, await paidTari(app));
      const res = await importOpiPage(r, { enteId: cb.ente.id, bytes, fileName: sampleFileName(v), actor: 'test', version: v === '1.7.1' ? v : undefined });
      t.match(res, { status: 'imported', version: v, page: 1, totalPages: 1, missingPages: [], result: { status: 'imported', movements: 3, newMovements: 3, matched: 2, parked: 0, errors: 0 } }, `${v}: imported`);
      t.same(
        res.result!.skipped.map((s) => s.line),
        [4, 5],
        `${v}: the REGOLARIZZATO reversale and the MANDATO are not imported`,
      );
      t.match(res.result!.skipped[0]!.reason, /REGOLARIZZATO: regolarizzazione di un sospeso/);
      t.match(res.result!.skipped[1]!.reason, /uscita/);
      const imp = await sqlGet(app.db, 'SELECT format, opi_version AS version, opi_flow_id AS "flowId", pages, movements FROM treasury_imports WHERE id = ?', res.importId);
      t.same(imp, { format: 'opi', version: v, flowId: res.flowId, pages: 1, movements: 3 });
      const rows = await sqlAll(app.db, 'SELECT movement_id AS id, state, match_kind AS kind, flow_row_id AS flow, error_code AS code FROM treasury_movements WHERE import_id = ? ORDER BY id', res.importId);
      const n = sampleBase(v);
      t.same(rows, [
        { id: `OPI-2026-REV-${20 * n + 40}-1`, state: 'matched', kind: 'flow', flow: flowB, code: null },
        { id: `OPI-2026-SOS-${n + 1}-0`, state: 'matched', kind: 'flow', flow: flowA, code: null },
        { id: `OPI-2026-SOS-${n + 2}-0`, state: 'not_pagopa', kind: null, flow: null, code: 'CAUSALE_NON_VALIDA' },
      ], `${v}: credits matched to their flows as the CSV path does`);
      t.equal(await countRows(app, 'treasury_opi_pages WHERE flow_id = ? AND import_id = ?', res.flowId, res.importId), 1, `${v}: the page is kept with its import`);
    }
  });

  await t.test('re-uploads: the same page changes nothing, known movements are ignored, other data is refused', async (t) => {
    const bytes = fs.readFileSync(path.join(SAMPLE_DIR, sampleFileName('1.8')));
    const before = await countRows(app, 'treasury_movements');
    t.match(await importOpiPage(r, { enteId: cb.ente.id, bytes, fileName: 'again.xml', actor: 'test' }), { status: 'unchanged', result: null });
    // Another journal repeating two movements of the 1.8 sample with the same data, plus a new one.
    const [a] = sampleFlowIds('1.8');
    const again = journal({
      code: 'RIPETUTO0001',
      movements: [
        { tipoDocumento: 'SOSPESO ENTRATA', numeroDocumento: 401, amountCents: 28500, date: '2026-03-17', causale: `ACCREDITO BONIFICO SEPA RI1/PUR/LGPE- RIVERSAMENTO/URI/${a}/ZZ2PSP simulato S.p.A.` },
        { tipoDocumento: 'SOSPESO ENTRATA', numeroDocumento: 402, amountCents: 5000, date: '2026-03-17', causale: 'VERSAMENTO CONTANTI ECONOMATO' },
        { tipoDocumento: 'SOSPESO ENTRATA', numeroDocumento: 403, amountCents: 700, date: '2026-03-18', causale: 'DIRITTI DI SEGRETERIA' },
      ],
    })[0]!;
    t.match(await importOpiPage(r, { enteId: cb.ente.id, bytes: Buffer.from(again), fileName: 'ripetuto.xml', actor: 'test' }), { status: 'imported', result: { newMovements: 1, alreadyKnown: 2 } });
    t.equal(await countRows(app, 'treasury_movements'), before + 1);
    // The same movement id with another amount: the whole page is refused, nothing kept.
    const changed = journal({ code: 'CAMBIATO0001', movements: [{ tipoDocumento: 'SOSPESO ENTRATA', numeroDocumento: 402, amountCents: 5100, date: '2026-03-17', causale: 'VERSAMENTO CONTANTI ECONOMATO' }] })[0]!;
    const e = await refused(importOpiPage(r, { enteId: cb.ente.id, bytes: Buffer.from(changed), fileName: 'cambiato.xml', actor: 'test' }));
    t.equal(e.status, 409);
    t.match(e.problems[0]!.message, /OPI-2026-SOS-402-0 è già stato importato con dati diversi/);
    t.equal(await countRows(app, "treasury_opi_pages WHERE flow_id LIKE '%CAMBIATO%'"), 0, 'the page is not kept');
    t.equal(await countRows(app, 'treasury_movements'), before + 1);
    t.equal(await countRows(app, "audit_log WHERE action = 'treasury.opi.refuse' AND after LIKE '%cambiato.xml%'"), 1, 'the refusal is recorded with its reason');
  });

  await t.test('a two-page journal uploaded page by page is joined and imported once', async (t) => {
    const pIuv = await paidTari(app);
    const pFlow = await paidTari(app);
    const flowC = await flowOf('2026-03-17SIMPSP01-OPIPAGES', pFlow);
    const pages = journal({
      version: '1.6.1',
      code: 'DUEPAGINE0001',
      pages: 2,
      movements: [
        { tipoDocumento: 'SOSPESO ENTRATA', numeroDocumento: 501, amountCents: 28500, date: '2026-03-18', causale: `/RFB/${pIuv.options[0]!.iuv}/285.00/TXT/TARI 2026` },
        { tipoMovimento: 'USCITA', tipoDocumento: 'MANDATO', numeroDocumento: 77, amountCents: 1500, date: '2026-03-18', causale: 'RIMBORSO' },
        { tipoDocumento: 'REVERSALE', numeroDocumento: 3001, tipoEsecuzione: 'ACCREDITO TESORERIA PROVINCIALE STATO PER TAB A', amountCents: 28500, date: '2026-03-18', causale: '/PUR/LGPE-RIVERSAMENTO/URI/2026-03-17SIMPSP01-OPIPAGES' },
      ],
    });
    t.equal(pages.length, 2);
    const imports = await countRows(app, 'treasury_imports');
    const second = await importOpiPage(r, { enteId: cb.ente.id, bytes: Buffer.from(pages[1]!), fileName: 'p2.xml', actor: 'test' });
    t.match(second, { status: 'waiting', page: 2, totalPages: 2, pagesReceived: [2], missingPages: [1], result: null });
    t.equal(await countRows(app, 'treasury_imports'), imports, 'nothing imported while a page is missing');
    t.match(await pendingOpiJournals(r, 'all'), [{ flowId: second.flowId, totalPages: 2, pagesReceived: [2] }]);
    t.same(await pendingOpiJournals(r, [(await demoEnte(app, 'Termoli')).ente.id]), [], 'scoped to the caller’s enti');
    t.match(await importOpiPage(r, { enteId: cb.ente.id, bytes: Buffer.from(pages[1]!), fileName: 'p2.xml', actor: 'test' }), { status: 'unchanged', missingPages: [1] });
    const first = await importOpiPage(r, { enteId: cb.ente.id, bytes: Buffer.from(pages[0]!), fileName: 'p1.xml', actor: 'test' });
    t.match(first, { status: 'imported', version: '1.6.1', pagesReceived: [1, 2], result: { status: 'imported', movements: 2, newMovements: 2, matched: 2 } });
    t.same(first.result!.skipped, [{ line: 2, reason: 'Pagina 1: Movimento in uscita (mandato n. 77/1): non è un incasso' }]);
    t.equal(await countRows(app, 'treasury_imports'), imports + 1, 'one import for the whole journal');
    t.equal(await countRows(app, "treasury_imports WHERE id = ? AND pages = 2 AND opi_version = '1.6.1'", first.importId), 1, 'page 1 reads as 1.8, page 2 needs 1.6.1: the journal is 1.6.1');
    t.equal(await countRows(app, 'treasury_opi_pages WHERE flow_id = ? AND import_id = ?', first.flowId, first.importId), 2, 'both pages joined into it');
    const receiptRow = (await sqlGet<{ id: number }>(app.db, 'SELECT id FROM receipts WHERE iuv = ? AND ente_id = ?', pIuv.options[0]!.iuv, cb.ente.id))!.id;
    t.equal(await countRows(app, "treasury_movements WHERE movement_id = 'OPI-2026-SOS-501-0' AND state = 'matched' AND match_kind = 'receipt' AND receipt_row_id = ?", receiptRow), 1, 'single credit matched to its receipt by IUV');
    t.equal(await countRows(app, "treasury_movements WHERE movement_id = 'OPI-2026-REV-3001-1' AND state = 'matched' AND flow_row_id = ?", flowC), 1, 'cumulative credit matched to its flow');
    t.same(await pendingOpiJournals(r, 'all'), [], 'no journal waiting');
    t.match(await importOpiPage(r, { enteId: cb.ente.id, bytes: Buffer.from(pages[0]!), fileName: 'p1.xml', actor: 'test' }), { status: 'unchanged', importId: first.importId });
  });

  await t.test('broken pages are refused whole with their reason', async (t) => {
    const mv: OpiOutMovement[] = [
      { tipoDocumento: 'SOSPESO ENTRATA', numeroDocumento: 901, amountCents: 1000, date: '2026-03-18', causale: 'A' },
      { tipoDocumento: 'SOSPESO ENTRATA', numeroDocumento: 902, amountCents: 2000, date: '2026-03-18', causale: 'B' },
    ];
    const pages = journal({ code: 'ROTTO00000001', pages: 2, movements: mv });
    const state = async () => [await countRows(app, 'treasury_opi_pages'), await countRows(app, 'treasury_movements'), await countRows(app, 'treasury_imports')];
    const before = await state();
    // XSD: an amount that is not a decimal.
    const xsd = await refused(importOpiPage(r, { enteId: cb.ente.id, bytes: Buffer.from(pages[0]!.replace('<importo>10.00</importo>', '<importo>10,00</importo>')), fileName: 'rotto.xml', actor: 'test' }));
    t.equal(xsd.status, 422);
    t.match(xsd.message, /non è conforme allo schema XSD OPI .*rifiutato per intero/);
    t.match(xsd.problems[0], { field: 'XSD', message: /importo/ });
    // Declared total of the account different from its movements.
    const totals = journal({ code: 'TOTALI0000001', movements: mv, wrongInTotalPage1: 3100 })[0]!;
    const tot = await refused(importOpiPage(r, { enteId: cb.ente.id, bytes: Buffer.from(totals), fileName: 'totali.xml', actor: 'test' }));
    t.equal(tot.status, 422);
    t.match(tot.problems, [{ field: 'totale_entrate_conto_evidenza', message: /totale entrate dichiarato 31,00 €, somma dei movimenti in entrata 30,00 €/ }]);
    // Another ente's journal.
    const other = journal({ code: 'ALTROENTE0001', movements: mv, cf: (await demoEnte(app, 'Termoli')).ente.fiscalCode })[0]!;
    t.match((await refused(importOpiPage(r, { enteId: cb.ente.id, bytes: Buffer.from(other), fileName: 'altro.xml', actor: 'test' }))).message, /non di Comune di Campobasso/);
    // Not a Giornale di Cassa at all.
    t.match((await refused(importOpiPage(r, { enteId: cb.ente.id, bytes: Buffer.from('<Document/>'), fileName: 'x.xml', actor: 'test' }))).message, /Non è un Giornale di Cassa OPI/);
    // A page whose page count disagrees with the pages already received.
    await importOpiPage(r, { enteId: cb.ente.id, bytes: Buffer.from(pages[0]!), fileName: 'p1.xml', actor: 'test' });
    const three = journal({ code: 'ROTTO00000001', pages: 3, movements: [...mv, { ...mv[0]!, numeroDocumento: 903 }] });
    const conflict = await refused(importOpiPage(r, { enteId: cb.ente.id, bytes: Buffer.from(three[1]!), fileName: 'p2.xml', actor: 'test' }));
    t.equal(conflict.status, 409);
    t.match(conflict.message, /dichiara 3 pagine totali.*ne dichiarano 2/);
    t.same(await state(), [before[0]! + 1, before[1], before[2]], 'only the good page is kept; no movement, no import');
    t.equal(await countRows(app, "audit_log WHERE action = 'treasury.opi.refuse'"), 6, 'every refusal recorded');
  });

  await t.test('API upload with the ente’s API key', async (t) => {
    const url = '/api/v1/tesoreria/giornale-di-cassa';
    const page = journal({ code: 'APIUPLOAD0001', movements: [{ tipoDocumento: 'SOSPESO ENTRATA', numeroDocumento: 7001, amountCents: 4200, date: '2026-03-18', causale: 'CANONE' }, { tipoMovimento: 'USCITA', tipoDocumento: 'MANDATO', numeroDocumento: 9, amountCents: 100, date: '2026-03-18', causale: 'X' }] })[0]!;
    const xmlHeaders = { 'content-type': 'application/xml' };
    t.equal((await app.inject({ method: 'POST', url, headers: xmlHeaders, payload: page })).statusCode, 401, 'no key');
    t.equal((await app.inject({ method: 'POST', url, headers: { ...xmlHeaders, authorization: 'Bearer nope' }, payload: page })).statusCode, 401, 'bad key');
    const key = { authorization: `Bearer ${await apiKeyFor(app, cb.ente.id)}` };
    t.equal((await app.inject({ method: 'POST', url, headers: { ...key, 'content-type': 'text/plain' }, payload: page })).statusCode, 415);
    t.equal((await app.inject({ method: 'POST', url: `${url}?versione=2.0`, headers: { ...key, ...xmlHeaders }, payload: page })).statusCode, 400, 'schema on the query');
    const ok = await app.inject({ method: 'POST', url: `${url}?fileName=gdc.xml`, headers: { ...key, ...xmlHeaders }, payload: page });
    t.equal(ok.statusCode, 200);
    t.match(ok.json(), { esito: 'importato', versione: '1.8', pagina: 1, pagineTotali: 1, importazione: { movimenti: 1, nuovi: 1, inSospeso: 0, conErrore: 0 }, nonImportati: [{ movimento: 2, motivo: /uscita/ }] });
    t.match((await app.inject({ method: 'POST', url, headers: { ...key, ...xmlHeaders }, payload: page })).json(), { esito: 'pagina_gia_ricevuta' });
    // As 1.4 it is not valid: the stated version is the one checked.
    const as14 = await app.inject({ method: 'POST', url: `${url}?versione=1.4`, headers: { ...key, ...xmlHeaders }, payload: page.replace('APIUPLOAD0001', 'APIUPLOAD0002') });
    t.equal(as14.statusCode, 422);
    t.match(as14.json(), { status: 422, detail: /versione 1\.4/, errors: [{ field: /XSD/ }] });
    // A journal of another ente with this key.
    const tm = (await demoEnte(app, 'Termoli')).ente.fiscalCode;
    const foreign = await app.inject({ method: 'POST', url, headers: { ...key, ...xmlHeaders }, payload: journal({ code: 'APIFOREIGN001', movements: [{ numeroDocumento: 1, amountCents: 100, date: '2026-03-18', causale: 'X' }], cf: tm })[0]! });
    t.equal(foreign.statusCode, 422);
    t.match(foreign.json().detail, /codice fiscale/);
  });

  await t.test('helpdesk upload page', async (t) => {
    const cookie = await loginAs(app, HELPDESK);
    const { token, cookie: c } = await csrfFrom(app, '/helpdesk/tesoreria', cookie);
    const pages = journal({ code: 'HELPDESKUP001', pages: 2, movements: [{ numeroDocumento: 8001, amountCents: 300, date: '2026-03-18', causale: 'X' }, { numeroDocumento: 8002, amountCents: 400, date: '2026-03-18', causale: 'Y' }] });
    const post = (url: string, xml: string) => {
      const boundary = '----opitest';
      const payload = Buffer.concat([
        Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="_csrf"\r\n\r\n${token}\r\n--${boundary}\r\ncontent-disposition: form-data; name="ente"\r\n\r\n${cb.ente.id}\r\n`),
        Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="pagina.xml"\r\ncontent-type: application/xml\r\n\r\n${xml}\r\n--${boundary}--\r\n`),
      ]);
      return app.inject({ method: 'POST', url, headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, accept: 'text/html', cookie: c }, payload });
    };
    const p1 = await post('/helpdesk/tesoreria/opi', pages[0]!);
    t.equal(p1.statusCode, 200);
    t.match(p1.body, /Pagina 1 di 2 del giornale di cassa OPI 1\.8 GDC-20260318HELPDESKUP001#001#001 ricevuta e valida: mancano le pagine 2/);
    const pending = /<th scope="row" class="text-break">GDC-20260318HELPDESKUP001#001#001<\/th><td>Comune di Campobasso<\/td><td>1\.8<\/td><td>1 di 2<\/td>/;
    t.match(p1.body, pending, 'listed among the journals waiting for pages');
    // The statement form recognises an OPI page too.
    const p2 = await post('/helpdesk/tesoreria', pages[1]!);
    t.equal(p2.statusCode, 200);
    t.match(p2.body, /Importato il giornale di cassa OPI 1\.8 GDC-20260318HELPDESKUP001#001#001 \(2 pagine\): 2 movimenti nuovi/);
    t.notMatch(p2.body, pending);
    const bad = await post('/helpdesk/tesoreria/opi', pages[0]!.replace('HELPDESKUP001', 'HELPDESKUP002').replace('<esercizio>2026</esercizio>', '<esercizio>20X6</esercizio>'));
    t.equal(bad.statusCode, 422);
    t.match(bad.body, /non è conforme allo schema XSD OPI/);
    t.match(bad.body, /esercizio/);
    const sim = await app.inject({ method: 'GET', url: `/helpdesk/tesoreria/simulatore/${cb.ente.id}?formato=opi&versione=1.6.1`, headers: { cookie } });
    t.equal(sim.statusCode, 200);
    t.equal(parseOpiPage(sim.rawPayload, '1.6.1').version, '1.6.1', 'the simulated treasurer writes a journal valid in the version asked');
  });
});
