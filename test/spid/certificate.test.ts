import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ensureSpCertificate, describeCertificate, loadX509, OID, type SpCertificateParams } from '../../src/modules/spid/certificate.js';

const params: SpCertificateParams = {
  commonName: 'Provincia di Campobasso',
  organizationName: 'Provincia di Campobasso',
  ipaCode: 'p_cb',
  localityName: 'Campobasso',
  entityId: 'https://pagamenti.provincia.campobasso.it',
};
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

t.test('ensureSpCertificate: generates once (key 0600), then loads', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spcert-'));
  const first = await ensureSpCertificate(path.join(dir, 'sp'), params);
  t.equal(first.generated, true);
  t.equal(fs.statSync(first.keyPath).mode & 0o777, 0o600, 'key mode 0600');
  t.match(first.keyPem, /^-----BEGIN PRIVATE KEY-----/);
  const second = await ensureSpCertificate(path.join(dir, 'sp'), params);
  t.equal(second.generated, false);
  t.equal(second.certPem, first.certPem);
  fs.rmSync(first.certPath);
  await t.rejects(ensureSpCertificate(path.join(dir, 'sp'), params), /incomplete/);

  // ---- every field and extension, read back with @peculiar/x509
  const x509 = await loadX509();
  const cert = new x509.X509Certificate(first.certPem);
  const info = await describeCertificate(first.certPem);
  t.same(info.subject[OID.commonName], ['Provincia di Campobasso']);
  t.same(info.subject[OID.organizationName], ['Provincia di Campobasso']);
  t.same(info.subject[OID.organizationIdentifier], ['PA:IT-p_cb']);
  t.match(info.subject[OID.organizationIdentifier]![0], /^PA:IT-\S{1,16}$/);
  t.same(info.subject[OID.countryName], ['IT']);
  t.same(info.subject[OID.localityName], ['Campobasso']);
  t.same(info.subject[OID.uri], [params.entityId]);
  for (const forbidden of [OID.name, OID.surname, OID.givenName, OID.initials, OID.pseudonym, '1.2.840.113549.1.9.1']) {
    t.notOk(info.subject[forbidden], `no ${forbidden} in the subject`);
  }
  t.equal(cert.subject, cert.issuer, 'self-signed');
  t.ok(await cert.verify({ signatureOnly: true }), 'self-signature verifies');
  t.equal(info.publicKeyBits, 3072, 'RSA 3072 by default');
  const days = (info.notAfter.getTime() - info.notBefore.getTime()) / 86_400_000;
  t.equal(Math.round(days), 730, 'validity 730 days');
  t.match(cert.signatureAlgorithm, { name: 'RSASSA-PKCS1-v1_5', hash: { name: 'SHA-256' } });
  const ku = cert.getExtension(x509.KeyUsagesExtension)!;
  t.equal(ku.critical, true, 'keyUsage critical');
  t.equal(ku.usages, x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation, 'digitalSignature + nonRepudiation only');
  const bc = cert.getExtension(x509.BasicConstraintsExtension)!;
  t.equal(bc.critical, false);
  t.equal(bc.ca, false, 'CA:FALSE');
  const cp = cert.getExtension(x509.CertificatePolicyExtension)!;
  t.equal(cp.critical, false, 'certificatePolicies not critical');
  t.same([...cp.policies], ['1.3.76.16.6', '1.3.76.16.4.2.1']);
  const raw = Buffer.from(cp.value).toString('latin1');
  t.match(raw, 'agIDcert');
  t.match(raw, 'cert_SP_Pub');

  // ---- and with openssl
  if (!hasOpenssl) {
    t.skip('openssl not installed', () => {});
    return;
  }
  const text = spawnSync('openssl', ['x509', '-noout', '-text', '-nameopt', 'multiline,utf8'], { input: first.certPem, encoding: 'utf8' }).stdout;
  t.match(text, /commonName\s+= Provincia di Campobasso/);
  t.match(text, /organizationName\s+= Provincia di Campobasso/);
  t.match(text, /organizationIdentifier\s+= PA:IT-p_cb/);
  t.match(text, /countryName\s+= IT/);
  t.match(text, /localityName\s+= Campobasso/);
  t.match(text, /2\.5\.4\.83\s+= https:\/\/pagamenti\.provincia\.campobasso\.it/);
  t.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Non Repudiation\n/);
  t.match(text, /X509v3 Basic Constraints: \n\s+CA:FALSE/);
  t.match(text, /Policy: 1\.3\.76\.16\.6\s+User Notice:\s+Explicit Text: agIDcert/);
  t.match(text, /Policy: 1\.3\.76\.16\.4\.2\.1\s+User Notice:\s+Explicit Text: cert_SP_Pub/);
  t.match(text, /Public-Key: \(3072 bit\)/);
  t.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
  t.notMatch(text, /X509v3 Certificate Policies: critical/);
});

t.test('certs/make-sp-cert.ts CLI', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spcli-'));
  const run = (...args: string[]) =>
    spawnSync('npx', ['tsx', 'certs/make-sp-cert.ts', ...args], { encoding: 'utf8', cwd: new URL('../../', import.meta.url).pathname });
  const ok = run('--out', dir, '--entity-id', params.entityId, '--ipa-code', 'p_cb', '--org', 'Provincia di Campobasso', '--bits', '2048', '--hash', 'sha512', '--days', '3650');
  t.equal(ok.status, 0, ok.stderr);
  t.match(ok.stdout, /created/);
  t.match(ok.stdout, /organizationIdentifier=PA:IT-p_cb uri=https:\/\/pagamenti\.provincia\.campobasso\.it/);
  const info = await describeCertificate(fs.readFileSync(path.join(dir, 'crt.pem'), 'utf8'));
  t.equal(info.publicKeyBits, 2048);
  t.equal(Math.round((info.notAfter.getTime() - info.notBefore.getTime()) / 86_400_000), 3650);
  const again = run('--out', dir, '--entity-id', params.entityId, '--ipa-code', 'p_cb', '--org', 'X');
  t.match(again.stdout, /already present/);
  const bad = run('--out', dir);
  t.equal(bad.status, 2);
  t.match(bad.stderr, /--entity-id is required/);
});

t.test('invalid parameters', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spbad-'));
  await t.rejects(ensureSpCertificate(dir, { ...params, entityId: 'http://x.example' }), /HTTPS/);
  await t.rejects(ensureSpCertificate(dir, { ...params, ipaCode: 'has space' }), /IPA/);
});
