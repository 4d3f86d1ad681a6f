/**
 * The GPD-compatible API (/gpd) driven by a client written only from `gpd.json`: each call is
 * found by its operationId in the document (method, path template, parameters), its request body
 * is checked against the document's component schema before it is sent, and every answer against
 * the schema the document gives for that status — with Ajv on the document itself, no hand copy.
 * The positions it makes are the ones /api/v1 and the notice PDF show.
 */
import fs from 'node:fs';
import { sqlGet, sqlRun } from '../../src/db/raw.js';
import path from 'node:path';
import t, { type Test } from 'tap';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { FastifyInstance } from 'fastify';
import { buildTestApp } from '../helpers.js';
import { apiKeyFor, demoEnte, inDays } from '../positions/fixtures.js';
import { clientIuv, GPD_DEBTOR } from './fixtures.js';
import { ibanCheckDigits } from '../../src/domain/iban.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const DOC_FILE = path.resolve(import.meta.dirname, '../../schemas/pagopa/openapi/gpd.json');
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const doc = JSON.parse(fs.readFileSync(DOC_FILE, 'utf8')) as Json;

// ---------------------------------------------------------------------------------------------
// The client: everything it knows comes from the document.
// ---------------------------------------------------------------------------------------------

// `\h` (PCRE horizontal space) in the document's path patterns is read as in Java: not a unicode RegExp.
const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
addFormats(ajv);
ajv.addSchema({ $id: 'gpd.json', components: doc.components });

