/**
 * Zones of the province (seed item 18: "la zona della provincia a cui appartiene"), kept by the
 * SAEL admin at /admin/zone. A comune's zone is `enti.zone` (the zone's name, as the comune pages
 * and the event filters read it); `zones` is the list of names. A rename rewrites `enti.zone` of
 * its comuni in the same transaction; a zone with comuni cannot be deleted (move them first).
 *
 * The demo zones below are demo values (flagged `is_demo` and shown as such): a plausible split of
 * the 84 comuni by area, not an official subdivision. Editing a zone clears its demo flag.
 */
import { and, asc, count, eq, inArray, isNotNull, isNull, ne } from 'drizzle-orm';
import type { Db, DbLike } from '../../db/client.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { enti } from '../enti/schema.js';
import { slugify } from './categories.js';
import { zones } from './schema.js';
import { affectedRows } from '../../db/client.js';

export type Zone = typeof zones.$inferSelect;

export interface ZoneActor {
  actor: string;
  requestId?: string | null;
}

/** Demo zones and their comuni (ISTAT codes): every one of the 84 comuni in exactly one zone. */
export const DEMO_ZONES: { name: string; description: string; istat: string[] }[] = [
  {
    name: 'Area urbana di Campobasso',
    description: 'Il capoluogo e i comuni della sua cintura.',
    istat: ['070006', '070023', '070038', '070049', '070059', '070005', '070084', '070008', '070066', '070037', '070041', '070080', '070026', '070016'],
  },
  {
    name: 'Matese',
    description: 'I comuni ai piedi del massiccio del Matese, alle sorgenti del Biferno.',
    istat: ['070003', '070007', '070020', '070028', '070070', '070071', '070076', '070075', '070018', '070067', '070012', '070002'],
  },
  {
    name: 'Fortore',
    description: 'L’alta valle del Fortore, al confine con la Campania e la Puglia.',
    istat: ['070057', '070025', '070082', '070053', '070035', '070074', '070040', '070030', '070017', '070009', '070068', '070021'],
  },
  {
    name: 'Alto Molise – Trigno',
    description: 'I comuni della valle del Trigno e della montagna interna.',
    istat: ['070081', '070060', '070062', '070054', '070022', '070039', '070079', '070024', '070073', '070032', '070043', '070063', '070019'],
  },
  {
    name: 'Valle del Biferno',
    description: 'La media valle del Biferno e il lago di Guardialfiera.',
    istat: ['070052', '070014', '070033', '070013', '070034', '070048', '070058', '070056', '070011', '070004', '070027', '070015'],
  },
  {
    name: 'Basso Molise',
    description: 'Le colline del Basso Molise intorno a Larino, con i comuni arbëreshë e croato-molisani.',
    istat: ['070031', '070083', '070061', '070069', '070047', '070072', '070044', '070050', '070077', '070001', '070064', '070045', '070036', '070042'],
  },
  {
    name: 'Basso Molise – costa',
    description: 'Termoli e i comuni della costa adriatica.',
    istat: ['070078', '070010', '070051', '070046', '070065', '070029', '070055'],
  },
];

/**
 * Seeds the demo zones when there are none and puts each comune without a zone (by ISTAT code)
 * in its zone (idempotent: nothing happens once any zone exists). Returns whether it seeded.
 */
export async function seedDemoZones(db: Db): Promise<boolean> {
  return await db.transaction(async (tx) => {
      if (((await tx.select({ n: count() }).from(zones).limit(1))[0]?.n ?? 0) > 0) return false;
      for (const [i, z] of DEMO_ZONES.entries()) {
        await tx.insert(zones).values({ slug: slugify(z.name), name: z.name, description: z.description, isDemo: true, sortOrder: i });
        await tx.update(enti)
                  .set({ zone: z.name })
                  // Only comuni without a zone: a zone already written on an ente is never overwritten.
                  .where(and(eq(enti.kind, 'comune'), inArray(enti.istatCode, z.istat), isNull(enti.zone)));
      }
      await recordAudit(tx, { actor: 'system:demo-seed', action: 'seed', entity: 'zones', entityId: 'demo', after: { zones: DEMO_ZONES.length } });
      return true;
    });
}

export interface ZoneWithCount extends Zone {
  comuni: number;
}

/** Every zone in the admin's order, with how many comuni it has. */
export async function listZones(db: DbLike): Promise<ZoneWithCount[]> {
  const counts = new Map(
    (await db
            .select({ zone: enti.zone, n: count() })
            .from(enti)
            .where(and(eq(enti.kind, 'comune'), isNotNull(enti.zone)))
            .groupBy(enti.zone))
      .map((r) => [r.zone!, r.n]),
  );
  return (await db
      .select()
      .from(zones)
      .orderBy(asc(zones.sortOrder), asc(zones.name)))
    .map((z) => ({ ...z, comuni: counts.get(z.name) ?? 0 }));
}

export async function getZone(db: DbLike, id: number): Promise<Zone | null> {
  return (await db.select().from(zones).where(eq(zones.id, id)).limit(1))[0] ?? null;
}

export interface ZoneInput {
  name: string;
  description: string | null;
  sortOrder: number;
}

/** The name (or its URL key) is taken by another zone. */
export class ZoneNameTakenError extends Error {
  constructor(name: string) {
    super(`Esiste già una zona chiamata «${name}» (o con un nome che si scrive allo stesso modo nell’indirizzo).`);
    this.name = 'ZoneNameTakenError';
  }
}

