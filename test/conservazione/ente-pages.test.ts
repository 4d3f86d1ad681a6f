/**
 * The ente's conservazione pages (part E): document search (repository and page), PdV / PdA
 * lists and details, downloads, IDOR between enti on every route, the PdD ZIP (unzipped here:
 * every file's SHA-256 against the signed index, the seal verified by the sealer AND by the
 * openssl commands its LEGGIMI.txt gives), the cons_dips row and the access / export events.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { and, asc, eq } from 'drizzle-orm';
import { demoCitizenProfiles, demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { enti } from '../../src/modules/enti/schema.js';
import { upsertUser } from '../../src/modules/users/repository.js';
import { indexFiles } from '../../src/modules/conservazione/dip.js';
import { pdaFilePath } from '../../src/modules/conservazione/pda.js';
import { listAips, listSips, searchDocuments } from '../../src/modules/conservazione/search.js';
import { consAips, consAlerts, consDips, consEvents } from '../../src/modules/conservazione/schema.js';
import { buildTestApp, loginAs, tempDir } from '../helpers.js';
import { archive, preserve, sha256, unzip, type FixtureDoc } from './ente-fixtures.js';
import { sqlGet } from '../../src/db/raw.js';

t.setTimeout(240_000);

const who = (role: string, istat?: string) => demoUserFiscalCodes().find((u) => u.role === role && (istat === undefined || u.enteIstat === istat))!.fiscalCode;

const file = (name: string, text: string, mime = 'application/xml') => ({ name, bytes: Buffer.from(text), mime });
const receipt = (n: number, day: string, extra: Partial<FixtureDoc> = {}): FixtureDoc => ({
  oggetto: `Ricevuta del pagamento IUV 01000000000000${n}`,
  docDate: day,
  iuv: `01000000000000${n}`,
  files: [file(`rt-${n}.xml`, `<RT><iuv>01000000000000${n}</iuv><n>${n}</n></RT>`), file(`ricevuta-${n}.pdf`, `%PDF-1.7\n% ricevuta ${n}\n%%EOF\n`, 'application/pdf')],
  ...extra,
});

t.test('ente conservazione pages, search, downloads, PdD and IDOR', async (t) => {
  const app = await buildTestApp(t);
  const enteOf = async (istat: string) => (await app.db.select().from(enti).where(eq(enti.istatCode, istat)).limit(1))[0]!;
  const cb = await enteOf('070006');
  const termoli = await enteOf('070078');
  const citizen = demoCitizenProfiles()[0]!;
  await upsertUser(app.db, citizen, { actor: 'test' });
  const cookies = {
    cbOperator: await loginAs(app, who('operator', '070006')),
    termoliAdmin: await loginAs(app, who('ente_admin', '070078')),
    termoliOperator: await loginAs(app, who('operator', '070078')),
    helpdesk: await loginAs(app, who('helpdesk')),
    sael: await loginAs(app, who('sael_admin')),
    citizen: await loginAs(app, citizen.fiscalCode),
  };
  const get = (url: string, cookie?: string) => app.inject({ url, headers: { accept: 'text/html', ...(cookie ? { cookie } : {}) } });

  const at = new Date('2026-11-10T09:00:00Z');
  const cbDocs = await preserve(
    app,
    cb.id,
    [
      receipt(1, '2026-03-01', { receivedAt: '2026-11-10T08:00:00.000Z' }),
      receipt(2, '2026-03-15', { oggetto: 'Ricevuta TARI 100% saldo', receivedAt: '2026-11-10T08:01:00.000Z' }),
      receipt(3, '2026-04-02', { receivedAt: '2026-11-10T08:02:00.000Z' }),
    ],
    { archive: true, at },
  );
  const cbAipId = cbDocs.aipId!;
  const determina = await preserve(app, cb.id, [
    { profileCode: 'determina', oggetto: 'Determina 42/2026 – affidamento', docDate: '2026-05-05', files: [file('determina.pdf', '%PDF-1.7\n% determina\n%%EOF\n', 'application/pdf')], receivedAt: '2026-11-10T08:03:00.000Z' },
    { profileCode: 'determina', oggetto: 'Determina rifiutata', docDate: '2026-05-06', files: [file('rifiutata.pdf', 'x', 'application/pdf')], rejected: { code: 'HASH_MISMATCH', message: 'Impronta diversa da quella dichiarata' }, receivedAt: '2026-11-10T08:04:00.000Z' },
  ]);
  const termoliDocs = await preserve(app, termoli.id, [receipt(9, '2026-03-01', { receivedAt: '2026-11-10T08:05:00.000Z' })], { archive: true, at });
  const termoliAipId = termoliDocs.aipId!;
  const [r1, r2, r3] = cbDocs.sipIds as [number, number, number];
  const [det, rejected] = determina.sipIds as [number, number];

  await t.test('search: filters, paging, newest first, ente scoping', async (t) => {
    const ids = async (f: Parameters<typeof searchDocuments>[1]) => (await searchDocuments(app.db, f)).items.map((d) => d.sipId);
    t.same(await ids({ enteId: cb.id }), [det, r3, r2, r1], 'accepted documents only, newest first');
    t.same(await ids({ enteId: cb.id, profileCode: 'determina' }), [det]);
    t.same(await ids({ enteId: cb.id, dateFrom: '2026-03-10', dateTo: '2026-04-30' }), [r3, r2], 'DataDocumento range, inclusive');
    t.same(await ids({ enteId: cb.id, dateFrom: '2026-04-02', dateTo: '2026-04-02' }), [r3]);
    t.same(await ids({ enteId: cb.id, iuv: '010000000000003' }), [r3]);
    t.same(await ids({ enteId: cb.id, oggetto: 'tari 100%' }), [r2], 'oggetto contains, case-insensitive, % literal');
    t.same(await ids({ enteId: cb.id, oggetto: '100_' }), [], '_ literal');
    const aipUrn = (await app.db.select({ urn: consAips.urn }).from(consAips).where(eq(consAips.id, cbAipId)).limit(1))[0]!.urn;
    t.same(await ids({ enteId: cb.id, urn: aipUrn }), [r3, r2, r1], 'by the PdA URN');
    const d1 = (await searchDocuments(app.db, { enteId: cb.id, iuv: '010000000000001' })).items[0]!;
    t.same(await ids({ enteId: cb.id, urn: d1.urn }), [r1], 'by the PdV URN');
    t.same(await ids({ enteId: cb.id, urn: d1.urn.replace(':pdv:', ':rdv:') }), [r1], 'by the RdV URN');
    t.equal(d1.aipId, cbAipId, 'with its current PdA');
    t.same(await ids({ enteId: termoli.id, urn: aipUrn }), [], 'another ente’s PdA URN finds nothing');
    t.same(await ids({ enteId: termoli.id, iuv: '010000000000001' }), []);
    const paged = await searchDocuments(app.db, { enteId: cb.id, pageSize: 3, page: 2 });
    t.same([paged.total, paged.pages, paged.items.map((d) => d.sipId)], [4, 2, [r1]]);
    t.equal((await searchDocuments(app.db, { enteId: null, iuv: '010000000000009' })).items[0]?.enteName, 'Comune di Termoli', 'every ente (helpdesk)');
    t.same((await listSips(app.db, { enteId: cb.id, status: 'rejected' })).items.map((s) => [s.id, s.esitoCode]), [[rejected, 'KO']]);
    t.equal((await listSips(app.db, { enteId: cb.id })).total, 5);
    t.same((await listAips(app.db, { enteId: cb.id })).items.map((a) => a.id), [cbAipId]);
  });

  await t.test('pages: overview with search form and results, lists, details', async (t) => {
    const base = `/backoffice/enti/${cb.id}/conservazione`;
    let res = await get(base, cookies.cbOperator);
    t.equal(res.statusCode, 200);
    t.match(res.body, /<form method="get" action="\/backoffice\/enti\/\d+\/conservazione"/, 'GET search form');
    t.match(res.body, /4 documenti – pagina 1 di 1/);
    t.match(res.body, `href="${base}/versamento"`, 'link to the upload page');
    t.match((await get(base, cookies.sael)).body, `href="${base}/versamento"`, 'the SAEL admin may upload too');
    t.notMatch((await get(base, cookies.helpdesk)).body, `href="${base}/versamento"`, 'the helpdesk only reads');
    t.match(res.body, `href="${base}/pda/${cbAipId}"`);
    res = await get(`${base}?iuv=010000000000002&profilo=ricevuta-pagopa`, cookies.cbOperator);
    t.match(res.body, /1 documenti trovati/);
    const table = (html: string) => /<table[\s\S]*?<\/table>/.exec(html)![0];
    t.match(table(res.body), /Ricevuta TARI 100% saldo/);
    t.notMatch(table(res.body), /IUV 010000000000001/);
    res = await get(`${base}?dal=2026-05-01&al=2026-04-01`, cookies.cbOperator);
    t.equal(res.statusCode, 400, 'dal after al');
    t.match(res.body, /successiva alla data/);
    t.equal((await get(`${base}?dal=ieri`, cookies.cbOperator)).statusCode, 400, 'malformed date');
    t.equal((await get(`${base}?pagina=0`, cookies.cbOperator)).statusCode, 400);

    res = await get(`${base}/pdv?stato=rejected`, cookies.cbOperator);
    t.equal(res.statusCode, 200);
    t.match(res.body, /Determina rifiutata/);
    t.match(res.body, /Versamento rifiutato/, 'the esito message of a rejected PdV');
    t.notMatch(table(res.body), /IUV 010000000000001/);
    res = await get(`${base}/pdv/${rejected}`, cookies.cbOperator);
    t.equal(res.statusCode, 200);
    t.match(res.body, /HASH_MISMATCH/);
    t.match(res.body, /Impronta diversa da quella dichiarata/);
    t.match(res.body, /il versamento è stato rifiutato/);
    res = await get(`${base}/pdv/${r1}`, cookies.cbOperator);
    t.match(res.body, /FORMAT_DEPRECATED/);
    t.match(res.body, `${base}/pdv/${r1}/rdv.xml`);
    t.match(res.body, `PdA ${cbAipId} versione 1`);
    res = await get(`${base}/pdv/${r1}/rdv.xml`, cookies.cbOperator);
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-type'], /application\/xml/);
    t.match(res.body, /RapportoVersamento/);
    t.equal(res.headers['x-content-sha256'], sha256(res.rawPayload));
    t.equal((await get(`${base}/pdv/${rejected}/rdv.xml`, cookies.cbOperator)).statusCode, 404, 'a rejected PdV has no RdV');

    res = await get(`${base}/pda`, cookies.cbOperator);
    t.match(res.body, `PdA ${cbAipId}`);
    res = await get(`${base}/pda/${cbAipId}`, cookies.cbOperator);
    t.equal(res.statusCode, 200);
    for (const d of ['pdd.zip', 'indice.xml', 'indice.xml.p7s', 'indice.tsr']) t.match(res.body, `${base}/pda/${cbAipId}/${d}`);
    t.match(res.body, `pdd.zip?documento=${r2}`);
    t.match(res.body, /DataDocumento/);
    const aip = (await app.db.select().from(consAips).where(eq(consAips.id, cbAipId)).limit(1))[0]!;
    for (const [name, key] of [['indice.xml', aip.indexKey], ['indice.xml.p7s', aip.signatureKey], ['indice.tsr', aip.timestampKey]] as const) {
      const dl = await get(`${base}/pda/${cbAipId}/${name}`, cookies.cbOperator);
      t.equal(dl.statusCode, 200, name);
      t.equal(sha256(dl.rawPayload), key, `${name}: the stored bytes`);
    }
  });

  await t.test('IDOR: other enti, citizens and anonymous get nothing; helpdesk and SAEL see every ente', async (t) => {
    const routes = (enteId: number, sip: number, aip: number) => {
      const b = `/backoffice/enti/${enteId}/conservazione`;
      return [b, `${b}/pdv`, `${b}/pdv/${sip}`, `${b}/pdv/${sip}/rdv.xml`, `${b}/pda`, `${b}/pda/${aip}`, `${b}/pda/${aip}/indice.xml`, `${b}/pda/${aip}/indice.xml.p7s`, `${b}/pda/${aip}/indice.tsr`, `${b}/pda/${aip}/pdd.zip`];
    };
    const cbRoutes = routes(cb.id, r1, cbAipId);
    const termoliRoutes = routes(termoli.id, termoliDocs.sipIds[0]!, termoliAipId);
    // Campobasso's objects through Termoli's URL: the ente is allowed, the objects are not its own.
    const crossed = routes(termoli.id, r1, cbAipId).filter((u) => /\/(pdv|pda)\/\d+/.test(u));
    const dipsBefore = (await app.db.select().from(consDips)).length;
    for (const url of cbRoutes) {
      for (const [who, cookie] of [['Termoli admin', cookies.termoliAdmin], ['Termoli operator', cookies.termoliOperator], ['citizen', cookies.citizen]] as const) {
        t.equal((await get(url, cookie)).statusCode, 404, `${who}: ${url}`);
      }
      t.equal((await get(url)).statusCode, 401, `anonymous: ${url}`);
    }
    for (const url of crossed) t.equal((await get(url, cookies.termoliAdmin)).statusCode, 404, `Termoli admin, Campobasso id in Termoli's path: ${url}`);
    for (const url of termoliRoutes) t.equal((await get(url, cookies.cbOperator)).statusCode, 404, `Campobasso operator: ${url}`);
    t.equal((await app.db.select().from(consDips)).length, dipsBefore, 'no PdD was made for a refused request');
    t.equal((await get(`/backoffice/enti/99999/conservazione`, cookies.sael)).statusCode, 404, 'unknown ente');
    for (const url of [...cbRoutes, ...termoliRoutes]) {
      t.equal((await get(url, cookies.helpdesk)).statusCode, 200, `helpdesk: ${url}`);
      t.equal((await get(url, cookies.sael)).statusCode, 200, `sael_admin: ${url}`);
    }
    for (const url of termoliRoutes) t.equal((await get(url, cookies.termoliOperator)).statusCode, 200, `Termoli operator on its own: ${url}`);
    t.equal((await get(`/backoffice/enti/${cb.id}/conservazione/pda/${cbAipId}/pdd.zip?documento=${termoliDocs.sipIds[0]}`, cookies.cbOperator)).statusCode, 404, 'another ente’s document in the PdD selection');
  });

  await t.test('PdD: every file hashes to the signed index; seal verified by the sealer and by openssl as LEGGIMI says', async (t) => {
    const url = `/backoffice/enti/${cb.id}/conservazione/pda/${cbAipId}/pdd.zip`;
    const seqBefore = (await app.db.select().from(consEvents).orderBy(consEvents.seq)).length;
    const res = await get(url, cookies.cbOperator);
    t.equal(res.statusCode, 200);
    t.equal(res.headers['content-type'], 'application/zip');
    t.match(res.headers['content-disposition'], /attachment; filename="urn_sael-pay_.*_pdd_\d{4}_\d+\.zip"/);
    const zip = unzip(res.rawPayload);
    const index = zip.get('indice.xml')!;
    t.ok(index, 'the index');
    const listed = indexFiles(index.toString('utf8'));
    t.equal(listed.length, 6, 'three receipts, two files each');
    for (const f of listed) {
      t.ok(zip.has(f.path), `${f.path} in the ZIP at the index path`);
      t.equal(sha256(zip.get(f.path)!), f.sha256, `${f.path}: SHA-256 as in the index`);
    }
    for (const name of ['indice.xml.p7s', 'indice.tsr', 'LEGGIMI.txt', 'SHA256SUMS', 'certificati/conservatore.pem']) t.ok(zip.has(name), name);
    t.equal([...zip.keys()].filter((n) => n.startsWith('rdv/')).length, 3, 'one RdV per document');
    const sealer = (await app.conservazione.sealer())!;
    const check = await sealer.verify(index, zip.get('indice.xml.p7s')!, zip.get('indice.tsr')!);
    t.ok(check.ok, `sealer: ${check.message}`);
    const tampered = Buffer.from(index);
    tampered[tampered.length - 20] = tampered[tampered.length - 20]! ^ 1;
    t.notOk((await sealer.verify(tampered, zip.get('indice.xml.p7s')!, zip.get('indice.tsr')!)).ok, 'one byte changed: the signature fails');

    // The user's way: extract, then the commands of LEGGIMI.txt.
    const dir = tempDir(t, 'pdd-');
    for (const [name, bytes] of zip) {
      fs.mkdirSync(path.join(dir, path.dirname(name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), bytes);
    }
    const readme = zip.get('LEGGIMI.txt')!.toString('utf8');
    t.match(readme, /sha256sum -c SHA256SUMS/);
    const sums = execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir, encoding: 'utf8' });
    t.equal((sums.match(/: OK$/gm) ?? []).length, 6, 'sha256sum -c: every file OK');
    const cms = /openssl cms -verify[^\n]*\\\n[^\n]*/.exec(readme)![0].replace(/\\\n\s*/, '');
    const cmsOut = execFileSync('sh', ['-c', `${cms} 2>&1`], { cwd: dir, encoding: 'utf8' });
    t.match(cmsOut, /Verification successful/, `openssl cms: ${cmsOut.trim()}`);
    const recipe = /(off=\$\(openssl asn1parse[^\n]*)\n\s*(openssl asn1parse[^\n]*)\n\s*(tail -c \+5 firma\.der \| sha256sum)/.exec(readme)!;
    const digest = execFileSync('sh', ['-c', `${recipe[1]}\n${recipe[2]}\n${recipe[3]}`], { cwd: dir, encoding: 'utf8' }).slice(0, 64);
    t.match(readme, `deve dare ${digest}`, 'the recipe of LEGGIMI recomputes the time-stamped digest from the .p7s');
    const ts = /openssl ts -verify[^\n]*/.exec(readme)![0];
    t.match(ts, `-digest ${digest}`);
    const tsOut = execFileSync('sh', ['-c', `${ts} 2>&1`], { cwd: dir, encoding: 'utf8' });
    t.match(tsOut, /Verification: OK/, `openssl ts: ${tsOut.trim()}`);

    const dip = (await app.db.select().from(consDips).where(eq(consDips.urn, res.headers['x-pdd-urn'] as string)).limit(1))[0]!;
    t.same([dip.enteId, dip.aipId, dip.sipIds], [cb.id, cbAipId, null], 'cons_dips row');
    const events = (await app.db.select().from(consEvents).orderBy(consEvents.seq)).slice(seqBefore);
    t.same(events.map((e) => [e.kind, e.subject]), [['export', `dip:${dip.id}`]], 'one export event');
    const audit = (await sqlGet(app.db, "SELECT * FROM audit_log WHERE action = 'conservazione.pdd.create' AND entity_id = ?", String(dip.id))) as { ente_id: number } | undefined;
    t.equal(audit?.ente_id, cb.id, 'audited');

    // One document only.
    const one = await get(`${url}?documento=${r2}`, cookies.cbOperator);
    t.equal(one.statusCode, 200);
    const z1 = unzip(one.rawPayload);
    const docFiles = [...z1.keys()].filter((n) => n.startsWith('documenti/'));
    t.same(docFiles.sort(), [pdaFilePath(r2, 0, 'rt-2.xml'), pdaFilePath(r2, 1, 'ricevuta-2.pdf')].sort());
    t.equal(z1.get('SHA256SUMS')!.toString().trim().split('\n').length, 2);
    t.equal((await app.db.select().from(consDips).where(eq(consDips.urn, one.headers['x-pdd-urn'] as string)).limit(1))[0]!.sipIds, JSON.stringify([r2]));
    t.equal((await get(`${url}?documento=${det}`, cookies.cbOperator)).statusCode, 404, 'a document not in this PdA');
  });

  await t.test('access events for detail views and downloads', async (t) => {
    const n = async () => await app.db.select().from(consEvents).where(and(eq(consEvents.kind, 'access'), eq(consEvents.enteId, cb.id))).orderBy(asc(consEvents.seq));
    const before = (await n()).length;
    const b = `/backoffice/enti/${cb.id}/conservazione`;
    for (const u of [`${b}/pdv/${r1}`, `${b}/pdv/${r1}/rdv.xml`, `${b}/pda/${cbAipId}`, `${b}/pda/${cbAipId}/indice.xml`]) await get(u, cookies.helpdesk);
    const added = (await n()).slice(before);
    t.same(
      added.map((e) => [e.subject, JSON.parse(e.details).what]),
      [[`sip:${r1}`, 'pdv-page'], [`sip:${r1}`, 'rdv-download'], [`aip:${cbAipId}`, 'pda-page'], [`aip:${cbAipId}`, 'indice.xml']],
    );
    t.ok(added.every((e) => e.actor.startsWith('user:')));
    await get(b, cookies.helpdesk);
    t.equal((await n()).length, before + 4, 'the overview is not an access to a package');
  });

  await t.test('versions: a new PdA version links the old one; the search shows the current', async (t) => {
    const v2 = await archive(app, cb.id, [{ sipId: r1, doc: receipt(1, '2026-03-01', { oggetto: 'Ricevuta corretta IUV 010000000000001' }) }], { previous: cbAipId });
    const res = await get(`/backoffice/enti/${cb.id}/conservazione/pda/${v2}`, cookies.cbOperator);
    t.match(res.body, /Versioni/);
    t.match(res.body, `/pda/${cbAipId}">PdA ${cbAipId} versione 1</a>`);
    t.match(res.body, `<strong>PdA ${v2} versione 2</strong>`);
    const d = (await searchDocuments(app.db, { enteId: cb.id, iuv: '010000000000001' })).items[0]!;
    t.same([d.aipId, d.aipVersion], [v2, 2]);
    // PdA 1 keeps its two other documents (still active); r1's entry there is marked as replaced.
    const v1 = (await get(`/backoffice/enti/${cb.id}/conservazione/pda/${cbAipId}`, cookies.cbOperator)).body;
    t.equal((v1.match(/metadati sostituiti da una versione successiva/g) ?? []).length, 1);
    t.match(v1, /Attivo/);
  });

  await t.test('a discarded PdA: its page says so, its files are not offered (410)', async (t) => {
    const { aipId } = await preserve(app, cb.id, [receipt(7, '2016-01-01')], { archive: true });
    await app.db.update(consAips).set({ status: 'discarded', discardedAt: '2026-11-20T10:00:00.000Z' }).where(eq(consAips.id, aipId!));
    const b = `/backoffice/enti/${cb.id}/conservazione/pda/${aipId}`;
    const page = await get(b, cookies.cbOperator);
    t.equal(page.statusCode, 200);
    t.match(page.body, /Il pacchetto è stato scartato il 20\/11\/2026/);
    t.notMatch(page.body, /pdd\.zip/);
    for (const d of ['pdd.zip', 'indice.xml', 'indice.xml.p7s', 'indice.tsr']) t.equal((await get(`${b}/${d}`, cookies.cbOperator)).statusCode, 410, d);
  });

  await t.test('a stored file altered after archiving: the PdD is not handed out whole', async (t) => {
    const aip = (await app.db.select().from(consAips).where(eq(consAips.id, termoliAipId)).limit(1))[0]!;
    const listed = indexFiles((await app.conservazione.store.get(aip.indexKey)).toString('utf8'));
    const key = listed[0]!.sha256;
    const stored = path.join(app.config.conservazione.dir, 'store', key.slice(0, 2), key.slice(2, 4), key);
    fs.chmodSync(stored, 0o644);
    const bytes = fs.readFileSync(stored);
    bytes[0] = bytes[0]! ^ 1;
    fs.writeFileSync(stored, bytes);
    const res = await get(`/backoffice/enti/${termoli.id}/conservazione/pda/${termoliAipId}/pdd.zip`, cookies.termoliAdmin).catch((e: Error) => e);
    if (res instanceof Error) t.pass(`download aborted: ${res.message}`);
    else t.throws(() => unzip(res.rawPayload), /truncated|bad central/, 'the ZIP is cut short, never complete with a wrong file');
    let alert;
    for (let i = 0; i < 50 && !alert; i++) {
      alert = (await app.db.select().from(consAlerts).where(eq(consAlerts.subject, `blob:${key}`)).limit(1))[0];
      if (!alert) await new Promise((r) => setTimeout(r, 20));
    }
    t.same([alert?.kind, alert?.enteId, alert?.ticketId !== null], ['fixity_mismatch', termoli.id, true], 'an alert (and ticket) for the responsabile');
  });
});
