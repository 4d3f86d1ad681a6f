import t from 'tap';
import { sqlGet } from '../../src/db/raw.js';
import { buildTestApp, csrfFrom, loginAs } from '../helpers.js';
import { apiKeyFor, demoEnte } from './fixtures.js';
import { countRows } from '../pagopa/helpers.js';
import { dueIn, fiscalCodeFor, IMPORT_HEADER, positionsCsv } from './csv-fixtures.js';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { runImport } from '../../src/modules/positions/import-job.js';


t.test('CSV import through the API', async (t) => {
  const app = await buildTestApp(t);
  const { ente } = await demoEnte(app, 'Campobasso');
  const auth = { authorization: `Bearer ${await apiKeyFor(app, ente.id)}` };
  const csv = positionsCsv(30, { bad: { 3: 'sum', 10: 'cf', 20: 'date' } });
  const post = (body: string, query = 'mode=valid&serviceCode=MENSA') =>
    app.inject({ method: 'POST', url: `/api/v1/imports?${query}`, headers: { ...auth, 'content-type': 'text/csv' }, payload: body });

  await t.test('valid rows imported, every bad row reported with row and column', async (t) => {
    const res = await post(csv);
    t.equal(res.statusCode, 202);
    const job = res.json();
    t.match(job, { status: 'queued', fileName: 'import.csv' });
    t.equal(res.headers.location, `/api/v1/imports/${job.id}`);
    await app.jobs.drain();
    const status = (await app.inject({ url: `/api/v1/imports/${job.id}`, headers: auth })).json();
    t.match(status, { status: 'done', percent: 100, result: { outcome: 'imported', rowCount: 30, validRows: 27, created: 27, unchanged: 0, errorCount: 3 } });
    t.same(
      status.result.errors.map((e: { row: number; field: string }) => [e.row, e.field]),
      [[5, 'trasferimenti'], [12, 'cf_debitore'], [22, 'scadenza']],
      'header is row 1, so data row i is file row i + 2',
    );
    t.equal((await countRows(app, 'positions')), 27);
    t.equal(
      (await sqlGet<{ n: number }>(app.db, {
        sqlite: "SELECT count(*) AS n FROM audit_log a JOIN positions p ON a.entity = 'position' AND a.action = 'create' AND a.entity_id = CAST(p.id AS TEXT) AND json_extract(a.after, '$.iupd') = p.iupd",
        postgres: "SELECT count(*) AS n FROM audit_log a JOIN positions p ON a.entity = 'position' AND a.action = 'create' AND a.entity_id = CAST(p.id AS TEXT) AND (a.after::json ->> 'iupd') = p.iupd",
      }))!.n,
      27,
      'one audit row per imported position, naming it (the back office history of each position)',
    );
    t.equal((await countRows(app, 'aca_outbox')), 27, 'one central-archive row per option');
    const report = await app.inject({ url: `/api/v1/imports/${job.id}/errors.csv`, headers: auth });
    t.equal(report.statusCode, 200);
    const lines = report.body.replace(/^\uFEFF/, '').trim().split(/\r?\n/);
    t.equal(lines.length, 4);
    t.match(lines[0], /^riga;iupd;colonna;errore/);
    t.match(lines[1], /^5;IMP-3;/);
  });

  await t.test('rerunning the same file creates nothing twice', async (t) => {
    const res = await post(csv);
    await app.jobs.drain();
    const status = (await app.inject({ url: `/api/v1/imports/${res.json().id}`, headers: auth })).json();
    t.match(status.result, { created: 0, unchanged: 27 });
    t.equal((await countRows(app, 'positions')), 27);
  });

  await t.test('all or nothing', async (t) => {
    const res = await post(positionsCsv(10, { prefix: 'AON', bad: { 7: 'cf' } }), 'mode=all&serviceCode=MENSA');
    await app.jobs.drain();
    const status = (await app.inject({ url: `/api/v1/imports/${res.json().id}`, headers: auth })).json();
    t.match(status.result, { outcome: 'rejected', created: 0, errorCount: 1 });
    t.equal((await countRows(app, "positions WHERE iupd LIKE 'AON-%'")), 0);
  });

  await t.test('refused before any work: wrong header, no data rows, empty, unknown service', async (t) => {
    const wrong = await post('nome;cognome\r\nMario;Rossi\r\n');
    await app.jobs.drain();
    t.match((await app.inject({ url: `/api/v1/imports/${wrong.json().id}`, headers: auth })).json().result, { outcome: 'refused', created: 0 });
    const headerOnly = await post(positionsCsv(0));
    await app.jobs.drain();
    const ho = (await app.inject({ url: `/api/v1/imports/${headerOnly.json().id}`, headers: auth })).json();
    t.match(ho.result, { outcome: 'refused', errors: [{ message: /non contiene righe/ }] });
    t.equal((await post('')).statusCode, 400);
    t.equal((await post(csv, 'mode=valid&serviceCode=NOPE')).statusCode, 400);
    t.equal((await post(csv, 'mode=maybe')).statusCode, 400);
    const wrongType = await app.inject({ method: 'POST', url: '/api/v1/imports', headers: { ...auth, 'content-type': 'application/json' }, payload: '{}' });
    t.equal(wrongType.statusCode, 415);
    const noService = await post(positionsCsv(2, { prefix: 'NOSVC' }), 'mode=valid');
    await app.jobs.drain();
    t.match((await app.inject({ url: `/api/v1/imports/${noService.json().id}`, headers: auth })).json().result, { created: 0, errorCount: 2 });
  });

  await t.test('the report counts rows, not errors: several errors on one row, a position dropped with its good rows', async (t) => {
    const due = dueIn(40);
    const rows = [
      IMPORT_HEADER.join(';'),
      ['ROWS-1', 'F', fiscalCodeFor(1), 'Uno', 'Mensa', '', '25,50', due, '25,50', 'Mensa', '9/0201133IM/'].join(';'),
      ['ROWS-2', 'F', fiscalCodeFor(2), 'Due', 'Mensa', '1', '20,00', due, '20,00', 'Mensa', '9/0201133IM/'].join(';'),
      ['ROWS-2', 'F', fiscalCodeFor(2), 'Due', 'Mensa', '2', '20,00', dueIn(70), '10,00', 'Mensa', '9/0201133IM/'].join(';'),
      ['ROWS-3', 'F', 'RSSMRA80A01B519X', 'Tre', 'Mensa', '', '25,50', '31/02/2027', '25,50', 'Mensa', '9/0201133IM/'].join(';'),
    ].join('\r\n');
    const res = await post(rows);
    await app.jobs.drain();
    const status = (await app.inject({ url: `/api/v1/imports/${res.json().id}`, headers: auth })).json();
    t.match(status.result, { outcome: 'imported', rowCount: 4, created: 1, errorCount: 3, errorRows: 2, rowsNotImported: 3 });
    t.equal(status.result.message, 'Importate le posizioni valide; 3 righe non importate (errori in 2 righe).');
    const cookie = await loginAs(app, demoUserFiscalCodes().find((u) => u.role === 'operator' && u.enteIstat === '070006')!.fiscalCode);
    const page = await app.inject({ url: `/backoffice/enti/${ente.id}/importazioni/${res.json().id}`, headers: { accept: 'text/html', cookie } });
    t.match(page.body, /Righe con errori: 2 \(3 errori in tutto\)/);
    t.match(page.body, /Righe non importate: 3/);
  });

  await t.test('another ente cannot read the job', async (t) => {
    const { ente: termoli } = await demoEnte(app, 'Termoli');
    const other = { authorization: `Bearer ${await apiKeyFor(app, termoli.id)}` };
    t.equal((await app.inject({ url: '/api/v1/imports/1', headers: other })).statusCode, 404);
  });
});