/** A zone that still has comuni cannot be deleted. */
export class ZoneInUseError extends Error {
  constructor(n: number) {
    super(`La zona ha ancora ${n === 1 ? '1 comune' : `${n} comuni`}: spostali in un’altra zona prima di eliminarla.`);
    this.name = 'ZoneInUseError';
  }
}

async function checkNameFree(tx: DbLike, name: string, slug: string, exceptId: number | null): Promise<void> {
  const clash = (await tx
      .select({ id: zones.id, name: zones.name, slug: zones.slug })
      .from(zones)
      .where(exceptId === null ? undefined : ne(zones.id, exceptId)))
    .find((z) => z.slug === slug || z.name.toLowerCase() === name.toLowerCase());
  if (clash) throw new ZoneNameTakenError(name);
}

export async function createZone(db: Db, input: ZoneInput, actor: ZoneActor): Promise<Zone> {
  const slug = slugify(input.name);
  return await db.transaction(async (tx) => {
      await checkNameFree(tx, input.name, slug, null);
      const row = (await tx.insert(zones).values({ slug, name: input.name, description: input.description, sortOrder: input.sortOrder, isDemo: false }).returning())[0]!;
      await recordAudit(tx, { ...actor, action: 'zone.create', entity: 'zones', entityId: row.id, after: row });
      return row;
    });
}

/**
 * Saves a zone; a new name is written to its comuni (`enti.zone`) in the same transaction, so no
 * comune is ever left with a zone that does not exist. Clears the demo flag. Null: no such zone.
 */
export async function updateZone(db: Db, id: number, input: ZoneInput, actor: ZoneActor): Promise<{ zone: Zone; comuniRenamed: number } | null> {
  const slug = slugify(input.name);
  return await db.transaction(async (tx) => {
      const before = (await tx.select().from(zones).where(eq(zones.id, id)).limit(1))[0];
      if (!before) return null;
      await checkNameFree(tx, input.name, slug, id);
      const zone = (await tx
            .update(zones)
            .set({ slug, name: input.name, description: input.description, sortOrder: input.sortOrder, isDemo: false, updatedAt: new Date().toISOString() })
            .where(eq(zones.id, id))
            .returning())[0]!!;
      let comuniRenamed = 0;
      if (before.name !== input.name) {
        comuniRenamed = affectedRows(await tx.update(enti).set({ zone: input.name }).where(eq(enti.zone, before.name)));
      }
      await recordAudit(tx, { ...actor, action: 'zone.update', entity: 'zones', entityId: id, before, after: { ...zone, comuniRenamed } });
      return { zone, comuniRenamed };
    });
}

/** Deletes a zone without comuni; throws ZoneInUseError otherwise. False: no such zone. */
export async function deleteZone(db: Db, id: number, actor: ZoneActor): Promise<boolean> {
  return await db.transaction(async (tx) => {
      const before = (await tx.select().from(zones).where(eq(zones.id, id)).limit(1))[0];
      if (!before) return false;
      const n = (await tx.select({ n: count() }).from(enti).where(eq(enti.zone, before.name)).limit(1))[0]?.n ?? 0;
      if (n > 0) throw new ZoneInUseError(n);
      await tx.delete(zones).where(eq(zones.id, id));
      await recordAudit(tx, { ...actor, action: 'zone.delete', entity: 'zones', entityId: id, before });
      return true;
    });
}

export interface ComuneZoneRow {
  id: number;
  name: string;
  istatCode: string | null;
  zone: string | null;
  member: boolean;
}

/** The comuni of the province with their zone, by name. */
export async function listComuniZones(db: DbLike): Promise<ComuneZoneRow[]> {
  return await db
      .select({ id: enti.id, name: enti.name, istatCode: enti.istatCode, zone: enti.zone, member: enti.member })
      .from(enti)
      .where(eq(enti.kind, 'comune'))
      .orderBy(asc(enti.name));
}

/** An assignment names a comune or a zone that does not exist. */
export class ZoneAssignmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZoneAssignmentError';
  }
}

/**
 * Puts comuni in zones (`zoneId` null: no zone), all or nothing, one audit row listing the
 * changes. Returns how many comuni changed zone.
 */
export async function assignZones(db: Db, assignments: { enteId: number; zoneId: number | null }[], actor: ZoneActor): Promise<number> {
  return await db.transaction(async (tx) => {
      const zoneNames = new Map((await tx.select({ id: zones.id, name: zones.name }).from(zones)).map((z) => [z.id, z.name]));
      const comuni = new Map(
        (await tx
                  .select({ id: enti.id, name: enti.name, zone: enti.zone })
                  .from(enti)
                  .where(eq(enti.kind, 'comune')))
          .map((e) => [e.id, e]),
      );
      const changes: { enteId: number; from: string | null; to: string | null }[] = [];
      for (const a of assignments) {
        const comune = comuni.get(a.enteId);
        if (!comune) throw new ZoneAssignmentError(`Il comune ${a.enteId} non esiste.`);
        const to = a.zoneId === null ? null : zoneNames.get(a.zoneId);
        if (to === undefined) throw new ZoneAssignmentError(`La zona scelta per ${comune.name} non esiste più: ricarica la pagina.`);
        if (comune.zone === to) continue;
        await tx.update(enti).set({ zone: to, updatedAt: new Date().toISOString() }).where(eq(enti.id, a.enteId));
        changes.push({ enteId: a.enteId, from: comune.zone, to });
      }
      if (changes.length) await recordAudit(tx, { ...actor, action: 'zone.assign', entity: 'enti', entityId: 'zones', after: changes });
      return changes.length;
    });
}
