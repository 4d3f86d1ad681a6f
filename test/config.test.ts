import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { nodeArgs } from './helpers.js';
import { ConfigError, loadConfig, loadConfigForStart, SETTINGS, startupProblems } from '../src/config.js';

t.test('demo defaults need no variables', async (t) => {
  const c = loadConfig({});
  t.equal(c.appMode, 'demo');
  t.equal(c.port, 3000);
  t.equal(c.host, '127.0.0.1');
  t.ok(c.dataDir.endsWith('/data'));
  t.equal(c.publicUrl, 'http://localhost:3000');
  t.equal(c.sessionSecret, undefined, 'demo generates its secret at first start');
  t.equal(c.isProduction, false);
});

t.test('values are coerced and validated', async (t) => {
  const c = loadConfig({ PORT: '8080', TRUST_PROXY: 'true', PUBLIC_URL: 'https://pagamenti.example.it/' });
  t.equal(c.port, 8080);
  t.equal(c.trustProxy, true);
  t.equal(c.publicUrl, 'https://pagamenti.example.it', 'trailing slash removed');
  const err = t.throws(() => loadConfig({ PORT: 'abc', APP_MODE: 'staging' })) as ConfigError;
  t.type(err, ConfigError);
  t.equal(err.problems.length, 2, 'every problem reported, not just the first');
  t.match(err.problems.join('\n'), /PORT non valida/);
  t.match(err.problems.join('\n'), /APP_MODE non valida/);
});

t.test('production names each missing required setting on its own line', async (t) => {
  const err = t.throws(() => loadConfig({ APP_MODE: 'production' })) as ConfigError;
  const required = Object.entries(SETTINGS).filter(([, s]) => 'requiredInProduction' in s && s.requiredInProduction).map(([n]) => n);
  t.ok(required.length >= 2);
  t.equal(err.problems.length, required.length);
  for (const name of required) t.ok(err.problems.some((p) => p.startsWith(`${name} manca`)), `${name} named`);
  t.equal(err.message.split('\n').length, required.length + 1, 'one line per problem plus the heading');
});

t.test('production accepts a full configuration and refuses plain http', async (t) => {
  const env: Record<string, string> = { APP_MODE: 'production', PUBLIC_URL: 'https://pay.example.it', SESSION_SECRET: 'x'.repeat(40) };
  // Every other setting that production requires, with a plausible value.
  const samples: Record<string, string> = {
    SPID_IPA_CODE: 'p_cb',
    SPID_CONTACT_EMAIL: 'sael@provincia.campobasso.it',
    SPID_IDP_METADATA_DIR: '/etc/sael/idp',
    PAGOPA_BROKER_ID: '00139600704',
    PAGOPA_STATION_ID: '00139600704_01',
    PAGOPA_STATION_PASSWORD: 'Password2026',
    PAGOPA_NODE_URL: 'https://api.platform.pagopa.it/nodo-auth/node-for-pa/v1',
    PAGOPA_CHECKOUT_URL: 'https://api.platform.pagopa.it/checkout/ec/v2',
    PAGOPA_ACA_URL: 'https://api.platform.pagopa.it/aca/v1',
    PAGOPA_SUBSCRIPTION_KEY: 'k'.repeat(32),
  };
  for (const [name, spec] of Object.entries(SETTINGS)) {
    if ('requiredInProduction' in spec && spec.requiredInProduction && !(name in env)) {
      t.ok(samples[name], `a sample value for ${name}`);
      env[name] = samples[name] ?? '';
    }
  }
  const c = loadConfig(env);
  t.equal(c.isProduction, true);
  t.equal(c.sessionSecret, 'x'.repeat(40));
  t.throws(() => loadConfig({ ...env, PUBLIC_URL: 'http://pay.example.it' }), /https/);
  t.throws(() => loadConfig({ ...env, SESSION_SECRET: 'short' }), /SESSION_SECRET non valida/);
});

t.test('errors never print the value of a credential', async (t) => {
  const secrets: Record<string, string> = {
    SESSION_SECRET: 'short-secret',
    PAGOPA_STATION_PASSWORD: 'x',
    SMTP_URL: 'http://user:hunter2@mail.example',
    METRICS_TOKEN: 'tok',
    PAGOPA_STATION_PROXY_SECRET: 'proxy',
  };
  const err = t.throws(() => loadConfig(secrets)) as ConfigError;
  for (const [name, value] of Object.entries(secrets)) {
    t.match(err.message, new RegExp(`${name} non valida \\(valore nascosto, ${value.length} caratteri\\)`), `${name} named, value hidden`);
    t.notMatch(err.message, value, `${name}: value not printed`);
  }
  t.match((t.throws(() => loadConfig({ PORT: 'abc' })) as ConfigError).message, /PORT non valida \("abc"\)/, 'other values still shown');
});

