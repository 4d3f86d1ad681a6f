/**
 * Reporting flows over the FdR 3 organizations REST API (PAGOPA_FDR_API=rest) against the node
 * simulator over real HTTP: every request and answer checked against
 * schemas/pagopa/openapi/fdr_organization.json itself (its paths, parameters and components, read
 * here with Ajv, not with the client's own checker); paging of the list and of the payments; a
 * flow with two revisions (the newest supersedes: reconciliation and treasury matching use only
 * it); invalid and unreachable answers reported with nothing half-written; the setting picks the
 * path, and switching it downloads nothing twice.
 */
import fs from 'node:fs';
import { sqlAll, sqlGet } from '../../src/db/raw.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { loadConfig, type PagopaSettings } from '../../src/config.js';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { processPendingFlows, importStatement } from '../../src/modules/helpdesk/reconcile.js';
import { createFdrRestClient } from '../../src/modules/pagopa/fdr-rest-client.js';
import { downloadFlowsNow, leaseName } from '../../src/modules/pagopa/fdr-scheduler.js';
import { parseFlussoRiversamento } from '../../src/modules/pagopa/fdr-store.js';
import { buildFlows, fdrSimFaults, fdrSimRevisions } from '../../src/simulators/pagopa/fdr.js';
import { simulatedCredits, treasuryCsv } from '../../src/simulators/pagopa/treasury.js';
import { loginAs } from '../helpers.js';
import { demoEnte } from '../positions/fixtures.js';
import { listeningApp, OTHER_PSP, paidTari, recon } from '../helpdesk/helpers.js';
import { countRows } from './helpers.js';

const DOC = JSON.parse(fs.readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../schemas/pagopa/openapi/fdr_organization.json'), 'utf8')) as {
  paths: Record<string, { get: { operationId: string; parameters: { name: string; in: string; required?: boolean; schema: object }[]; responses: Record<string, { content?: { 'application/json': { schema: object } } }> } }>;
  components: { schemas: object; securitySchemes: Record<string, { in: string; name: string }> };
};
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ components: DOC.components }, 'fdr');
const coercing = new Ajv({ strict: false, allErrors: true, coerceTypes: true });
addFormats(coercing);
coercing.addSchema({ components: DOC.components }, 'fdr');
const ref = (schema: object) => JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"fdr#/components/')) as object;

interface Exchange {
  url: string;
  headers: Record<string, string>;
  status: number;
  body: string;
}

/** What the document says is wrong with one recorded exchange (empty: conforms). */
function offContract(x: Exchange, basePath: string): string[] {
  const u = new URL(x.url);
  const rel = u.pathname.slice(basePath.length);
  const problems: string[] = [];
  const entry = Object.entries(DOC.paths).find(([p]) => new RegExp(`^${p.replace(/\{\w+\}/g, '[^/]+')}$`).test(rel));
  if (!entry) return [`${rel}: no such path in the document`];
  const [template, { get: op }] = entry;
  const names = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  const values = new RegExp(`^${template.replace(/\{\w+\}/g, '([^/]+)')}$`).exec(rel)!.slice(1).map(decodeURIComponent);
  const pathParams = Object.fromEntries(names.map((n, i) => [n, values[i]]));
  for (const p of op.parameters) {
    const v = p.in === 'path' ? pathParams[p.name] : u.searchParams.get(p.name) ?? undefined;
    if (v === undefined) {
      if (p.required) problems.push(`${op.operationId}: ${p.name} missing`);
      continue;
    }
    const check = coercing.compile(ref({ type: 'object', properties: { v: p.schema } }));
    if (!check({ v })) problems.push(`${op.operationId}: ${p.name}=${v} ${coercing.errorsText(check.errors)}`);
  }
  for (const q of u.searchParams.keys()) if (!op.parameters.some((p) => p.in === 'query' && p.name === q)) problems.push(`${op.operationId}: unknown query ${q}`);
  const key = Object.values(DOC.components.securitySchemes).find((s) => s.in === 'header')!.name;
  if (!Object.keys(x.headers).some((h) => h.toLowerCase() === key.toLowerCase())) problems.push(`${op.operationId}: no ${key}`);
  const schema = op.responses[String(x.status)]?.content?.['application/json'].schema;
  if (x.status === 200) {
    const v = ajv.compile(ref(schema!));
    if (!v(JSON.parse(x.body))) problems.push(`${op.operationId} answer: ${ajv.errorsText(v.errors)}`);
  }
  return problems;
}

