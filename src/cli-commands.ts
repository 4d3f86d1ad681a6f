/**
 * Admin CLI commands (`npm run cli -- <command>`), as a function that tests call directly.
 * Returns the exit code: 0 ok, 2 bad arguments (usage printed), 1 failure.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from './config.js';
import { PAGOPA_COMMANDS } from './cli-pagopa.js';
import { CONSERVAZIONE_COMMANDS } from './cli-conservazione.js';
import { DatabaseStartError, type Db } from './db/client.js';
import { openAppDatabase } from './db/open.js';
import { isValidPersonalFiscalCode } from './domain/fiscal-code.js';
import { createEnte, getEnteByFiscalCode, listEnti, UniqueConflictError } from './modules/enti/repository.js';
import { validateEnte } from './modules/enti/validation.js';
import { createApiKey, GrantError, grantRole, listApiKeys, revokeApiKey, upsertUser } from './modules/users/repository.js';
import { ROLES, type Role } from './modules/users/schema.js';

export const USAGE = `Uso: npm run cli -- <comando> [opzioni]

Comandi:
  ente:list [--members]                       elenca gli enti (solo gli aderenti con --members)
  ente:add --name <nome> --cf <11 cifre> --ipa <codice IPA> [--istat <6 cifre>]
           [--segregation <00-45>] [--kind comune|provincia] [--member]
                                              aggiunge un ente
  user:grant --cf <codice fiscale> --role <${ROLES.join('|')}> [--ente <CF ente>]
                                              assegna un ruolo (operator ed ente_admin richiedono --ente)
  apikey:create --ente <CF ente> [--label <descrizione>]
                                              crea una chiave API per l'ente e la stampa una sola volta
  apikey:list --ente <CF ente>                elenca le chiavi API dell'ente (id, inizio, descrizione, creata,
                                              ultimo uso, stato); le stesse sono in /admin/enti/<id>
  apikey:revoke --ente <CF ente> --id <n>     revoca una chiave API dell'ente
  db:migrate                                  applica le migrazioni al database (DATABASE_URL, o il file in DATA_DIR)
  fdr:download [--ente <CF ente>]             scarica dal nodo pagoPA i flussi di rendicontazione degli enti
                                              aderenti (o di uno) e li registra
  conservazione:run [--date AAAA-MM-GG]       porta ora in conservazione ricevute e flussi del giorno (di default
                                              ieri) degli enti con il servizio attivo, e ne forma i PdA firmati
  conservazione:verify                        verifica file, catena degli eventi, marche temporali e firme dei
                                              PdA; esce con errore se trova anomalie
  sim:pay --notice <numero avviso> --cf <CF ente> [--v2]
                                              paga un avviso come farebbe un PSP, tramite il nodo simulato
                                              (solo demo; --v2 usa paGetPaymentV2/paSendRTV2)
`;

export interface CliIo {
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
  err: (line: string) => void;
}

class UsageError extends Error {}

const ACTOR = { actor: 'cli' };

type Handler = (db: Db, values: Record<string, string | boolean | undefined>, io: CliIo, config: Config) => number | Promise<number>;

const COMMANDS: Record<string, { options: Record<string, { type: 'string' | 'boolean' }>; run: Handler }> = {
  'ente:list': {
    options: { members: { type: 'boolean' } },
    async run(db, values, io) {
      for (const e of await listEnti(db, { membersOnly: Boolean(values.members) })) {
        io.out([e.fiscalCode, e.ipaCode, e.istatCode ?? '-', e.member ? 'aderente' : '-', e.name].join('\t'));
      }
      return 0;
    },
  },
  'ente:add': {
    options: {
      name: { type: 'string' },
      cf: { type: 'string' },
      ipa: { type: 'string' },
      istat: { type: 'string' },
      segregation: { type: 'string' },
      kind: { type: 'string' },
      member: { type: 'boolean' },
    },
    async run(db, values, io) {
      if (!values.name || !values.cf || !values.ipa) throw new UsageError('ente:add richiede --name, --cf e --ipa');
      const result = validateEnte({
        kind: values.kind ?? 'comune',
        name: values.name,
        fiscalCode: values.cf,
        ipaCode: values.ipa,
        istatCode: values.istat,
        segregationCode: values.segregation ?? '01',
        member: values.member ? 'on' : undefined,
      });
      if (!result.ok) {
        for (const [field, message] of Object.entries(result.errors)) io.err(`${field}: ${message}`);
        return 2;
      }
      try {
        const ente = await createEnte(db, result.value, ACTOR);
        io.out(`creato ente ${ente.id}: ${ente.name} (${ente.fiscalCode})`);
        return 0;
      } catch (err) {
        if (err instanceof UniqueConflictError) {
          io.err(`${err.field}: ${err.message}`);
          return 1;
        }
        throw err;
      }
    },
  },
  'user:grant': {
    options: { cf: { type: 'string' }, role: { type: 'string' }, ente: { type: 'string' } },
    async run(db, values, io) {
      const cf = typeof values.cf === 'string' ? values.cf.trim().toUpperCase() : '';
      const role = values.role as Role;
      if (!cf || !role) throw new UsageError('user:grant richiede --cf e --role');
      if (!isValidPersonalFiscalCode(cf)) {
        io.err(`cf: codice fiscale non valido: ${cf}`);
        return 2;
      }
      if (!ROLES.includes(role)) throw new UsageError(`ruolo sconosciuto: ${String(values.role)}`);
      let enteId: number | null = null;
      if (typeof values.ente === 'string') {
        const ente = await getEnteByFiscalCode(db, values.ente);
        if (!ente) {
          io.err(`ente: nessun ente con codice fiscale ${values.ente}`);
          return 1;
        }
        enteId = ente.id;
      }
      try {
        const userId = await upsertUser(db, { fiscalCode: cf }, ACTOR);
        const added = await grantRole(db, userId, role, enteId, ACTOR);
        io.out(added ? `ruolo ${role} assegnato a ${cf}` : `${cf} aveva già il ruolo ${role}`);
        return 0;
      } catch (err) {
        if (err instanceof GrantError) {
          io.err(`role: ${err.message}`);
          return 2;
        }
        throw err;
      }
    },
  },
  'apikey:create': {
    options: { ente: { type: 'string' }, label: { type: 'string' } },
    async run(db, values, io) {
      if (typeof values.ente !== 'string') throw new UsageError('apikey:create richiede --ente');
      const ente = await getEnteByFiscalCode(db, values.ente);
      if (!ente) {
        io.err(`ente: nessun ente con codice fiscale ${values.ente}`);
        return 1;
      }
      const label = typeof values.label === 'string' && values.label.trim() ? values.label.trim() : 'chiave API';
      const { id, key } = await createApiKey(db, ente.id, label, ACTOR);
      io.out(`chiave API ${id} per ${ente.name} (mostrata una sola volta, conservala ora):`);
      io.out(key);
      return 0;
    },
  },
  'apikey:list': {
    options: { ente: { type: 'string' } },
    async run(db, values, io) {
      if (typeof values.ente !== 'string') throw new UsageError('apikey:list richiede --ente');
      const ente = await getEnteByFiscalCode(db, values.ente);
      if (!ente) {
        io.err(`ente: nessun ente con codice fiscale ${values.ente}`);
        return 1;
      }
      for (const k of await listApiKeys(db, ente.id)) {
        io.out([k.id, `${k.prefix}…`, k.label, k.createdAt, k.lastUsedAt ?? 'mai usata', k.revokedAt ? `revocata ${k.revokedAt}` : 'attiva'].join('\t'));
      }
      return 0;
    },
  },
  'apikey:revoke': {
    options: { ente: { type: 'string' }, id: { type: 'string' } },
    async run(db, values, io) {
      if (typeof values.ente !== 'string' || typeof values.id !== 'string') throw new UsageError('apikey:revoke richiede --ente e --id');
      if (!/^[1-9][0-9]{0,9}$/.test(values.id)) throw new UsageError(`id non valido: ${values.id}`);
      const ente = await getEnteByFiscalCode(db, values.ente);
      if (!ente) {
        io.err(`ente: nessun ente con codice fiscale ${values.ente}`);
        return 1;
      }
      if (!(await revokeApiKey(db, ente.id, Number(values.id), ACTOR))) {
        io.err(`id: l'ente ${ente.name} non ha la chiave API ${values.id}`);
        return 1;
      }
      io.out(`chiave API ${values.id} di ${ente.name} revocata`);
      return 0;
    },
  },
  'db:migrate': {
    options: {},
    run(_db, _values, io) {
      io.out('database aggiornato: migrazioni applicate');
      return 0;
    },
  },
};

export async function runCli(argv: string[], io: CliIo): Promise<number | Promise<number>> {
  const [command, ...rest] = argv;
  const spec = command
    ? (COMMANDS[command] ?? (PAGOPA_COMMANDS as Record<string, (typeof COMMANDS)[string]>)[command] ?? (CONSERVAZIONE_COMMANDS as Record<string, (typeof COMMANDS)[string]>)[command])
    : undefined;
  if (!spec) {
    if (command && command !== 'help' && command !== '--help') io.err(`comando sconosciuto: ${command}`);
    io.err(USAGE);
    return command === 'help' || command === '--help' ? 0 : 2;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: rest, options: spec.options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    io.err((err as Error).message);
    io.err(USAGE);
    return 2;
  }
  let handle;
  let config: Config;
  try {
    config = loadConfig(io.env);
    handle = await openAppDatabase(config);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof DatabaseStartError) {
      io.err(err.message);
      return 1;
    }
    throw err;
  }
  const fail = (err: unknown): number => {
    if (err instanceof UsageError) {
      io.err(err.message);
      io.err(USAGE);
      return 2;
    }
    io.err(`errore: ${(err as Error).message}`);
    return 1;
  };
  try {
    return await spec.run(handle.db, values, io, config);
  } catch (err) {
    return fail(err);
  } finally {
    await handle.close();
  }
}