t.test('a crash mid-import leaves whole positions only, and the rerun completes without duplicates', async (t) => {
  const app = await buildTestApp(t);
  const { ente } = await demoEnte(app, 'Campobasso');
  const auth = { authorization: `Bearer ${await apiKeyFor(app, ente.id)}` };
  const res = await app.inject({ method: 'POST', url: '/api/v1/imports?serviceCode=MENSA', headers: { ...auth, 'content-type': 'text/csv' }, payload: positionsCsv(450, { prefix: 'CRASH' }) });
  const job = (await app.jobs.claimNext())!;
  t.equal(job.id, res.json().id);
  const input = JSON.parse(job.input);
  await t.rejects(
    runImport(app.db, app.config.dataDir, {
      job,
      input,
      progress: (done, total) => {
        if (total && done >= 200) throw new Error('simulated crash after the first batch');
      },
    }, { batchSize: 200 }),
  );
  const afterCrash = (await countRows(app, "positions WHERE iupd LIKE 'CRASH-%'"));
  t.equal(afterCrash, 200, 'the first batch committed whole');
  t.equal((await countRows(app, 'payment_options')), afterCrash, 'no position without its option');
  const result = (await runImport(app.db, app.config.dataDir, { job, input, progress: () => {} }, { batchSize: 200 })) as { created: number; unchanged: number };
  t.match(result, { created: 250, unchanged: 200 });
  t.equal((await countRows(app, "positions WHERE iupd LIKE 'CRASH-%'")), 450);
});

