import t from 'tap';
import { demoUserFiscalCodes } from '../src/modules/enti/demo-seed.js';
import { listEnti, listIbans, listServices } from '../src/modules/enti/repository.js';
import { numericFiscalCodeFromBase } from '../src/domain/fiscal-code.js';
import { ibanCheckDigits } from '../src/domain/iban.js';
import { buildTestApp, csrfFrom, form, FORM_HEADERS, loginAs } from './helpers.js';
import type { FastifyInstance } from 'fastify';
import { sqlGet } from '../src/db/raw.js';

const count = async (app: FastifyInstance, table: string) =>
  ((await sqlGet(app.db, `SELECT count(*) AS n FROM ${table}`)) as { n: number }).n;

t.test('enti admin pages', async (t) => {
  const app = await buildTestApp(t);
  const admin = await loginAs(app, demoUserFiscalCodes().find((u) => u.role === 'sael_admin')!.fiscalCode);

  await t.test('CSRF: a form POST without a valid token is refused and writes nothing', async (t) => {
    const entiBefore = await count(app, 'enti');
    const auditBefore = await count(app, 'audit_log');
    const body = { kind: 'comune', name: 'Comune di Prova', fiscalCode: numericFiscalCodeFromBase('8000000001'), ipaCode: 'c_zzzz', segregationCode: '02' };
    const none = await app.inject({ method: 'POST', url: '/admin/enti', headers: { ...FORM_HEADERS, cookie: admin }, payload: form(body) });
    t.equal(none.statusCode, 403);
    t.match(none.body, /verifica CSRF non superata/);
    const forged = await app.inject({ method: 'POST', url: '/admin/enti', headers: { ...FORM_HEADERS, cookie: admin }, payload: form({ ...body, _csrf: 'forged-token' }) });
    t.equal(forged.statusCode, 403);
    // A token from another session is not valid here either.
    const other = await loginAs(app, demoUserFiscalCodes().find((u) => u.role === 'sael_admin')!.fiscalCode);
    const { token: otherToken } = await csrfFrom(app, '/admin/enti/nuovo', other);
    const crossed = await app.inject({ method: 'POST', url: '/admin/enti', headers: { ...FORM_HEADERS, cookie: admin }, payload: form({ ...body, _csrf: otherToken }) });
    t.equal(crossed.statusCode, 403);
    t.equal(await count(app, 'enti'), entiBefore);
    t.equal(await count(app, 'audit_log'), auditBefore);
  });

  await t.test('create an ente: invalid fields re-shown with messages (400), valid one audited', async (t) => {
    const { token } = await csrfFrom(app, '/admin/enti/nuovo', admin);
    const entiBefore = await count(app, 'enti');
    const bad = await app.inject({
      method: 'POST', url: '/admin/enti', headers: { ...FORM_HEADERS, cookie: admin },
      payload: form({ _csrf: token, kind: 'comune', name: 'X', fiscalCode: '12345678901', ipaCode: 'c bad', segregationCode: '77', email: 'nope' }),
    });
    t.equal(bad.statusCode, 400);
    t.match(bad.body, /cifra di controllo corretta/);
    t.match(bad.body, /da 00 a 45/);
    t.match(bad.body, /Indirizzo email non valido/);
    t.match(bad.body, /value="c bad"/, 'typed values kept');
    t.equal(await count(app, 'enti'), entiBefore, 'nothing written');

    const duplicate = await app.inject({
      method: 'POST', url: '/admin/enti', headers: { ...FORM_HEADERS, cookie: admin },
      payload: form({ _csrf: token, kind: 'comune', name: 'Comune Doppio', fiscalCode: (await listEnti(app.db, { q: 'Termoli' }))[0]!.fiscalCode, ipaCode: 'c_dupl', segregationCode: '01' }),
    });
    t.equal(duplicate.statusCode, 400);
    t.match(duplicate.body, /già usato da Comune di Termoli/);

    const cf = numericFiscalCodeFromBase('8000000002');
    const ok = await app.inject({
      method: 'POST', url: '/admin/enti', headers: { ...FORM_HEADERS, cookie: admin },
      payload: form({ _csrf: token, kind: 'comune', name: 'Comune di Prova', fiscalCode: cf, ipaCode: 'c_prova', segregationCode: '03', member: 'on' }),
    });
    t.equal(ok.statusCode, 303);
    const created = (await listEnti(app.db, { q: 'Comune di Prova' }))[0]!;
    t.equal(ok.headers.location, `/admin/enti/${created.id}`);
    t.equal(created.member, true);
    const audit = (await sqlGet(app.db, "SELECT * FROM audit_log WHERE entity = 'ente' AND entity_id = ?", String(created.id))) as Record<string, string | undefined>;
    t.equal(audit.action, 'create');
    t.match(audit.actor, /^user:\d+$/);
    t.match(JSON.parse(audit.after!), { fiscalCode: cf, name: 'Comune di Prova' });
    t.ok(audit.request_id);
  });

  await t.test('IBANs: check digits verified, postal accounts recognised, deactivation audited', async (t) => {
    const ente = (await listEnti(app.db, { q: 'Comune di Prova' }))[0]!;
    const { token } = await csrfFrom(app, `/admin/enti/${ente.id}`, admin);
    const bad = await app.inject({
      method: 'POST', url: `/admin/enti/${ente.id}/iban`, headers: { ...FORM_HEADERS, cookie: admin },
      payload: form({ _csrf: token, iban: 'IT61X0542811101000000123456', label: 'Tesoreria' }),
    });
    t.equal(bad.statusCode, 400);
    t.match(bad.body, /IBAN non valido/);
    t.equal((await listIbans(app.db, ente.id)).length, 0);
    const bban = 'X0760103800000012345678';
    const postal = `IT${ibanCheckDigits('IT', bban)}${bban}`;
    const ok = await app.inject({
      method: 'POST', url: `/admin/enti/${ente.id}/iban`, headers: { ...FORM_HEADERS, cookie: admin },
      payload: form({ _csrf: token, iban: postal.replace(/(.{4})/g, '$1 '), label: 'Conto postale' }),
    });
    t.equal(ok.statusCode, 303);
    const [iban] = await listIbans(app.db, ente.id);
    t.equal(iban!.iban, postal, 'stored without spaces');
    t.equal(iban!.kind, 'postal');
    const again = await app.inject({
      method: 'POST', url: `/admin/enti/${ente.id}/iban`, headers: { ...FORM_HEADERS, cookie: admin },
      payload: form({ _csrf: token, iban: postal, label: 'Conto postale' }),
    });
    t.equal(again.statusCode, 400);
    t.match(again.body, /già registrato/);
    const off = await app.inject({
      method: 'POST', url: `/admin/enti/${ente.id}/iban/${iban!.id}/stato`, headers: { ...FORM_HEADERS, cookie: admin },
      payload: form({ _csrf: token, active: 'false' }),
    });
    t.equal(off.statusCode, 303);
    t.equal((await listIbans(app.db, ente.id))[0]!.active, false);
    const audit = (await sqlGet(app.db, "SELECT before, after FROM audit_log WHERE entity = 'ente_iban' AND action = 'deactivate'")) as { before: string; after: string };
    t.equal(JSON.parse(audit.before).active, true);
    t.equal(JSON.parse(audit.after).active, false);
  });

  await t.test('payment services by the ente admin', async (t) => {
    const termoli = (await listEnti(app.db, { q: 'Termoli' }))[0]!;
    const enteAdmin = await loginAs(app, demoUserFiscalCodes().find((u) => u.role === 'ente_admin')!.fiscalCode);
    const { token } = await csrfFrom(app, `/admin/enti/${termoli.id}/servizi/nuovo`, enteAdmin);
    const bad = await app.inject({
      method: 'POST', url: `/admin/enti/${termoli.id}/servizi`, headers: { ...FORM_HEADERS, cookie: enteAdmin },
      payload: form({ _csrf: token, code: 'TARI', name: 'Doppione', taxonomyCode: '0101101IM', amountMode: 'fixed', fixedAmount: '12,345' }),
    });
    t.equal(bad.statusCode, 400);
    t.match(bad.body, /Codice tassonomia pagoPA non valido/);
    t.match(bad.body, /Importo non valido/);
    const dup = await app.inject({
      method: 'POST', url: `/admin/enti/${termoli.id}/servizi`, headers: { ...FORM_HEADERS, cookie: enteAdmin },
      payload: form({ _csrf: token, code: 'TARI', name: 'Doppione', taxonomyCode: '9/0101101IM/', amountMode: 'free' }),
    });
    t.equal(dup.statusCode, 400);
    t.match(dup.body, /Esiste già un servizio con questo codice/);
    const before = (await listServices(app.db, termoli.id)).length;
    const ok = await app.inject({
      method: 'POST', url: `/admin/enti/${termoli.id}/servizi`, headers: { ...FORM_HEADERS, cookie: enteAdmin },
      payload: form({ _csrf: token, code: 'TRASPORTO', name: 'Trasporto scolastico', taxonomyCode: '9/0201133IM/', amountMode: 'fixed', fixedAmount: '35,50', spontaneous: 'on', active: 'on' }),
    });
    t.equal(ok.statusCode, 303);
    const services = await listServices(app.db, termoli.id);
    t.equal(services.length, before + 1);
    const created = services.find((s) => s.code === 'TRASPORTO')!;
    t.equal(created.fixedAmountCents, 3550);
    t.equal(created.spontaneous, true);
    // The ente admin of Termoli cannot write to Campobasso's services.
    const campobasso = (await listEnti(app.db, { q: 'Campobasso', kind: 'comune' }))[0]!;
    const denied = await app.inject({
      method: 'POST', url: `/admin/enti/${campobasso.id}/servizi`, headers: { ...FORM_HEADERS, cookie: enteAdmin },
      payload: form({ _csrf: token, code: 'X1', name: 'Intruso', taxonomyCode: '9/0201133IM/', amountMode: 'free' }),
    });
    t.equal(denied.statusCode, 403);
    t.notOk((await listServices(app.db, campobasso.id)).some((s) => s.code === 'X1'));
  });

  await t.test('operators granted and revoked by fiscal code', async (t) => {
    const termoli = (await listEnti(app.db, { q: 'Termoli' }))[0]!;
    const { token } = await csrfFrom(app, `/admin/enti/${termoli.id}`, admin);
    const bad = await app.inject({
      method: 'POST', url: `/admin/enti/${termoli.id}/operatori`, headers: { ...FORM_HEADERS, cookie: admin },
      payload: form({ _csrf: token, fiscalCode: 'RSSMRA85T10A562T', role: 'operator' }),
    });
    t.equal(bad.statusCode, 400);
    t.match(bad.body, /Codice fiscale della persona non valido/);
    const ok = await app.inject({
      method: 'POST', url: `/admin/enti/${termoli.id}/operatori`, headers: { ...FORM_HEADERS, cookie: admin },
      payload: form({ _csrf: token, fiscalCode: 'rssmra85t10a562s', role: 'operator' }),
    });
    t.equal(ok.statusCode, 303);
    const grant = (await sqlGet(app.db, "SELECT g.id FROM role_grants g JOIN users u ON u.id = g.user_id WHERE u.fiscal_code = 'RSSMRA85T10A562S' AND g.ente_id = ?", termoli.id)) as { id: number };
    t.ok(grant);
    const campobasso = (await listEnti(app.db, { q: 'Campobasso', kind: 'comune' }))[0]!;
    const wrongEnte = await app.inject({
      method: 'POST', url: `/admin/enti/${campobasso.id}/operatori/${grant.id}/revoca`, headers: { ...FORM_HEADERS, cookie: admin },
      payload: form({ _csrf: token }),
    });
    t.equal(wrongEnte.statusCode, 404, 'a grant is revoked only through its own ente');
    const revoke = await app.inject({
      method: 'POST', url: `/admin/enti/${termoli.id}/operatori/${grant.id}/revoca`, headers: { ...FORM_HEADERS, cookie: admin },
      payload: form({ _csrf: token }),
    });
    t.equal(revoke.statusCode, 303);
    t.equal(((await sqlGet(app.db, 'SELECT count(*) AS n FROM role_grants WHERE id = ?', grant.id)) as { n: number }).n, 0);
    t.equal(await count(app, "audit_log WHERE entity = 'role_grant' AND action = 'revoke'"), 1);
  });
});

