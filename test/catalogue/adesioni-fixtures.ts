/** Fixtures of the convenzioni / adesioni tests: an app with a movable clock, services, prices, convenzioni and users written directly. */
import type { FastifyInstance } from 'fastify';
import { eq } from 'drizzle-orm';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { personalCheckChar } from '../../src/domain/fiscal-code.js';
import { listEnti } from '../../src/modules/enti/repository.js';
import { catalogueServices, convenzioni, priceLists, prices, type BillingKind } from '../../src/modules/catalogue/schema.js';
import { roleGrants, users, type Role } from '../../src/modules/users/schema.js';
import { tempDir } from '../helpers.js';
import { sqlAll } from '../../src/db/raw.js';
import { suiteDb } from '../suite-db.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface Clock {
  now: Date;
  set(iso: string | Date): void;
  /** The Italian day of the clock (tests set the clock at noon UTC). */
  today(): string;
}

export async function adesioniApp(t: Teardown, start = '2026-03-02T11:00:00Z', env: Record<string, string> = {}): Promise<{ app: FastifyInstance; clock: Clock }> {
  const dir = tempDir(t);
  const sdb = await suiteDb();
  const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '100000', PAGOPA_FDR_INTERVAL_MINUTES: '0', HELPDESK_NOTIFY_EMAIL: 'sael@provincia.example', ...sdb.env, ...env });
  const clock: Clock = {
    now: new Date(start),
    set(v) {
      this.now = typeof v === 'string' ? new Date(v) : v;
    },
    today() {
      return this.now.toISOString().slice(0, 10);
    },
  };
  const app = await buildApp(config, { logger: false, backgroundWorkers: false, now: () => clock.now });
  sdb.closeWith(t, app);
  return { app, clock };
}

export async function comune(app: FastifyInstance, name: string) {
  return (await listEnti(app.db, { q: name, kind: 'comune' })).find((e) => e.name === `Comune di ${name}`)!;
}

let seq = 0;

export async function addService(app: FastifyInstance, billing: BillingKind, opts: { requiresApproval?: boolean; periodMonths?: number; name?: string } = {}): Promise<{ id: number; code: string }> {
  const code = `B${++seq}${billing.slice(0, 3)}`.toUpperCase();
  const row = (await app.db
      .insert(catalogueServices)
      .values({
        code,
        name: opts.name ?? `Servizio di prova ${seq}`,
        kind: billing === 'free' ? 'base' : 'specialistico',
        area: 'amministrazione_digitale',
        summary: 'Servizio di prova',
        description: 'Servizio di prova per i test delle adesioni.',
        billing,
        unitLabel: billing === 'per_unit' ? 'casella PEC' : null,
        requiresConvenzione: billing !== 'free',
        requiresApproval: opts.requiresApproval ?? true,
        slaTtoMinutes: 240,
        slaTtrMinutes: 2400,
        periodMonths: opts.periodMonths ?? 12,
      })
      .returning({ id: catalogueServices.id }))[0]!;
  return { id: row.id, code };
}

/** A price list valid from `validFrom` with a default fixed price for the service. */
export async function addPrice(app: FastifyInstance, serviceId: number, amountCents: number, validFrom = '2020-01-01', validTo: string | null = null, name = 'Listino di prova'): Promise<number> {
  const list = (await app.db.insert(priceLists).values({ name, validFrom, validTo }).returning({ id: priceLists.id }))[0]!;
  await app.db.insert(prices).values({ priceListId: list.id, serviceId, enteClassId: null, mode: 'fixed', amountCents });
  return list.id;
}

export async function setListPrice(app: FastifyInstance, listId: number, serviceId: number, amountCents: number): Promise<void> {
  await app.db.update(prices).set({ amountCents }).where(eq(prices.priceListId, listId));
  void serviceId;
}

export async function addConvenzione(app: FastifyInstance, enteId: number, startDate: string, endDate: string, status: 'draft' | 'signed' | 'in_force' = 'in_force'): Promise<number> {
  return (await app.db
      .insert(convenzioni)
      .values({ enteId, status, actKind: 'delibera', actNumber: '12', actDate: startDate, startDate, endDate, signedPdfPath: status === 'draft' ? null : 'x.pdf', signedPdfName: 'x.pdf', signedPdfSha256: status === 'draft' ? null : 'a'.repeat(64) })
      .returning({ id: convenzioni.id }))[0]!.id;
}

export async function addUser(app: FastifyInstance, role: Role, enteId: number | null, email: string | null = null): Promise<string> {
  const first15 = `ADSUSR${String(++seq).padStart(2, '0')}A01B519`.slice(0, 15);
  const fiscalCode = first15 + personalCheckChar(first15);
  const user = (await app.db.insert(users).values({ fiscalCode, name: 'Prova', familyName: `Utente ${seq}`, email }).returning({ id: users.id }))[0]!;
  await app.db.insert(roleGrants).values({ userId: user.id, role, enteId });
  return fiscalCode;
}

export async function mails(app: FastifyInstance, to?: string): Promise<{ to_address: string; subject: string; body: string }[]> {
  const rows = (await sqlAll(app.db, 'SELECT to_address, subject, body FROM mail_outbox ORDER BY id')) as { to_address: string; subject: string; body: string }[];
  return to ? rows.filter((r) => r.to_address === to) : rows;
}