t.test('CSV import pages', async (t) => {
  const app = await buildTestApp(t);
  const { ente } = await demoEnte(app, 'Campobasso');
  const op = await loginAs(app, demoUserFiscalCodes().find((u) => u.role === 'operator')!.fiscalCode);
  const page = await app.inject({ url: `/backoffice/enti/${ente.id}/importazioni`, headers: { accept: 'text/html', cookie: op } });
  t.equal(page.statusCode, 200);
  const { token, cookie } = await csrfFrom(app, `/backoffice/enti/${ente.id}/importazioni`, op);
  t.match(page.body, /<form method="post" action="\/backoffice\/enti\/\d+\/importazioni" enctype="multipart\/form-data"[^>]*><input type="hidden" name="_csrf"/, 'the upload form carries the CSRF token as its first field, not in the URL');
  const boundary = '----sael-test-boundary';
  const multipart = (fields: Record<string, string>, file: string) =>
    [
      ...Object.entries(fields).map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`),
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="mensa.csv"\r\nContent-Type: text/csv\r\n\r\n${file}\r\n`,
      `--${boundary}--\r\n`,
    ].join('');
  const headers = { cookie, accept: 'text/html', 'content-type': `multipart/form-data; boundary=${boundary}` };
  const body = multipart({ _csrf: token, serviceCode: 'MENSA', mode: 'valid' }, positionsCsv(12, { bad: { 2: 'cf' } }));

  const noToken = await app.inject({ method: 'POST', url: `/backoffice/enti/${ente.id}/importazioni`, headers, payload: multipart({ serviceCode: 'MENSA', mode: 'valid' }, positionsCsv(12)) });
  t.equal(noToken.statusCode, 403, 'CSRF refused');
  t.equal((await countRows(app, 'jobs')), 0);

  const res = await app.inject({ method: 'POST', url: `/backoffice/enti/${ente.id}/importazioni`, headers, payload: body });
  t.equal(res.statusCode, 303, res.body.slice(0, 500));
  const statusUrl = res.headers.location as string;
  const queued = await app.inject({ url: statusUrl, headers: { accept: 'text/html', cookie } });
  t.match(queued.body, /in coda/);
  t.match(queued.body, /role="progressbar"/);
  await app.jobs.drain();
  const done = await app.inject({ url: statusUrl, headers: { accept: 'text/html', cookie } });
  t.match(done.body, /Posizioni create: 11/);
  t.match(done.body, /Righe con errori: 1/);
  const json = await app.inject({ url: `${statusUrl}/stato.json`, headers: { cookie } });
  t.match(json.json(), { status: 'done', percent: 100 });
  const report = await app.inject({ url: `${statusUrl}/errori.csv`, headers: { cookie } });
  t.equal(report.statusCode, 200);
  t.match(report.body, /^\uFEFF?riga;iupd;colonna;errore/);

  const bad = await app.inject({
    method: 'POST', url: `/backoffice/enti/${ente.id}/importazioni`, headers,
    payload: multipart({ _csrf: token, serviceCode: 'MENSA', mode: 'sometimes' }, positionsCsv(1)),
  });
  t.equal(bad.statusCode, 400);
  t.match(bad.body, /Scegli come importare/);
  const tpl = await app.inject({ url: `/backoffice/enti/${ente.id}/importazioni/modello.csv`, headers: { cookie } });
  t.match(tpl.body, /iupd;tipo_debitore;cf_debitore/);
  const { ente: termoli } = await demoEnte(app, 'Termoli');
  t.equal((await app.inject({ url: `/backoffice/enti/${termoli.id}/importazioni`, headers: { accept: 'text/html', cookie } })).statusCode, 403);
});