t.test('start-up checks: files, IdP sources and the station caller, listed with the other problems', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sael-config-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const emptyDir = path.join(dir, 'idp-empty');
  fs.mkdirSync(emptyDir);
  // Production with the registry on (default) and no certificate, an IdP folder without metadata,
  // no station caller check, and a missing required setting: one ConfigError with all of them.
  const env = { APP_MODE: 'production', SPID_IDP_METADATA_DIR: emptyDir, SESSION_SECRET: 'short' };
  const err = t.throws(() => loadConfigForStart(env)) as ConfigError;
  const text = err.problems.join('\n');
  t.match(text, /SPID_REGISTRY_CERT_FILE manca/);
  t.match(text, /SPID_IDP_METADATA_DIR non valida: .* non contiene metadati/);
  t.match(text, /PAGOPA_STATION_PROXY_SECRET, PAGOPA_STATION_PROXY_ADDRESSES o PAGOPA_STATION_TLS_PORT manca/);
  t.match(text, /PUBLIC_URL manca/);
  t.match(text, /SESSION_SECRET non valida \(valore nascosto/);
  t.notMatch(err.message, /"short"/);
  t.match(startupProblems({ SPID_IDP_METADATA_DIR: path.join(dir, 'none') }).join(), /non esiste/);
  t.match(startupProblems({ SPID_REGISTRY_CERT_FILE: path.join(dir, 'agid.pem') }).join(), /SPID_REGISTRY_CERT_FILE non valida: il file .* non esiste/);
  t.match(startupProblems({ APP_MODE: 'production', SPID_REGISTRY_URL: 'off' }).join(), /SPID_IDP_METADATA_DIR manca/);
  t.same(startupProblems({}), [], 'demo needs none of them');
  fs.writeFileSync(path.join(emptyDir, 'idp.xml'), '<md:EntityDescriptor/>');
  t.same(startupProblems({ APP_MODE: 'production', SPID_REGISTRY_URL: 'off', SPID_IDP_METADATA_DIR: emptyDir, PAGOPA_STATION_PROXY_SECRET: 's'.repeat(32) }), []);
});

t.test('station TLS settings come as a set', async (t) => {
  t.throws(() => loadConfig({ PAGOPA_STATION_TLS_PORT: '8443' }), /PAGOPA_STATION_TLS_KEY_FILE manca/);
  t.throws(() => loadConfig({ PAGOPA_STATION_TLS_PORT: '8443', PAGOPA_STATION_TLS_KEY_FILE: 'k', PAGOPA_STATION_TLS_CERT_FILE: 'c', PAGOPA_STATION_TLS_CA_FILE: 'a' }), /FINGERPRINTS o PAGOPA_STATION_CLIENT_CERT_CN manca/);
  t.throws(() => loadConfig({ PAGOPA_STATION_TLS_CA_FILE: 'a' }), /non serve senza PAGOPA_STATION_TLS_PORT/);
  const fp = 'ab'.repeat(32);
  const c = loadConfig({ PAGOPA_STATION_TLS_PORT: '8443', PAGOPA_STATION_TLS_KEY_FILE: 'k', PAGOPA_STATION_TLS_CERT_FILE: 'c', PAGOPA_STATION_TLS_CA_FILE: 'a', PAGOPA_STATION_CLIENT_CERT_FINGERPRINTS: fp, PAGOPA_STATION_PROXY_ADDRESSES: '10.0.0.5, 10.1.0.0/24' });
  t.equal(c.pagopa.stationAuth.tls!.fingerprints[0], Array(32).fill('AB').join(':'));
  t.same(c.pagopa.stationAuth.proxyAddresses, ['10.0.0.5', '10.1.0.0/24']);
  t.throws(() => loadConfig({ PAGOPA_STATION_PROXY_ADDRESSES: 'proxy.example' }), /PAGOPA_STATION_PROXY_ADDRESSES non valida/);
});

t.test('npm start with a bad configuration: every problem listed, no stack trace, exit 78', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sael-start-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const r = spawnSync(process.execPath, nodeArgs('src/server.ts'), {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { PATH: process.env.PATH, APP_MODE: 'production', DATA_DIR: dir, SESSION_SECRET: 'short', SPID_IDP_METADATA_DIR: path.join(dir, 'missing') },
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.equal(r.status, 78, r.stderr);
  t.match(r.stderr, /SPID_REGISTRY_CERT_FILE manca/);
  t.match(r.stderr, /SPID_IDP_METADATA_DIR non valida/);
  t.match(r.stderr, /PAGOPA_STATION_PROXY_SECRET, PAGOPA_STATION_PROXY_ADDRESSES o PAGOPA_STATION_TLS_PORT manca/);
  t.notMatch(r.stderr, /"short"|\n\s+at /, 'no secret, no stack trace');
});

t.test('README documents every setting', async (t) => {
  const readme = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  for (const name of Object.keys(SETTINGS)) t.match(readme, new RegExp(`\\| \`${name}\` \\|`), `${name} in README table`);
});
