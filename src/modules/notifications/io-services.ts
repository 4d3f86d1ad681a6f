/**
 * Each ente's App IO service: its service id and API key (AES-256-GCM encrypted, crypto.ts; the
 * page shows only the last 4 characters once saved). Every change is audited (without the key).
 */
import { eq } from 'drizzle-orm';
import type { Db, DbLike } from '../../db/client.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { enti } from '../enti/schema.js';
import { decryptSecret, encryptSecret, ioKeyAad } from './crypto.js';
import { enteIoServices } from './schema.js';

export interface IoServiceView {
  enteId: number;
  serviceId: string;
  apiKeyHint: string;
  enabled: boolean;
  updatedAt: string;
}

export async function getIoService(db: DbLike, enteId: number): Promise<IoServiceView | null> {
  const row = (await db
      .select({ enteId: enteIoServices.enteId, serviceId: enteIoServices.serviceId, apiKeyHint: enteIoServices.apiKeyHint, enabled: enteIoServices.enabled, updatedAt: enteIoServices.updatedAt })
      .from(enteIoServices)
      .where(eq(enteIoServices.enteId, enteId)).limit(1))[0];
  return row ?? null;
}

/** A stored key that does not decrypt: NOTIFICATIONS_KEY changed since it was saved (the ente must save it again). */
export class UndecryptableKeyError extends Error {
  constructor(enteId: number) {
    super(`la chiave App IO dell’ente ${enteId} non si decifra con la NOTIFICATIONS_KEY attuale: va salvata di nuovo`);
  }
}

/** The service id and clear API key to call IO with; null when the ente has none (or it is off). */
export async function ioCredentials(db: DbLike, key: Buffer | undefined, enteId: number): Promise<{ serviceId: string; apiKey: string } | null> {
  if (!key) return null;
  const row = (await db.select().from(enteIoServices).where(eq(enteIoServices.enteId, enteId)).limit(1))[0];
  if (!row || !row.enabled) return null;
  try {
    return { serviceId: row.serviceId, apiKey: decryptSecret(key, row.apiKeyEncrypted, ioKeyAad(enteId)) };
  } catch {
    throw new UndecryptableKeyError(enteId);
  }
}

/** Every enabled service with its clear key (the IO simulator's list of the keys it knows). */
export async function allIoCredentials(db: DbLike, key: Buffer | undefined): Promise<{ enteId: number; serviceId: string; apiKey: string }[]> {
  if (!key) return [];
  const rows = await db.select().from(enteIoServices).where(eq(enteIoServices.enabled, true));
  const out: { enteId: number; serviceId: string; apiKey: string }[] = [];
  for (const r of rows) {
    try {
      out.push({ enteId: r.enteId, serviceId: r.serviceId, apiKey: decryptSecret(key, r.apiKeyEncrypted, ioKeyAad(r.enteId)) });
    } catch {
      // A key encrypted with another NOTIFICATIONS_KEY: not usable, skipped.
    }
  }
  return out;
}

export interface SaveIoServiceInput {
  enteId: number;
  serviceId: string;
  /** Undefined: keep the stored key (only the service id or the switch change). */
  apiKey?: string;
  enabled: boolean;
}

export class MissingKeyError extends Error {}

/** Creates or updates the ente's service; audited (service id, hint, enabled — never the key). */
export async function saveIoService(db: Db, key: Buffer | undefined, input: SaveIoServiceInput, audit: { actor: string; requestId?: string | null; userId?: number | null }): Promise<void> {
  if (!key) throw new MissingKeyError('NOTIFICATIONS_KEY non impostata');
  const now = new Date().toISOString();
  await db.transaction(async (tx) => {
        const before = (await tx.select().from(enteIoServices).where(eq(enteIoServices.enteId, input.enteId)).limit(1))[0];
        if (!before && !input.apiKey) throw new MissingKeyError('chiave mancante');
        const apiKeyEncrypted = input.apiKey ? encryptSecret(key, input.apiKey, ioKeyAad(input.enteId)) : before!.apiKeyEncrypted;
        const apiKeyHint = input.apiKey ? input.apiKey.slice(-4) : before!.apiKeyHint;
        const values = { serviceId: input.serviceId, apiKeyEncrypted, apiKeyHint, enabled: input.enabled, updatedBy: audit.userId ?? null, updatedAt: now };
        if (before) await tx.update(enteIoServices).set(values).where(eq(enteIoServices.enteId, input.enteId));
        else await tx.insert(enteIoServices).values({ enteId: input.enteId, ...values, createdAt: now });
        const view = (v: { serviceId: string; apiKeyHint: string; enabled: boolean }) => ({ serviceId: v.serviceId, apiKeyHint: v.apiKeyHint, enabled: v.enabled });
        await recordAudit(tx, {
                actor: audit.actor,
                action: before ? 'io_service.update' : 'io_service.create',
                entity: 'ente_io_service',
                entityId: input.enteId,
                enteId: input.enteId,
                before: before ? view(before) : undefined,
                after: { ...view(values), keyChanged: Boolean(input.apiKey) },
                requestId: audit.requestId ?? null,
              });
      });
}

/** Demo: each member comune gets an IO service with a demo key (idempotent: existing rows kept). */
export async function seedDemoIoServices(db: Db, key: Buffer): Promise<number> {
  const members = await db.select({ id: enti.id, istat: enti.istatCode }).from(enti).where(eq(enti.member, true));
  let n = 0;
  for (const e of members) {
    const exists = (await db.select({ id: enteIoServices.enteId }).from(enteIoServices).where(eq(enteIoServices.enteId, e.id)).limit(1))[0];
    if (exists) continue;
    const apiKey = demoIoApiKey(e.istat ?? String(e.id));
    await db.insert(enteIoServices)
            .values({ enteId: e.id, serviceId: `DEMO-IO-${e.istat ?? e.id}`, apiKeyEncrypted: encryptSecret(key, apiKey, ioKeyAad(e.id)), apiKeyHint: apiKey.slice(-4), enabled: true });
    n++;
  }
  return n;
}

/** The demo key of a member comune (demo only: shown nowhere, known to the simulator through the table). */
export const demoIoApiKey = (istat: string) => `demo-io-key-${istat}`;
