import t from 'tap';
import { runCli } from '../src/cli-commands.js';
import { loadConfig } from '../src/config.js';
import { numericFiscalCodeFromBase } from '../src/domain/fiscal-code.js';
import { hashApiKey, authenticateApiKey } from '../src/modules/users/repository.js';
import { openAppDatabase } from '../src/db/open.js';
import { sqlAll } from '../src/db/raw.js';
import { tempDir } from './helpers.js';
import { createTestDatabase, SUITE_ON_POSTGRES } from './db/pg-helpers.js';

/** The CLI's settings: the SQLite file in a new DATA_DIR, or (suite on PostgreSQL) a new, empty PostgreSQL database. */
async function cliEnv(t: Parameters<typeof createTestDatabase>[0]): Promise<Record<string, string>> {
  const env: Record<string, string> = { DATA_DIR: tempDir(t) };
  if (SUITE_ON_POSTGRES) env.DATABASE_URL = await createTestDatabase(t, process.env.TEST_DATABASE_URL!);
  return env;
}

async function cli(env: Record<string, string>, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { env, out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

t.test('admin CLI', async (t) => {
  const dir = await cliEnv(t);
  /** Another connection to the CLI's database, as an operator's SQL client would read it. */
  const readBack = async <T>(text: string): Promise<T[]> => {
    const h = await openAppDatabase(loadConfig({ ...dir, LOG_LEVEL: 'silent' }));
    try {
      return await sqlAll<T>(h.db, text);
    } finally {
      await h.close();
    }
  };
  const cf = numericFiscalCodeFromBase('8000000003');

  const migrate = await cli(dir, 'db:migrate');
  t.equal(migrate.code, 0);
  t.match(migrate.out, /migrazioni applicate/);

  t.equal((await cli(dir, 'ente:list')).out, '', 'no enti in a fresh database');
  const add = await cli(dir, 'ente:add', '--name', 'Comune di Prova', '--cf', cf, '--ipa', 'c_prova', '--member');
  t.equal(add.code, 0, add.err);
  t.match((await cli(dir, 'ente:list', '--members')).out, new RegExp(`${cf}\\tc_prova\\t-\\taderente\\tComune di Prova`));
  const dup = await cli(dir, 'ente:add', '--name', 'Altro', '--cf', cf, '--ipa', 'c_altro');
  t.equal(dup.code, 1);
  t.match(dup.err, /fiscalCode: Il codice fiscale è già usato/);
  const badCf = await cli(dir, 'ente:add', '--name', 'Altro', '--cf', '12345678901', '--ipa', 'c_altro');
  t.equal(badCf.code, 2);
  t.match(badCf.err, /fiscalCode: .*cifra di controllo/);

  const grant = await cli(dir, 'user:grant', '--cf', 'RSSMRA85T10A562S', '--role', 'operator', '--ente', cf);
  t.equal(grant.code, 0, grant.err);
  t.match(grant.out, /ruolo operator assegnato/);
  t.match((await cli(dir, 'user:grant', '--cf', 'RSSMRA85T10A562S', '--role', 'operator', '--ente', cf)).out, /aveva già/);
  const noEnte = await cli(dir, 'user:grant', '--cf', 'RSSMRA85T10A562S', '--role', 'operator');
  t.equal(noEnte.code, 2);
  t.match(noEnte.err, /richiede un ente/);
  const globalWithEnte = await cli(dir, 'user:grant', '--cf', 'RSSMRA85T10A562S', '--role', 'helpdesk', '--ente', cf);
  t.equal(globalWithEnte.code, 2);
  t.match(globalWithEnte.err, /globale/);
  t.equal((await cli(dir, 'user:grant', '--cf', 'RSSMRA85T10A562S', '--role', 'helpdesk')).code, 0);
  t.equal((await cli(dir, 'user:grant', '--cf', 'RSSMRA85T10A562X', '--role', 'helpdesk')).code, 2, 'bad CF');
  t.equal((await cli(dir, 'user:grant', '--cf', 'RSSMRA85T10A562S', '--role', 'king')).code, 2, 'unknown role');
  t.equal((await cli(dir, 'user:grant', '--cf', 'RSSMRA85T10A562S', '--role', 'operator', '--ente', '00000000000')).code, 1, 'unknown ente');

  const key = await cli(dir, 'apikey:create', '--ente', cf, '--label', 'gestionale tributi');
  t.equal(key.code, 0, key.err);
  const printed = key.out.split('\n')[1]!;
  t.match(printed, /^sael_[A-Za-z0-9_-]{40,}$/);
  const rows = await readBack<{ key_hash: string; prefix: string }>('SELECT key_hash, prefix FROM api_keys');
  t.equal(rows.length, 1);
  t.equal(rows[0]!.key_hash, hashApiKey(printed), 'only the hash is stored');
  t.not(rows[0]!.key_hash, printed);
  const h = await openAppDatabase(loadConfig({ ...dir, LOG_LEVEL: 'silent' }));
  t.match(await authenticateApiKey(h.db, printed), { enteFiscalCode: cf });
  t.equal(await authenticateApiKey(h.db, printed + 'x'), null);
  await h.close();
  t.equal((await cli(dir, 'apikey:create')).code, 2, 'missing --ente');

  for (const argv of [[], ['nope'], ['ente:list', '--bogus'], ['ente:add', '--name', 'x']]) {
    const r = await cli(dir, ...argv);
    t.equal(r.code, 2, `usage for ${argv.join(' ') || '(nothing)'}`);
    t.match(r.err, /Uso: npm run cli/);
  }
  const actors = await readBack<{ actor: string }>('SELECT DISTINCT actor FROM audit_log');
  t.same(actors, [{ actor: 'cli' }], 'CLI writes are audited');
});