t.test('stemma upload: PNG or JPEG only, served from /stemmi with its hash in the name', async (t) => {
  const app = await buildTestApp(t);
  const admin = await loginAs(app, demoUserFiscalCodes().find((u) => u.role === 'sael_admin')!.fiscalCode);
  const ente = (await listEnti(app.db, { q: 'Termoli' }))[0]!;
  const { token, cookie } = await csrfFrom(app, `/admin/enti/${ente.id}`, admin);
  const boundary = '----stemma';
  const upload = (name: string, type: string, data: Buffer, withToken = true) =>
    app.inject({
      method: 'POST',
      url: `/admin/enti/${ente.id}/stemma`,
      headers: { cookie, accept: 'text/html', 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: Buffer.concat([
        // The token is a field before the file, never in the URL.
        Buffer.from(withToken ? `--${boundary}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${token}\r\n` : ''),
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="logo"; filename="${name}"\r\nContent-Type: ${type}\r\n\r\n`),
        data,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]),
    });
  // A 1×1 PNG.
  const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000' + '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082', 'hex');
  t.equal((await upload('x.png', 'image/png', png, false)).statusCode, 403, 'CSRF');
  const svg = await upload('x.svg', 'image/svg+xml', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'));
  t.equal(svg.statusCode, 400);
  t.match(svg.body, /non è un’immagine PNG o JPEG/);
  const ok = await upload('stemma.png', 'image/png', png);
  t.equal(ok.statusCode, 303);
  const logoPath = (await listEnti(app.db, { q: 'Termoli' }))[0]!.logoPath!;
  t.match(logoPath, /^\/stemmi\/\d+-[0-9a-f]{12}\.png$/);
  const served = await app.inject(logoPath);
  t.equal(served.statusCode, 200);
  t.equal(served.headers['content-type'], 'image/png');
  t.same(served.rawPayload, png);
  t.equal((await app.inject('/stemmi/..%2F..%2Fsael-pay.sqlite')).statusCode, 400, 'no path traversal');
  t.equal((await app.inject('/stemmi/1-000000000000.png')).statusCode, 404);
});
