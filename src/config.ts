/**
 * Every setting of the server comes from the environment. This module declares them once
 * (name, type, demo default, whether production requires it, description), validates them
 * with a JSON schema (ajv) and returns a typed, frozen object.
 *
 * The README configuration table mirrors SETTINGS; a test checks that every setting is documented.
 */
import path from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export type AppMode = 'demo' | 'production';

interface SettingSpec {
  /** JSON-schema fragment for the raw string or coerced value. */
  schema: Record<string, unknown>;
  /** Value used when the variable is absent (both modes) unless `requiredInProduction`. */
  default?: string | number | boolean;
  /** In production the variable must be set explicitly (no default applies). */
  requiredInProduction?: boolean;
  description: string;
}

export const SETTINGS = {
  APP_MODE: {
    schema: { type: 'string', enum: ['demo', 'production'] },
    default: 'demo',
    description: '`demo` (embedded defaults, seeded demo data, simulators on) or `production`',
  },
  HOST: { schema: { type: 'string', minLength: 1 }, default: '127.0.0.1', description: 'Address to listen on' },
  PORT: { schema: { type: 'integer', minimum: 0, maximum: 65535 }, default: 3000, description: 'TCP port to listen on' },
  DATA_DIR: {
    schema: { type: 'string', minLength: 1 },
    default: 'data',
    description: 'Folder for the SQLite database, generated keys and stored files (relative to the working directory or absolute)',
  },
  PUBLIC_URL: {
    schema: { type: 'string', format: 'uri', pattern: '^https?://[^/]+(/.*)?$' },
    requiredInProduction: true,
    description: 'Absolute base URL of the portal as users and the pagoPA node reach it (used in SAML metadata and return URLs); demo default `http://localhost:<PORT>`',
  },
  SESSION_SECRET: {
    schema: { type: 'string', minLength: 32 },
    requiredInProduction: true,
    description: 'Secret (≥ 32 characters) that signs session cookies; in demo mode generated at first start into `DATA_DIR/session-secret`',
  },
  SESSION_TTL_MINUTES: {
    schema: { type: 'integer', minimum: 5, maximum: 1440 },
    default: 30,
    description: 'Idle lifetime of a login session in minutes',
  },
  TRUST_PROXY: {
    schema: { type: 'boolean' },
    default: false,
    description: 'Trust `X-Forwarded-*` headers from a reverse proxy (needed for `Secure` cookies behind a TLS-terminating proxy)',
  },
  LOG_LEVEL: {
    schema: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    default: 'info',
    description: 'pino log level',
  },
  BODY_LIMIT_BYTES: {
    schema: { type: 'integer', minimum: 1024, maximum: 104857600 },
    default: 1048576,
    description: 'Largest accepted request body in bytes (larger bodies get HTTP 413)',
  },
  RATE_LIMIT_PER_MINUTE: {
    schema: { type: 'integer', minimum: 1 },
    default: 300,
    description: 'Requests per minute allowed to one client address',
  },
  PROVINCE_NAME: {
    schema: { type: 'string', minLength: 1 },
    default: 'Provincia di Campobasso',
    description: 'Name shown in the page header',
  },
  SEED_DEMO: {
    schema: { type: 'boolean' },
    default: true,
    description: 'In demo mode, seed the province, its 84 comuni and demo users into an empty database',
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;

export interface Config {
  appMode: AppMode;
  isProduction: boolean;
  host: string;
  port: number;
  dataDir: string;
  databaseFile: string;
  publicUrl: string;
  /** Undefined in demo mode until the data dir provides one (see ensureDemoSecrets). */
  sessionSecret: string | undefined;
  sessionTtlMinutes: number;
  trustProxy: boolean;
  logLevel: string;
  bodyLimitBytes: number;
  rateLimitPerMinute: number;
  provinceName: string;
  seedDemo: boolean;
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Configurazione non valida:\n${problems.map((p) => `- ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const ajv = addFormats(new Ajv({ allErrors: true, coerceTypes: true, strict: true }));

function buildSchema(production: boolean) {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const [name, spec] of Object.entries(SETTINGS) as [string, SettingSpec][]) {
    properties[name] = spec.schema;
    if (production && spec.requiredInProduction) required.push(name);
  }
  return { type: 'object', properties, required, additionalProperties: true };
}

const validators = {
  demo: ajv.compile(buildSchema(false)),
  production: ajv.compile(buildSchema(true)),
};

/** Reads and validates the settings. Throws ConfigError listing every problem, one per line. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(SETTINGS) as [string, SettingSpec][]) {
    const value = env[name];
    if (value !== undefined && value !== '') raw[name] = value;
    else if (spec.default !== undefined) raw[name] = spec.default;
  }
  const mode = raw.APP_MODE === 'production' ? 'production' : 'demo';
  const validate = validators[mode];
  if (!validate(raw)) {
    const problems = (validate.errors ?? []).map((err) => {
      if (err.keyword === 'required') {
        const name = (err.params as { missingProperty: string }).missingProperty;
        return `${name} manca: è obbligatoria in produzione (${SETTINGS[name as SettingName].description})`;
      }
      const name = err.instancePath.replace(/^\//, '');
      return `${name} non valida (${JSON.stringify(env[name] ?? '')}): ${err.message ?? 'valore non ammesso'}`;
    });
    throw new ConfigError(problems);
  }
  if (mode === 'production' && typeof raw.PUBLIC_URL === 'string' && !raw.PUBLIC_URL.startsWith('https://')) {
    throw new ConfigError([`PUBLIC_URL non valida (${JSON.stringify(raw.PUBLIC_URL)}): in produzione deve iniziare con https://`]);
  }
  const port = raw.PORT as number;
  const dataDir = path.resolve(raw.DATA_DIR as string);
  return Object.freeze({
    appMode: mode,
    isProduction: mode === 'production',
    host: raw.HOST as string,
    port,
    dataDir,
    databaseFile: path.join(dataDir, 'sael-pay.sqlite'),
    publicUrl: ((raw.PUBLIC_URL as string | undefined) ?? `http://localhost:${port}`).replace(/\/+$/, ''),
    sessionSecret: raw.SESSION_SECRET as string | undefined,
    sessionTtlMinutes: raw.SESSION_TTL_MINUTES as number,
    trustProxy: raw.TRUST_PROXY as boolean,
    logLevel: raw.LOG_LEVEL as string,
    bodyLimitBytes: raw.BODY_LIMIT_BYTES as number,
    rateLimitPerMinute: raw.RATE_LIMIT_PER_MINUTE as number,
    provinceName: raw.PROVINCE_NAME as string,
    seedDemo: raw.SEED_DEMO as boolean,
  });
}
