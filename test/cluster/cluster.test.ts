/**
 * Two app processes on one database behind nginx (deploy/nginx/sael-pay-cluster.conf, as in the
 * README): the payment flow with calls answered by both processes, notice numbers issued
 * concurrently by both, and `kill -9` of one process in the middle of a stream of receipts while it
 * holds a CSV import job. Every call goes through nginx; X-Upstream says which process answered.
 *
 * Database: SQLite (shared DATA_DIR) by default; PostgreSQL when CLUSTER_DATABASE_URL names a
 * server (a throwaway database is created on it). nginx missing: fails when SAEL_REQUIRE_CLUSTER=1,
 * else skips.
 */
import t from 'tap';
import { loadConfig } from '../../src/config.js';
import {
  getPaymentRequest,
  newReceiptId,
  readAnswer,
  readPaymentData,
  sendRtRequest,
  verifyRequest,
  type Identity,
} from '../../src/simulators/pagopa/node-messages.js';
import { fiscalCodeFor, positionsCsv } from '../positions/csv-fixtures.js';
import { inDays } from '../positions/fixtures.js';
import { clusterDatabaseFromEnv, findNginx, startCluster, type AppProcess, type Cluster } from './harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` over `items` with at most `width` calls in flight. */
async function pool<T, R>(items: T[], width: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

interface Setup {
  enteId: number;
  enteCf: string;
  apiKey: string;
}

interface Call {
  status: number;
  body: string;
  app: AppProcess | undefined;
}

const nginx = findNginx();
const required = process.env.SAEL_REQUIRE_CLUSTER === '1';

// Two servers, nginx and PostgreSQL on a busy two-core machine (the rest of the suite runs beside
// it): starting them alone has taken 95 s there.
t.setTimeout(660_000);
t.test('two processes on one database behind nginx', { timeout: 600_000, skip: !nginx && !required ? 'nginx not installed (apt-get install nginx; SAEL_REQUIRE_CLUSTER=1 makes this a failure)' : false }, async (t) => {
  if (!nginx) {
    t.fail('nginx not found: install it (apt-get install nginx) or set NGINX_BIN; SAEL_REQUIRE_CLUSTER=1 requires the cluster test');
    return;
  }
  const started = Date.now();
  const database = clusterDatabaseFromEnv();
  t.comment(`database: ${database.kind}`);
  const c: Cluster<Setup> = await startCluster(t, {
    database,
    // A held job whose process stops reporting is taken over after 4 s (default 60 s).
    env: { JOB_STALE_SECONDS: '4', NOTICE_WORKERS: '0' },
    prepare: async ({ cli, db }) => {
      const [ente] = await db.all<{ id: number; fiscal_code: string }>("SELECT id, fiscal_code FROM enti WHERE name = 'Comune di Campobasso'");
      if (!ente) throw new Error('demo ente Comune di Campobasso missing');
      const res = await cli(['apikey:create', '--ente', ente.fiscal_code, '--label', 'cluster test']);
      const key = res.stdout.trim().split('\n').pop()?.trim();
      if (res.code !== 0 || !key) throw new Error(`apikey:create failed (${res.code}): ${res.stdout} ${res.stderr}`);
      return { enteId: Number(ente.id), enteCf: ente.fiscal_code, apiKey: key };
    },
  });
  t.comment(`cluster up in ${Date.now() - started} ms: nginx ${c.url}, ${c.apps.map((a) => `${a.name} ${a.addr} pid ${a.pid}`).join(', ')}`);
  const [app1, app2] = c.apps as [AppProcess, AppProcess];
  const { enteCf, apiKey } = c.prepared;
  const pagopa = loadConfig({ ...c.env, PORT: String(app1.port) }).pagopa;
  const id: Identity = { idPA: enteCf, idBrokerPA: pagopa.brokerId, idStation: pagopa.stationId };

  const call = async (method: string, url: string, headers: Record<string, string> = {}, body?: string): Promise<Call> => {
    const res = await fetch(`${c.url}${url}`, { method, headers, body, signal: AbortSignal.timeout(30_000) });
    return { status: res.status, body: await res.text(), app: c.upstreamOf(res) };
  };
  const api = (method: string, url: string, body?: unknown, contentType = 'application/json') =>
    call(method, `/api/v1${url}`, { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': contentType }) }, typeof body === 'string' || body === undefined ? body : JSON.stringify(body));
  const soap = (action: string, xml: string) => call('POST', '/pagopa/paForNode', { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${action}"` }, xml);

  let seq = 0;
  const createPosition = async (tag: string) => {
    const n = ++seq;
    const res = await api('POST', '/positions', {
      iupd: `${tag}-${n}`,
      serviceCode: 'MENSA',
      debtor: { type: 'F', fiscalCode: fiscalCodeFor(n), fullName: `Cittadino ${n}` },
      description: `Mensa scolastica ${tag} ${n}`,
      paymentOptions: [{ amountCents: 2550 + n, dueDate: inDays(40), transfers: [{ amountCents: 2550 + n, remittanceInformation: 'Mensa', taxonomyCode: '9/0201133IM/' }] }],
    });
    if (res.status !== 201) throw new Error(`create ${tag}-${n}: HTTP ${res.status} ${res.body}`);
    const option = (JSON.parse(res.body) as { paymentOptions: { iuv: string; noticeNumber: string }[] }).paymentOptions[0]!;
    return { iupd: `${tag}-${n}`, iuv: option.iuv, noticeNumber: option.noticeNumber, app: res.app };
  };

  await t.test('the payment flow, its calls answered by both processes', async (t) => {
    const served: string[] = [];
    const note = (step: string, r: Call) => served.push(`${step}:${r.app?.name ?? '?'}`);
    for (let round = 0; round < 2; round++) {
      const p = await createPosition('FLOW');
      served.push(`create:${p.app?.name ?? '?'}`);
      const qr = { fiscalCode: enteCf, noticeNumber: p.noticeNumber };

      const verify = await soap('paVerifyPaymentNotice', verifyRequest(id, qr));
      note('verify', verify);
      t.equal(readAnswer(verify.body).outcome, 'OK', `paVerifyPaymentNotice ${p.noticeNumber}`);

      const get = await soap('paGetPaymentV2', getPaymentRequest(id, qr, { v2: true }));
      note('getPayment', get);
      const got = readAnswer(get.body);
      t.equal(got.outcome, 'OK', 'paGetPaymentV2');

      const receiptId = newReceiptId();
      const rt = await soap('paSendRTV2', sendRtRequest(id, { v2: true, receiptId, noticeNumber: p.noticeNumber, fiscalCode: enteCf, data: readPaymentData(got) }));
      note('sendRT', rt);
      t.equal(readAnswer(rt.body).outcome, 'OK', 'paSendRTV2');

      const page = await call('GET', `/paga-avviso?codiceAvviso=${p.noticeNumber}&cfEnte=${enteCf}`, { accept: 'text/html' });
      note('portal', page);
      t.match(page.body, /Questo avviso risulta già pagato/, 'the public pay-a-notice page shows it paid');

      const after = await api('GET', `/positions/${p.iupd}`);
      note('api', after);
      t.equal(after.status, 200);
      t.match(JSON.parse(after.body), { status: 'paid', paymentOptions: [{ status: 'paid' }] }, 'the API shows it paid');
    }
    t.comment(served.join(' '));
    t.ok(served.some((s) => s.endsWith(':app1')) && served.some((s) => s.endsWith(':app2')), 'both processes answered calls of the flow');
    t.notOk(served.some((s) => s.endsWith(':?')), 'every answer names its process');
  });

  await t.test('notice numbers created concurrently through both processes are all distinct', async (t) => {
    const created = await pool(Array.from({ length: 100 }), 10, () => createPosition('CONC'));
    t.equal(new Set(created.map((p) => p.iuv)).size, 100, '100 distinct IUVs');
    t.equal(new Set(created.map((p) => p.noticeNumber)).size, 100, '100 distinct notice numbers');
    const by = (a: AppProcess) => created.filter((p) => p.app === a).length;
    t.comment(`created by app1 ${by(app1)}, app2 ${by(app2)}`);
    t.ok(by(app1) > 10 && by(app2) > 10, 'both processes created positions');
    // A notice is (ente, notice number): two enti with the same segregation code may share numbers.
    const twice = (column: string) =>
      c.db.all(`SELECT p.ente_id, o.${column} FROM payment_options o JOIN positions p ON p.id = o.position_id GROUP BY p.ente_id, o.${column} HAVING count(*) > 1`);
    t.same(await twice('notice_number'), [], 'no notice number twice for an ente in the database');
    t.same(await twice('iuv'), [], 'no IUV twice for an ente in the database');
  });

  await t.test('kill -9 of one process in a stream of receipts while it holds a job', async (t) => {
    const STREAM = 200;
    const IMPORT_ROWS = 4000;
    const t0 = Date.now();
    const positions = await pool(Array.from({ length: STREAM }), 8, () => createPosition('RT'));
    const receipts = await pool(positions, 8, async (p) => {
      const qr = { fiscalCode: enteCf, noticeNumber: p.noticeNumber };
      const got = readAnswer((await soap('paGetPaymentV2', getPaymentRequest(id, qr, { v2: true }))).body);
      if (got.outcome !== 'OK') throw new Error(`paGetPaymentV2 ${p.noticeNumber}: ${got.faultCode}`);
      const receiptId = newReceiptId();
      return { receiptId, noticeNumber: p.noticeNumber, xml: sendRtRequest(id, { v2: true, receiptId, noticeNumber: p.noticeNumber, fiscalCode: enteCf, data: readPaymentData(got) }) };
    });
    t.comment(`${STREAM} positions and paGetPaymentV2 in ${Date.now() - t0} ms`);

    // The stream: 4 receipts in flight; a failed call (502, connection error, a KO answer) is sent
    // again, the same receipt, until it is answered OK — as the node does.
    const acked: { receiptId: string; app: string; afterKill: boolean }[] = [];
    const failures: string[] = [];
    let killed: AppProcess | undefined;
    let killIssued = false;
    let killedAt = -1;
    let release!: () => void;
    const killDone = new Promise<void>((r) => (release = r));
    const streamStart = Date.now();
    const stream = pool(receipts, 4, async (r, i) => {
      // Safety net: the second half waits for the kill, so that it always falls inside the stream.
      if (i >= Math.floor(STREAM * 0.75)) await killDone;
      for (let attempt = 1; ; attempt++) {
        const sentAfterKill = killIssued;
        try {
          const res = await soap('paSendRTV2', r.xml);
          const answer = res.status === 200 ? readAnswer(res.body) : undefined;
          if (answer?.outcome === 'OK') {
            acked.push({ receiptId: r.receiptId, app: res.app?.name ?? '?', afterKill: sentAfterKill });
            return;
          }
          failures.push(`HTTP ${res.status}${answer ? ` ${answer.faultCode}` : ''}`);
        } catch (err) {
          failures.push(`error ${(err as Error).cause ? String((err as { cause: Error }).cause.message ?? (err as Error).cause) : (err as Error).message}`);
        }
        if (attempt >= 50) throw new Error(`receipt ${r.receiptId} not acknowledged after 50 attempts: ${failures.slice(-5).join('; ')}`);
        await sleep(100);
      }
    });

    // The job: a CSV import through nginx once the stream runs; whichever process claims it is the
    // one killed, as soon as its first batch is committed.
    let jobId = 0;
    const killer = (async () => {
      try {
        while (acked.length < 30) await sleep(20);
        const up = await api('POST', '/imports?serviceCode=MENSA&fileName=cluster.csv', positionsCsv(IMPORT_ROWS, { prefix: 'CLU' }), 'text/csv');
        if (up.status !== 202) throw new Error(`import upload: HTTP ${up.status} ${up.body}`);
        jobId = (JSON.parse(up.body) as { id: number }).id;
        const until = Date.now() + 60_000;
        for (;;) {
          const [job] = await c.db.all<{ status: string; locked_by: string | null; done: number }>('SELECT status, locked_by, done FROM jobs WHERE id = ?', [jobId]);
          if (job?.status === 'done') throw new Error('the import ended before the kill: make it bigger');
          if (job?.status === 'failed') throw new Error(`the import failed:\n${c.apps.map((a) => `${a.name}: ${a.output()}`).join('\n')}`);
          if (job?.status === 'running' && job.locked_by && Number(job.done) >= 500) {
            const pid = Number(job.locked_by.split(':').at(-2));
            killed = c.apps.find((a) => a.pid === pid);
            if (!killed) throw new Error(`job held by ${job.locked_by}, not one of ours`);
            killedAt = acked.length;
            const dying = c.kill9(killed); // SIGKILL is sent before this returns
            killIssued = true;
            await dying;
            t.comment(`kill -9 ${killed.name} (pid ${pid}, holding import job ${jobId} at row ${job.done}) after ${killedAt} receipts acknowledged`);
            return;
          }
          if (Date.now() > until) throw new Error('the import was never claimed');
          await sleep(25);
        }
      } finally {
        release();
      }
    })();
    await Promise.all([stream, killer]);
    t.comment(`stream of ${STREAM} receipts in ${Date.now() - streamStart} ms; ${failures.length} failed calls resent (${[...new Set(failures)].join(', ') || 'none'})`);

    t.ok(killed, 'one process was killed');
    const survivor = killed === app1 ? app2 : app1;
    t.equal(await killed!.exited, 'SIGKILL', 'killed by SIGKILL, no graceful shutdown');
    t.ok(killedAt > 0 && killedAt < STREAM, `the kill fell inside the stream (after ${killedAt} of ${STREAM})`);
    t.ok(acked.some((a) => !a.afterKill && a.app === killed!.name), 'the killed process acknowledged receipts before dying');
    t.ok(acked.filter((a) => a.afterKill).every((a) => a.app === survivor.name), 'a call sent after the kill is answered by the survivor');
    t.ok(survivor.alive(), 'the survivor is still up');

    // Every receipt of the stream, acknowledged, stored exactly once.
    t.equal(acked.length, STREAM, 'every receipt of the stream was acknowledged OK (after resending)');
    t.equal(new Set(acked.map((a) => a.receiptId)).size, STREAM, 'each once');
    const ids = receipts.map((r) => r.receiptId);
    const stored = await c.db.all<{ receipt_id: string; n: number; applied: number }>(
      `SELECT receipt_id, count(*) AS n, sum(CASE WHEN processing = 'applied' THEN 1 ELSE 0 END) AS applied FROM receipts WHERE receipt_id IN (${ids.map(() => '?').join(',')}) GROUP BY receipt_id`,
      ids,
    );
    t.equal(stored.length, STREAM, 'every receipt of the stream is in the database');
    t.same(stored.filter((s) => Number(s.n) !== 1 || Number(s.applied) !== 1), [], 'each stored exactly once, applied to its notice');
    t.same(await c.db.all('SELECT id_pa, receipt_id FROM receipts GROUP BY id_pa, receipt_id HAVING count(*) > 1'), [], 'no receiptId stored twice');
    const notices = receipts.map((r) => r.noticeNumber);
    const paid = await c.db.all<{ n: number }>(`SELECT count(*) AS n FROM payment_options WHERE status = 'paid' AND notice_number IN (${notices.map(() => '?').join(',')})`, notices);
    t.equal(Number(paid[0]!.n), STREAM, 'every notice of the stream is paid');

    // The import the dead process held: taken over by the survivor after JOB_STALE_SECONDS, rerun,
    // nothing created twice.
    // Generous: on a loaded machine (CI's two test passes on two cores) the rerun of the whole
    // import on the survivor once took more than a minute.
    const until = Date.now() + 150_000;
    let job: { status: string; locked_by: string; result: string | null; done?: number } | undefined;
    while (Date.now() < until) {
      [job] = await c.db.all<{ status: string; locked_by: string; result: string | null; done: number }>('SELECT status, locked_by, result, done FROM jobs WHERE id = ?', [jobId]);
      if (job?.status === 'done' || job?.status === 'failed') break;
      await sleep(200);
    }
    t.equal(job?.status, 'done', `the import job is finished${job?.status === 'done' ? '' : ` (job ${JSON.stringify(job)}; survivor's output: ${survivor.output().slice(-3000)})`}`);
    t.equal(Number(job?.locked_by.split(':').at(-2)), survivor.pid, 'by the survivor');
    const result = JSON.parse(job?.result ?? '{}') as { outcome: string; created: number; unchanged: number; rowCount: number };
    t.comment(`import result: ${JSON.stringify({ outcome: result.outcome, created: result.created, unchanged: result.unchanged })}`);
    t.match(result, { outcome: 'imported', rowCount: IMPORT_ROWS }, 'imported every row');
    t.equal(result.created + result.unchanged, IMPORT_ROWS, 'the survivor found or created every position');
    t.ok(result.unchanged >= 500, 'what the dead process committed was found, not created again');
    const [imported] = await c.db.all<{ n: number; distinct_iupd: number; options: number }>(
      "SELECT count(*) AS n, count(DISTINCT p.iupd) AS distinct_iupd, (SELECT count(*) FROM payment_options o JOIN positions q ON q.id = o.position_id WHERE q.iupd LIKE 'CLU-%') AS options FROM positions p WHERE p.iupd LIKE 'CLU-%'",
    );
    t.same({ n: Number(imported!.n), distinct: Number(imported!.distinct_iupd), options: Number(imported!.options) }, { n: IMPORT_ROWS, distinct: IMPORT_ROWS, options: IMPORT_ROWS }, 'each imported position exactly once, with its option');

    // Through nginx the cluster still answers, from the survivor.
    const health = await call('GET', '/readyz');
    t.equal(health.status, 200, 'readyz through nginx');
    t.equal(health.app, survivor, 'answered by the survivor');
  });

  t.comment(`wall time ${Date.now() - started} ms`);
});