const silent = { info: () => {}, warn: () => {}, error: () => {} };

t.test('FdR 3 organizations API: client, scheduler, revisions, reconciliation', async (t) => {
  const app = await listeningApp(t, { PAGOPA_FDR_API: 'rest' });
  t.teardown(() => {
    fdrSimFaults.failNextDownloads = 0;
    fdrSimFaults.invalidFlowIds.clear();
    fdrSimFaults.failPaymentsPage = 0;
    fdrSimRevisions.clear();
  });
  const r = recon(app);
  const cb = await demoEnte(app, 'Campobasso');
  const rest: PagopaSettings = app.config.pagopa;
  const basePath = new URL(rest.fdrRestUrl).pathname;
  // Three TARI paid at the same PSP → one Campobasso flow of three rows; one at another PSP → a second flow.
  const paid = [await paidTari(app), await paidTari(app), await paidTari(app)];
  await paidTari(app, 'Campobasso', OTHER_PSP);
  const soapFlows = await buildFlows(app.db, cb.ente.fiscalCode);
  t.equal(soapFlows.length, 2);
  const big = soapFlows.find((f) => f.xml.includes('<pay_i:numeroTotalePagamenti>3<'))!;
  const fast = { retries: 1, baseDelayMs: 1, timeoutMs: 3000, pageSize: 1 };

  await t.test('settings: soap by default; rest points at the simulator in demo', async (t) => {
    const dflt = loadConfig({ APP_MODE: 'demo', PUBLIC_URL: 'http://localhost:3000' }).pagopa;
    t.equal(dflt.fdrApi, 'soap');
    t.equal(dflt.fdrRestUrl, 'http://localhost:3000/simulators/pagopa/fdr-org/service/v1');
    t.equal(dflt.fdrSubscriptionKey, dflt.subscriptionKey, 'the FdR key defaults to PAGOPA_SUBSCRIPTION_KEY');
    t.equal(rest.fdrApi, 'rest');
  });

  await t.test('the REST client pages the list and the payments; every exchange conforms to fdr_organization.json', async (t) => {
    const exchanges: Exchange[] = [];
    const recording: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      exchanges.push({ url: String(input), headers: (init?.headers ?? {}) as Record<string, string>, status: res.status, body: await res.clone().text() });
      return res;
    };
    const client = await createFdrRestClient(rest, { ...fast, fetch: recording });
    const listed = await client.listFlows(cb.ente.fiscalCode);
    t.same(listed.map((f) => f.flowId).sort(), soapFlows.map((f) => f.flowId).sort(), 'the same flows as nodoChiedi*');
    t.ok(listed.every((f) => f.revision === 1 && f.source === 'fdrRest' && f.pspId));
    const item = listed.find((f) => f.flowId === big.flowId)!;
    const xml = await client.getFlow(cb.ente.fiscalCode, item.flowId, item);
    const viaRest = parseFlussoRiversamento(xml);
    const viaSoap = parseFlussoRiversamento(big.xml);
    t.ok(viaRest.ok && viaSoap.ok, 'the rendered revision passes the FlussoRiversamento XSD');
    if (viaRest.ok && viaSoap.ok) {
      const pick = (f: typeof viaRest.flow) => ({ ...f, flowDateTime: f.flowDateTime.slice(0, 19), entries: f.entries.map(({ outcomeDate: _d, ...e }) => e) });
      t.same(pick(viaRest.flow), pick(viaSoap.flow), 'same header and rows as the SOAP face');
      t.equal(viaRest.flow.entries.length, 3);
    }
    const pages = (op: RegExp) => exchanges.filter((x) => op.test(new URL(x.url).pathname)).map((x) => new URL(x.url).searchParams.get('page'));
    t.same(pages(/\/fdrs$/), ['1', '2'], 'two flows, one a page');
    t.same(pages(/\/payments$/), ['1', '2', '3'], 'three payments, one a page');
    t.equal(exchanges.length, 6);
    for (const x of exchanges) t.same(offContract(x, basePath), [], `${new URL(x.url).pathname.slice(basePath.length)}?${new URL(x.url).search}`);

    const badKey = await createFdrRestClient({ ...rest, fdrSubscriptionKey: 'sbagliata' }, fast);
    await t.rejects(badKey.listFlows(cb.ente.fiscalCode), { message: /HTTP 401/, retryable: false });
    await t.rejects(client.getFlow(cb.ente.fiscalCode, 'SCONOSCIUTO', { ...item, flowId: 'SCONOSCIUTO' }), { message: /HTTP 404 FDR-3001/, retryable: false });
  });

  await t.test('the setting picks the path; switching it downloads nothing twice', async (t) => {
    const [viaRest] = await downloadFlowsNow(app.db, rest, silent, { enteFiscalCode: cb.ente.fiscalCode, client: fast });
    t.match(viaRest, { ran: true, listed: 2, stored: 2, invalid: 0, failed: 0 });
    t.equal((await countRows(app, "fdr_flows WHERE ente_id = ? AND source = 'fdrRest' AND revision = 1 AND superseded_at IS NULL", cb.ente.id)), 2);
    t.equal((await countRows(app, 'fdr_entries e JOIN fdr_flows f ON f.id = e.flow_row_id WHERE f.ente_id = ?', cb.ente.id)), 4);
    const soap = { ...rest, fdrApi: 'soap' as const };
    const [again] = await downloadFlowsNow(app.db, soap, silent, { enteFiscalCode: cb.ente.fiscalCode, client: fast });
    t.match(again, { listed: 2, stored: 0, alreadyStored: 2 }, 'nodoChiedi* finds them already stored');
    const prov = await demoEnte(app, 'Provincia di Campobasso');
    const [p] = await downloadFlowsNow(app.db, soap, silent, { enteFiscalCode: prov.ente.fiscalCode, client: fast });
    t.match(p, { stored: 2 });
    t.equal((await countRows(app, "fdr_flows WHERE ente_id = ? AND source = 'nodoChiedi'", prov.ente.id)), 2, 'soap stores through nodoChiedi*');
    const [back] = await downloadFlowsNow(app.db, rest, silent, { enteFiscalCode: prov.ente.fiscalCode, client: fast });
    t.match(back, { listed: 2, stored: 0, alreadyStored: 2 }, 'and REST finds the SOAP ones');
  });

  await t.test('a second revision supersedes the first: reconciliation, treasury and the helpdesk use only it', async (t) => {
    t.equal((await processPendingFlows(r)).length, 4);
    const rev1 = (await sqlGet(app.db, 'SELECT id FROM fdr_flows WHERE ente_id = ? AND flow_id = ?', cb.ente.id, big.flowId)) as { id: number };
    t.equal((await countRows(app, "fdr_entry_matches WHERE flow_row_id = ? AND state = 'matched'", rev1.id)), 3);

    // The PSP republishes the flow without the third payment.
    const dropped = paid[2]!.options[0]!.iuv;
    const pub = await app.inject({ method: 'POST', url: '/simulators/pagopa/fdr-org/sim/revisions', payload: { organizationId: cb.ente.fiscalCode, fdr: big.flowId, excludeIuvs: [dropped] } });
    t.equal(pub.statusCode, 201);
    t.match(pub.json(), { revision: 2, totPayments: 2 });

    const [d] = await downloadFlowsNow(app.db, rest, silent, { enteFiscalCode: cb.ente.fiscalCode, client: fast });
    t.match(d, { listed: 3, stored: 1, alreadyStored: 2 }, 'both revisions listed, only the new one downloaded');
    const rows = (await sqlAll(app.db, 'SELECT id, revision, superseded_at AS "supersededAt" FROM fdr_flows WHERE ente_id = ? AND flow_id = ? ORDER BY revision', cb.ente.id, big.flowId)) as { id: number; revision: number; supersededAt: string | null }[];
    t.match(rows, [{ id: rev1.id, revision: 1, supersededAt: /^\d{4}-/ }, { revision: 2, supersededAt: null }], 'the store marks revision 1 superseded');
    const rev2 = rows[1]!.id;

    await processPendingFlows(r);
    t.equal(((await sqlGet(app.db, 'SELECT state FROM fdr_flow_recon WHERE flow_row_id = ?', rev1.id)) as { state: string }).state, 'superseded');
    t.match((await sqlGet(app.db, 'SELECT state, revision, matched_rows AS matched FROM fdr_flow_recon WHERE flow_row_id = ?', rev2)), { state: 'accepted', revision: 2, matched: 2 });
    t.equal((await countRows(app, "fdr_entry_matches WHERE flow_row_id = ? AND state <> 'superseded'", rev1.id)), 0, 'no row of revision 1 counts');
    const live = async (iuv: string) =>
      await countRows(app, "fdr_entry_matches m JOIN fdr_entries e ON e.id = m.entry_id JOIN fdr_flows f ON f.id = m.flow_row_id WHERE e.iuv = ? AND f.ente_id = ? AND m.state = 'matched' AND f.superseded_at IS NULL", iuv, cb.ente.id);
    t.equal(await live(paid[0]!.options[0]!.iuv), 1);
    t.equal(await live(dropped), 0, 'the dropped payment is no longer reported');

    // The treasury credit of the flow (amount of revision 2) is matched to revision 2.
    const credits = await simulatedCredits(app.db, cb.ente.fiscalCode);
    const imported = await importStatement(r, { enteId: cb.ente.id, bytes: Buffer.from(treasuryCsv(credits, cb.ibans[0]!.iban)), fileName: 'giornale.csv', actor: 'test' });
    t.match(imported, { matched: 2, parked: 0, errors: 0 });
    t.equal((await countRows(app, "treasury_movements WHERE flow_row_id = ? AND state = 'matched'", rev2)), 1, 'credit matched to the live revision');

    // The SOAP face serves the latest revision too.
    t.equal((await buildFlows(app.db, cb.ente.fiscalCode)).find((f) => f.flowId === big.flowId)!.revision, 2);

    // The helpdesk shows which revision is live.
    const staff = await loginAs(app, demoUserFiscalCodes().find((u) => u.role === 'helpdesk')!.fiscalCode);
    const old = await app.inject({ method: 'GET', url: `/helpdesk/flussi/${rev1.id}`, headers: { cookie: staff } });
    t.equal(old.statusCode, 200);
    t.match(old.body, /Questa revisione è stata sostituita/);
    t.match(old.body, new RegExp(`In vigore: <a href="/helpdesk/flussi/${rev2}">revisione 2</a>`));
    t.match(old.body, /API FdR 3 \(REST\)/);
    const cur = await app.inject({ method: 'GET', url: `/helpdesk/flussi/${rev2}`, headers: { cookie: staff } });
    t.notMatch(cur.body, /Questa revisione è stata sostituita/);
    t.match(cur.body, /<strong aria-current="page">Revisione 2<\/strong>[^<]*<span class="badge bg-success">In vigore/);

    // A third revision with the same fdrDate as the second is still stored (keyed by its publication) and supersedes it.
    const third = await app.inject({ method: 'POST', url: '/simulators/pagopa/fdr-org/sim/revisions', payload: { organizationId: cb.ente.fiscalCode, fdr: big.flowId, excludeIuvs: [dropped], sameFdrDate: true } });
    t.match(third.json(), { revision: 3 });
    const [d3] = await downloadFlowsNow(app.db, rest, silent, { enteFiscalCode: cb.ente.fiscalCode, client: fast });
    t.match(d3, { stored: 1 });
    await processPendingFlows(r);
    t.same(
      (await sqlAll(app.db, 'SELECT revision FROM fdr_flows WHERE ente_id = ? AND flow_id = ? AND superseded_at IS NULL', cb.ente.id, big.flowId)),
      [{ revision: 3 }],
      'only revision 3 is live',
    );
  });

  await t.test('invalid, failing and unreachable answers are reported and nothing is half-written', async (t) => {
    const termoli = await demoEnte(app, 'Termoli');
    await paidTari(app, 'Termoli');
    await paidTari(app, 'Termoli');
    const [flow] = await buildFlows(app.db, termoli.ente.fiscalCode);
    const flows = async () => await countRows(app, 'fdr_flows WHERE ente_id = ?', termoli.ente.id);
    const entries = async () => await countRows(app, 'fdr_entries e JOIN fdr_flows f ON f.id = e.flow_row_id WHERE f.ente_id = ?', termoli.ente.id);

    // An answer off the document: not stored, one anomaly, also on rerun.
    fdrSimFaults.invalidFlowIds.add(flow!.flowId);
    const warnings: unknown[] = [];
    const [bad] = await downloadFlowsNow(app.db, rest, { ...silent, warn: (o: unknown) => void warnings.push(o) }, { enteFiscalCode: termoli.ente.fiscalCode, client: fast });
    t.match(bad, { listed: 1, stored: 0, invalid: 1 });
    t.match(JSON.stringify(warnings), /non conforme a fdr_organization.json/);
    await downloadFlowsNow(app.db, rest, silent, { enteFiscalCode: termoli.ente.fiscalCode, client: fast });
    t.equal((await countRows(app, "anomalies WHERE type = 'fdr_invalid_flow' AND ente_id = ?", termoli.ente.id)), 1, 'one anomaly, not one per run');
    t.equal(await flows(), 0);
    fdrSimFaults.invalidFlowIds.clear();

    // The second page of payments keeps failing: the flow is not stored at all, the run reports it.
    fdrSimFaults.failPaymentsPage = 2;
    const [half] = await downloadFlowsNow(app.db, rest, silent, { enteFiscalCode: termoli.ente.fiscalCode, client: fast });
    t.match(half, { stored: 0, failed: 1, error: /HTTP 503/ });
    t.equal((await flows()) + (await entries()), 0, 'no half flow');
    fdrSimFaults.failPaymentsPage = 0;

    // Unreachable API: retried, then the error is kept on the ente's schedule with a backoff.
    let retries = 0;
    const failures = async () => ((await sqlGet(app.db, 'SELECT failures FROM pagopa_schedules WHERE name = ?', leaseName(termoli.ente.id))) as { failures: number }).failures;
    const before = await failures();
    const down = { ...rest, fdrRestUrl: 'http://127.0.0.1:1/fdr-org/service/v1' };
    const [gone] = await downloadFlowsNow(app.db, down, silent, { enteFiscalCode: termoli.ente.fiscalCode, client: { ...fast, retries: 2, onRetry: () => retries++ } });
    t.match(gone, { ran: true, stored: 0, error: /errore di rete/ });
    t.equal(retries, 2);
    t.match((await sqlGet(app.db, 'SELECT * FROM pagopa_schedules WHERE name = ?', leaseName(termoli.ente.id))), { locked_by: null, last_error: /errore di rete/ });
    t.equal(await failures(), before + 1, 'one more failure on the schedule (backoff)');

    // Back to normal: stored whole, once.
    const [ok] = await downloadFlowsNow(app.db, rest, silent, { enteFiscalCode: termoli.ente.fiscalCode, client: fast });
    t.match(ok, { stored: 1, error: undefined });
    t.equal(await flows(), 1);
    t.equal(await entries(), 2);
  });
});
