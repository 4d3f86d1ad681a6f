import fs from 'node:fs';
import t from 'tap';
import { ConfigError, loadConfig, SETTINGS } from '../src/config.js';

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

t.test('README documents every setting', async (t) => {
  const readme = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  for (const name of Object.keys(SETTINGS)) t.match(readme, new RegExp(`\\| \`${name}\` \\|`), `${name} in README table`);
});