const validators = new Map<string, ValidateFunction>();
function validatorFor(schema: Json): ValidateFunction {
  const key = JSON.stringify(schema);
  let v = validators.get(key);
  if (!v) {
    // `#/components/…` refs of the document, resolved in the document added above.
    const rooted = JSON.parse(key.replace(/"#\/components\//g, '"gpd.json#/components/')) as Json;
    validators.set(key, (v = ajv.compile(rooted)));
  }
  return v;
}

function operation(id: string): { method: string; template: string; op: Json } {
  for (const [template, item] of Object.entries(doc.paths as Json)) {
    for (const [method, op] of Object.entries(item as Json)) if ((op as Json).operationId === id) return { method: method.toUpperCase(), template, op: op as Json };
  }
  throw new Error(`no operation ${id} in gpd.json`);
}

interface Call {
  params: Record<string, string>;
  query?: Record<string, string | number | boolean>;
  body?: unknown;
  key?: string | null;
}

interface GpdAnswer {
  status: number;
  body: Json;
  problems: string[];
  headers: Record<string, unknown>;
}

function gpdClient(app: FastifyInstance, key: string) {
  return async (id: string, call: Call): Promise<GpdAnswer> => {
    const { method, template, op } = operation(id);
    const problems: string[] = [];
    for (const p of (op.parameters ?? []) as Json[]) {
      const value = p.in === 'path' ? call.params[p.name] : call.query?.[p.name];
      if (value === undefined) {
        if (p.required) problems.push(`request: missing ${p.in} parameter ${p.name}`);
        continue;
      }
      const v = validatorFor(p.schema);
      if (!v(p.schema.type === 'string' ? String(value) : value)) problems.push(`request ${p.name}: ${ajv.errorsText(v.errors)}`);
    }
    for (const name of Object.keys(call.params)) if (!template.includes(`{${name}}`)) problems.push(`request: ${name} is not a path parameter`);
    if (call.body !== undefined) {
      const schema = op.requestBody?.content?.['application/json']?.schema as Json | undefined;
      if (!schema) problems.push('request: the operation takes no body');
      else {
        const v = validatorFor(schema);
        if (!v(call.body)) problems.push(`request body: ${ajv.errorsText(v.errors)}`);
      }
    }
    const url = `/gpd${template.replace(/\{(\w+)\}/g, (_m, n: string) => encodeURIComponent(call.params[n] ?? ''))}`;
    const query = call.query ? `?${new URLSearchParams(Object.entries(call.query).map(([k, v]) => [k, String(v)]))}` : '';
    const headers: Record<string, string> = {};
    // The document's security scheme names the header.
    const scheme = doc.components.securitySchemes.ApiKey as Json;
    if (call.key !== null) headers[(scheme.name as string).toLowerCase()] = call.key ?? key;
    const res = await app.inject({ method: method as 'GET', url: url + query, headers, ...(call.body !== undefined ? { payload: call.body as object } : {}) });
    const response = (op.responses as Json)[String(res.statusCode)] as Json | undefined;
    let body: Json = {};
    if (!response) problems.push(`response: status ${res.statusCode} is not documented for ${id}: ${res.body}`);
    else {
      const schema = response.content?.['application/json']?.schema as Json | undefined;
      if (res.body !== '') body = res.json();
      if (schema) {
        const v = validatorFor(schema);
        if (!v(body)) problems.push(`response ${res.statusCode}: ${ajv.errorsText(v.errors)} in ${res.body.slice(0, 400)}`);
      }
    }
    return { status: res.statusCode, body, problems, headers: res.headers };
  };
}

// That the copy is the official file byte for byte: test/schemas.test.ts (schemas/pagopa/openapi).
t.test('gpd.json is a valid OpenAPI 3 document', async (t) => {
  await SwaggerParser.validate(structuredClone(doc) as never);
});

t.test('a GPD client runs the whole life of a position', async (t) => {
  const app = await buildTestApp(t);
  const { ente, ibans } = await demoEnte(app, 'Campobasso');
  const { ente: province, ibans: provinceIbans } = await demoEnte(app, 'Provincia di Campobasso');
  const { ente: termoli } = await demoEnte(app, 'Termoli');
  const key = await apiKeyFor(app, ente.id);
  const gpd = gpdClient(app, key);
  const org = { organizationfiscalcode: ente.fiscalCode };
  const seg = ente.segregationCode;
  const dueTime = (days: number) => `${inDays(days)}T23:59:59.999Z`;
  const bankIban = ibans.find((i) => i.kind === 'bank')!.iban;

  let nextBase = 7_000_000_000_000;
  const position = (iupd: string, opts: { iuvs?: string[]; amount?: number } = {}) => {
    const iuvs = opts.iuvs ?? [clientIuv(seg, nextBase++), clientIuv(seg, nextBase++), clientIuv(seg, nextBase++)];
    const amount = opts.amount ?? 20000;
    const transfers = (total: number, label: string) => [
      { idTransfer: '1', amount: total - 1000, organizationFiscalCode: ente.fiscalCode, remittanceInformation: `TARI ${label}`, category: '9/0101108TS/', iban: bankIban },
      { idTransfer: '2', amount: 1000, organizationFiscalCode: province.fiscalCode, remittanceInformation: `TEFA ${label}`, category: '9/0201101IM/', iban: provinceIbans[0]!.iban },
    ];
    return {
      iupd,
      ...GPD_DEBTOR,
      switchToExpired: false,
      payStandIn: true,
      companyName: ente.name,
      officeName: 'Ufficio tributi',
      paymentOption: [
        { iuv: iuvs[0], amount, description: 'TARI 2026 unica soluzione', isPartialPayment: false, dueDate: dueTime(30), fee: 0, transfer: transfers(amount, '2026') },
        { iuv: iuvs[1], amount: amount / 2, description: 'TARI 2026 rata 1 di 2', isPartialPayment: true, dueDate: dueTime(30), transfer: transfers(amount / 2, 'rata 1') },
        { iuv: iuvs[2], amount: amount / 2, description: 'TARI 2026 rata 2 di 2', isPartialPayment: true, dueDate: dueTime(60), transfer: transfers(amount / 2, 'rata 2') },
      ],
    };
  };
  const clean = (t: Test, r: GpdAnswer) => t.same(r.problems, [], 'request and answer match gpd.json');

  const body = position('GPD-TARI-0001');
  await t.test('create: 201 DRAFT with the IUVs it brought', async (t) => {
    const r = await gpd('createPosition', { params: org, body });
    t.equal(r.status, 201, JSON.stringify(r.body));
    clean(t, r);
    t.match(r.body, { iupd: 'GPD-TARI-0001', status: 'DRAFT', fiscalCode: 'RSSMRA85T10A562S', companyName: ente.name });
    t.same(r.body.paymentOption.map((o: Json) => o.iuv), body.paymentOption.map((o) => o.iuv));
    t.same(r.body.paymentOption.map((o: Json) => o.nav), body.paymentOption.map((o) => `3${o.iuv}`));
    t.equal(r.body.paymentOption[0].dueDate.slice(0, 10), inDays(30), 'due date kept as written');
    t.equal(r.headers['x-request-id'] !== undefined, true);
  });

  await t.test('read: the base response', async (t) => {
    const r = await gpd('getOrganizationDebtPositionByIUPD', { params: { ...org, iupd: 'GPD-TARI-0001' } });
    t.equal(r.status, 200);
    clean(t, r);
    t.match(r.body, { iupd: 'GPD-TARI-0001', organizationFiscalCode: ente.fiscalCode, status: 'DRAFT' });
    t.match(r.body.paymentOption[0], { status: 'PO_UNPAID', amount: 20000, isPartialPayment: false, transfer: [{ idTransfer: '1', status: 'T_UNREPORTED' }, { idTransfer: '2' }] });
    const missing = await gpd('getOrganizationDebtPositionByIUPD', { params: { ...org, iupd: 'NOPE' } });
    t.equal(missing.status, 404);
    clean(t, missing);
    t.match(missing.body, { status: 404, title: String });
  });

  await t.test('list with filters and pages', async (t) => {
    await gpd('createPosition', { params: org, body: position('GPD-TARI-0002'), query: { toPublish: true } });
    const drafts = await gpd('getOrganizationDebtPositions', { params: org, query: { status: 'DRAFT', due_date_from: inDays(0), due_date_to: inDays(90) } });
    t.equal(drafts.status, 200);
    clean(t, drafts);
    t.same(drafts.body.payment_position_list.map((p: Json) => p.iupd), ['GPD-TARI-0001']);
    const valid = await gpd('getOrganizationDebtPositions', { params: org, query: { status: 'VALID' } });
    t.same(valid.body.payment_position_list.map((p: Json) => p.iupd), ['GPD-TARI-0002'], 'published without validity date: VALID');
    const page = await gpd('getOrganizationDebtPositions', { params: org, query: { limit: 1, page: 1, orderby: 'IUPD', ordering: 'ASC' } });
    clean(t, page);
    t.same(page.body.payment_position_list.map((p: Json) => p.iupd), ['GPD-TARI-0002']);
    t.same(page.body.page_info, { page: 1, limit: 1, items_found: 1, total_pages: 2 });
    const late = await gpd('getOrganizationDebtPositions', { params: org, query: { due_date_from: inDays(100), due_date_to: inDays(120) } });
    t.same(late.body.payment_position_list, [], 'no option due in that interval');
    const both = await gpd('getOrganizationDebtPositions', { params: org, query: { due_date_from: inDays(0), payment_date_from: inDays(0) } });
    t.equal(both.status, 400, 'due and payment intervals are exclusive');
    clean(t, both);
    const tooMany = await gpd('getOrganizationDebtPositions', { params: org, query: { limit: 51 } });
    t.equal(tooMany.status, 400);
    t.match(tooMany.problems, [/request limit/], 'the client itself sees the limit is out of the document');
  });

  await t.test('update: PUT replaces the draft, keeping its IUVs', async (t) => {
    const changed = position('GPD-TARI-0001', { iuvs: body.paymentOption.map((o) => o.iuv!), amount: 24000 });
    const r = await gpd('updatePosition', { params: { ...org, iupd: 'GPD-TARI-0001' }, body: changed });
    t.equal(r.status, 200, JSON.stringify(r.body));
    clean(t, r);
    t.equal(r.body.paymentOption[0].amount, 24000);
    t.equal(r.body.status, 'DRAFT');
    const other = await gpd('updatePosition', { params: { ...org, iupd: 'GPD-TARI-0001' }, body: { ...changed, iupd: 'ALTRO' } });
    t.equal(other.status, 400, 'body iupd must be the path one');
    const nobody = await gpd('updatePosition', { params: { ...org, iupd: 'NOPE' }, body: { ...changed, iupd: 'NOPE' } });
    t.equal(nobody.status, 404);
  });

  let nav = '';
  await t.test('publish: VALID, and the same position on /api/v1 and its notice', async (t) => {
    const r = await gpd('publishPosition', { params: { ...org, iupd: 'GPD-TARI-0001' } });
    t.equal(r.status, 200);
    clean(t, r);
    t.equal(r.body.status, 'VALID');
    const again = await gpd('publishPosition', { params: { ...org, iupd: 'GPD-TARI-0001' } });
    t.equal(again.status, 409);
    clean(t, again);
    const read = await gpd('getOrganizationDebtPositionByIUPD', { params: { ...org, iupd: 'GPD-TARI-0001' } });
    t.equal(read.body.status, 'VALID');
    t.ok(read.body.publishDate);

    const v1 = await app.inject({ url: '/api/v1/positions/GPD-TARI-0001', headers: { authorization: `Bearer ${key}` } });
    t.equal(v1.statusCode, 200);
    const p = v1.json();
    t.match(p, { iupd: 'GPD-TARI-0001', status: 'published', serviceCode: 'TARI', debtor: { fiscalCode: 'RSSMRA85T10A562S', fullName: 'Mario Rossi' } });
    t.same(p.paymentOptions.map((o: Json) => o.iuv), body.paymentOption.map((o) => o.iuv), 'one model: /api/v1 shows the GPD IUVs');
    t.same(p.paymentOptions.map((o: Json) => o.amountCents), [24000, 12000, 12000]);
    t.match(p.paymentOptions[1], { kind: 'installment', installmentNumber: 1, installmentCount: 2 });
    nav = p.paymentOptions[0].noticeNumber;
    const pdf = await app.inject({ url: `/api/v1/notices/${nav}/pdf`, headers: { authorization: `Bearer ${key}` } });
    t.equal(pdf.statusCode, 200);
    t.match(pdf.headers['content-type'], /application\/pdf/);
    t.equal(pdf.rawPayload.subarray(0, 5).toString(), '%PDF-');
  });

  await t.test('transfers patch: a new IBAN on every unpaid transfer to the organization', async (t) => {
    const bban = 'X0306903800000000999999';
    const newIban = `IT${ibanCheckDigits('IT', bban)}${bban}`;
    const bad = await gpd('updateTransferIbanMassive', { params: org, query: { oldIban: bankIban }, body: { newIban } });
    t.equal(bad.status, 400, 'an IBAN not registered for the organization');
    clean(t, bad);
    (await sqlRun(app.db, "INSERT INTO ente_ibans (ente_id, iban, kind, label) VALUES (?, ?, 'bank', 'Nuovo conto')", ente.id, newIban));
    const r = await gpd('updateTransferIbanMassive', { params: org, query: { oldIban: bankIban, limit: 1000 }, body: { newIban } });
    t.equal(r.status, 200, JSON.stringify(r.body));
    clean(t, r);
    t.equal(r.body.updatedTransfers, 6, 'three options of two positions, the organization’s transfer of each');
    const read = await gpd('getOrganizationDebtPositionByIUPD', { params: { ...org, iupd: 'GPD-TARI-0001' } });
    t.same(read.body.paymentOption.map((o: Json) => o.transfer[0].iban), [newIban, newIban, newIban]);
    t.equal(read.body.paymentOption[0].transfer[1].iban, provinceIbans[0]!.iban, 'the province’s transfer is not ours to change');
  });

  await t.test('invalidate: INVALID, then nothing more', async (t) => {
    const r = await gpd('invalidatePosition', { params: { ...org, iupd: 'GPD-TARI-0001' } });
    t.equal(r.status, 200);
    clean(t, r);
    t.equal(r.body.status, 'INVALID');
    const v1 = await app.inject({ url: '/api/v1/positions/GPD-TARI-0001', headers: { authorization: `Bearer ${key}` } });
    t.equal(v1.json().status, 'cancelled');
    for (const id of ['invalidatePosition', 'publishPosition'] as const) {
      const again = await gpd(id, { params: { ...org, iupd: 'GPD-TARI-0001' } });
      t.equal(again.status, 409, id);
      clean(t, again);
    }
    const put = await gpd('updatePosition', { params: { ...org, iupd: 'GPD-TARI-0001' }, body: position('GPD-TARI-0001', { iuvs: body.paymentOption.map((o) => o.iuv!) }) });
    t.equal(put.status, 409);
  });

  await t.test('delete: drafts only; their IUVs are never issued again', async (t) => {
    const draft = position('GPD-DRAFT-1');
    t.equal((await gpd('createPosition', { params: org, body: draft })).status, 201);
    const del = await gpd('deletePosition', { params: { ...org, iupd: 'GPD-DRAFT-1' } });
    t.equal(del.status, 200);
    clean(t, del);
    t.equal((await gpd('getOrganizationDebtPositionByIUPD', { params: { ...org, iupd: 'GPD-DRAFT-1' } })).status, 404);
    t.equal((await gpd('deletePosition', { params: { ...org, iupd: 'GPD-DRAFT-1' } })).status, 404);
    const reuse = await gpd('createPosition', { params: org, body: { ...draft, iupd: 'GPD-DRAFT-2' } });
    t.equal(reuse.status, 409, 'the deleted draft’s IUV was issued');
    clean(t, reuse);
    // A draft the back office or /api/v1 edits keeps the IUVs its GPD client brought.
    const kept = position('GPD-DRAFT-3');
    t.equal((await gpd('createPosition', { params: org, body: kept })).status, 201);
    const patch = await app.inject({ method: 'PATCH', url: '/api/v1/positions/GPD-DRAFT-3', headers: { authorization: `Bearer ${key}` }, payload: { description: 'TARI 2026 (rettifica)' } });
    t.equal(patch.statusCode, 200, patch.body);
    t.same(patch.json().paymentOptions.map((o: Json) => o.iuv), kept.paymentOption.map((o) => o.iuv), 'the client’s IUVs survive an /api/v1 edit');
    const published = await gpd('deletePosition', { params: { ...org, iupd: 'GPD-TARI-0002' } });
    t.equal(published.status, 409, 'a published position is invalidated, not deleted');
    clean(t, published);
  });

  await t.test('IUVs: foreign ones refused; the platform counter skips the clients’', async (t) => {
    const before = ((await sqlGet(app.db, 'SELECT count(*) AS n FROM positions')) as { n: number }).n;
    const tryIuv = async (iupd: string, iuv: string) => {
      const b = position(iupd);
      b.paymentOption[0]!.iuv = iuv;
      return gpd('createPosition', { params: org, body: b });
    };
    const otherSeg = await tryIuv('GPD-X-1', clientIuv(seg === '02' ? '03' : '02', 8_000_000_000_000));
    t.equal(otherSeg.status, 400, 'another segregation code');
    clean(t, otherSeg);
    t.match(otherSeg.body.detail, /paymentOption\[0\]\.iuv/);
    const good = clientIuv(seg, 8_000_000_000_001);
    const wrongCheck = await tryIuv('GPD-X-2', good.slice(0, 15) + String((Number(good.slice(15)) + 1) % 93).padStart(2, '0'));
    t.equal(wrongCheck.status, 400, 'wrong check digits');
    const short = await tryIuv('GPD-X-3', '0112345');
    t.equal(short.status, 400, 'not 17 digits');

    // A position made by /api/v1 takes the counter's next IUV…
    const v1Body = (iupd: string) => ({
      iupd,
      serviceCode: 'TARI',
      debtor: { type: 'F', fiscalCode: 'RSSMRA85T10A562S', fullName: 'Mario Rossi' },
      description: 'TARI',
      paymentOptions: [{ isInstallment: false, amountCents: 5000, dueDate: inDays(20), transfers: [{ amountCents: 5000, remittanceInformation: 'TARI', taxonomyCode: '9/0101108TS/' }] }],
    });
    const v1 = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: { authorization: `Bearer ${key}` }, payload: v1Body('V1-1') });
    t.equal(v1.statusCode, 201, v1.body);
    const platformIuv: string = v1.json().paymentOptions[0].iuv;
    const issued = await tryIuv('GPD-X-4', platformIuv);
    t.equal(issued.status, 409, 'an IUV the platform issued');
    clean(t, issued);
    const sequence = BigInt(platformIuv.slice(2, 15));
    // …a client takes the two after it…
    const taken = [clientIuv(seg, sequence + 1n), clientIuv(seg, sequence + 2n)];
    const client = await gpd('createPosition', { params: org, body: position('GPD-X-5', { iuvs: [taken[0]!, taken[1]!, clientIuv(seg, 8_000_000_000_002)] }) });
    t.equal(client.status, 201, JSON.stringify(client.body));
    const dup = await gpd('createPosition', { params: org, body: position('GPD-X-6', { iuvs: [taken[0]!, clientIuv(seg, 8_000_000_000_003), clientIuv(seg, 8_000_000_000_004)] }) });
    t.equal(dup.status, 409, 'an IUV another GPD position holds');
    // …and the platform's next ones skip them.
    const next = await app.inject({ method: 'POST', url: '/api/v1/positions', headers: { authorization: `Bearer ${key}` }, payload: v1Body('V1-2') });
    t.equal(next.statusCode, 201);
    t.equal(next.json().paymentOptions[0].iuv, clientIuv(seg, sequence + 3n), 'the counter jumped over the client’s IUVs');
    t.equal(((await sqlGet(app.db, 'SELECT count(*) AS n FROM positions')) as { n: number }).n, before + 3, 'refused bodies wrote nothing');
  });

  await t.test('conflicts and access', async (t) => {
    const dupIupd = await gpd('createPosition', { params: org, body: position('GPD-TARI-0002') });
    t.equal(dupIupd.status, 409, 'duplicate iupd');
    clean(t, dupIupd);
    t.match(dupIupd.body, { status: 409, title: 'Conflict', detail: /GPD-TARI-0002/ });

    const noKey = await gpd('getOrganizationDebtPositions', { params: org, key: null });
    t.equal(noKey.status, 401);
    clean(t, noKey);
    const badKey = await gpd('getOrganizationDebtPositions', { params: org, key: 'sael_nope' });
    t.equal(badKey.status, 401);
    const foreign = await gpd('getOrganizationDebtPositionByIUPD', { params: { organizationfiscalcode: termoli.fiscalCode, iupd: 'GPD-TARI-0002' } });
    t.equal(foreign.status, 403, 'another organization’s fiscal code');
    clean(t, foreign);
    t.match(foreign.body, { statusCode: 403, message: /not allowed/ });
    const foreignCreate = await gpd('createPosition', { params: { organizationfiscalcode: termoli.fiscalCode }, body: position('GPD-T-1') });
    t.equal(foreignCreate.status, 403);
    const bearer = await app.inject({ url: `/gpd/organizations/${ente.fiscalCode}/debtpositions/GPD-TARI-0002`, headers: { authorization: `Bearer ${key}` } });
    t.equal(bearer.statusCode, 200, 'the /api/v1 way of sending the key works too');
    const malformed = await gpd('createPosition', { params: org, body: { iupd: 'GPD-M-1' } });
    t.equal(malformed.status, 400);
    t.match(malformed.problems, [/request body/], 'the client sees it is not a PaymentPositionModel');
    t.match(malformed.body, { status: 400, title: 'Bad Request' });
  });

  await t.test('list by payment date; a paid option answers PO_PAID', async (t) => {
    // The receipt path is the station's (test/pagopa); here one option is marked paid as it leaves it.
    const paidAt = new Date().toISOString();
    (await sqlRun(app.db, "UPDATE payment_options SET status = 'paid', paid_at = ? WHERE ente_id = ? AND iuv = (SELECT o.iuv FROM payment_options o JOIN positions p ON p.id = o.position_id WHERE p.iupd = 'GPD-TARI-0002' AND o.ordinal = 0)", paidAt, ente.id));
    const r = await gpd('getOrganizationDebtPositions', { params: org, query: { payment_date_from: paidAt.slice(0, 10), payment_date_to: paidAt.slice(0, 10) } });
    t.equal(r.status, 200);
    clean(t, r);
    t.same(r.body.payment_position_list.map((p: Json) => p.iupd), ['GPD-TARI-0002']);
    t.match(r.body.payment_position_list[0].paymentOption[0], { status: 'PO_PAID', paymentDate: paidAt });
    const before = await gpd('getOrganizationDebtPositions', { params: org, query: { payment_date_to: inDays(-1) } });
    t.same(before.body.payment_position_list, [], 'nothing paid in the 30 days before yesterday');
  });

  await t.test('PUT on a published position, then publish (the GPD client’s usual pair): 200, then 409', async (t) => {
    const created = await gpd('createPosition', { params: org, body: position('GPD-PUT-PUB'), query: { toPublish: true } });
    t.equal(created.status, 201);
    const iuvs = (created.body as { paymentOption: { iuv: string }[] }).paymentOption.map((o) => o.iuv);
    const again = await gpd('publishPosition', { params: { ...org, iupd: 'GPD-PUT-PUB' } });
    t.equal(again.status, 409, 'published and unchanged: not publishable');
    await new Promise((r) => setTimeout(r, 5)); // the update's time after the publication's
    const put = await gpd('updatePosition', { params: { ...org, iupd: 'GPD-PUT-PUB' }, body: { ...position('GPD-PUT-PUB', { iuvs }), description: 'TARI 2026 – rettifica' } });
    t.equal(put.status, 200, JSON.stringify(put.body));
    const pub = await gpd('publishPosition', { params: { ...org, iupd: 'GPD-PUT-PUB' } });
    t.equal(pub.status, 200, 'changed since its publication: publish answers with the position');
    clean(t, pub);
    t.equal(pub.body.status, 'VALID');
  });
});
