/** Fixtures of the charges tests: an app with a movable clock, services and adesioni written directly. */
import type { FastifyInstance } from 'fastify';
import { and, eq } from 'drizzle-orm';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { listEnti } from '../../src/modules/enti/repository.js';
import { adesioni, catalogueServices, type BillingKind } from '../../src/modules/catalogue/schema.js';
import { personalCheckChar } from '../../src/domain/fiscal-code.js';
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
}

/** A test app whose catalogue reads `clock.now` (the real time unless set). */
export async function chargesApp(t: Teardown, env: Record<string, string> = {}): Promise<{ app: FastifyInstance; clock: Clock }> {
  const dir = tempDir(t);
  const sdb = await suiteDb();
  const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '100000', PAGOPA_FDR_INTERVAL_MINUTES: '0', ...sdb.env, ...env });
  const clock: Clock = {
    now: new Date(),
    set(v) {
      this.now = typeof v === 'string' ? new Date(v) : v;
    },
  };
  const app = await buildApp(config, { logger: false, backgroundWorkers: false, now: () => clock.now });
  sdb.closeWith(t, app);
  return { app, clock };
}

export async function comune(app: FastifyInstance, name: string) {
  return (await listEnti(app.db, { q: name, kind: 'comune' })).find((e) => e.name === `Comune di ${name}`)!;
}

export async function province(app: FastifyInstance) {
  return (await listEnti(app.db, { kind: 'provincia' }))[0]!;
}

let seq = 0;

/** A catalogue service with this billing (a code of its own, so helper A's seed never collides). */
export async function addService(app: FastifyInstance, billing: BillingKind, name = `Servizio di prova ${billing}`): Promise<number> {
  return (await app.db
      .insert(catalogueServices)
      .values({
        code: `T${++seq}-${billing}`.slice(0, 20),
        name,
        kind: billing === 'free' ? 'base' : 'specialistico',
        area: 'amministrazione_digitale',
        summary: 'Servizio di prova',
        description: 'Servizio di prova per i test degli addebiti.',
        billing,
        requiresConvenzione: billing !== 'free',
        requiresApproval: true,
        slaTtoMinutes: 240,
        slaTtrMinutes: 2400,
      })
      .returning({ id: catalogueServices.id }))[0]!.id;
}

export interface AdesioneSpec {
  enteId: number;
  serviceId: number;
  status?: (typeof adesioni.$inferInsert)['status'];
  startDate?: string | null;
  endDate?: string | null;
  amountCents?: number | null;
  quantity?: number;
  priceSnapshot?: unknown;
  withdrawalDate?: string | null;
}

export async function addAdesione(app: FastifyInstance, a: AdesioneSpec): Promise<number> {
  return (await app.db
      .insert(adesioni)
      .values({
        enteId: a.enteId,
        serviceId: a.serviceId,
        status: a.status ?? 'active',
        startDate: a.startDate ?? null,
        endDate: a.endDate ?? null,
        amountCents: a.amountCents ?? null,
        quantity: a.quantity ?? 1,
        priceSnapshot: a.priceSnapshot === undefined ? null : JSON.stringify(a.priceSnapshot),
        withdrawalDate: a.withdrawalDate ?? null,
      })
      .returning({ id: adesioni.id }))[0]!.id;
}

/** A user with a role on an ente (or global); returns the fiscal code to sign in with. */
export async function addUser(app: FastifyInstance, role: Role, enteId: number | null, email: string | null = null): Promise<string> {
  const first15 = `TSTUSR${String(++seq).padStart(2, '0')}A01B519`.slice(0, 15);
  const fiscalCode = first15 + personalCheckChar(first15);
  const user = (await app.db.insert(users).values({ fiscalCode, name: 'Prova', familyName: `Utente ${seq}`, email }).returning({ id: users.id }))[0]!;
  await app.db.insert(roleGrants).values({ userId: user.id, role, enteId });
  return fiscalCode;
}

export async function mails(app: FastifyInstance, to?: string): Promise<{ to_address: string; subject: string; body: string }[]> {
  const rows = (await sqlAll(app.db, 'SELECT to_address, subject, body FROM mail_outbox ORDER BY id')) as { to_address: string; subject: string; body: string }[];
  return to ? rows.filter((r) => r.to_address === to) : rows;
}

export async function setAdesioneStatus(app: FastifyInstance, id: number, status: (typeof adesioni.$inferInsert)['status']): Promise<void> {
  await app.db.update(adesioni).set({ status }).where(and(eq(adesioni.id, id)));
}

/** ISO date `days` after the clock's day. */
export function dayPlus(now: Date, days: number): string {
  return new Date(now.getTime() + days * 86_400_000).toISOString().slice(0, 10);
}
