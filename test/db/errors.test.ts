/**
 * A broken constraint is recognised the same way on SQLite and on PostgreSQL, through drizzle's
 * wrapper and from raw SQL (constraintViolation: what receipts' idempotency and the deletion of a
 * draft still pointed at rely on; the foreign-key case was SQLite's code only, a 500 on PostgreSQL).
 */
import path from 'node:path';
import t from 'tap';
import { openAppDatabase, type AppDatabase } from '../../src/db/open.js';
import { constraintViolation } from '../../src/db/errors.js';
import { sqlRun } from '../../src/db/raw.js';
import { transfers } from '../../src/modules/positions/schema.js';
import { sessions } from '../../src/plugins/sessions/schema.js';
import { tempDir } from '../helpers.js';
import { createTestDatabase, pgServerUrl } from './pg-helpers.js';

for (const dialect of ['sqlite', 'postgres'] as const) {
  t.test(`${dialect}: unique, foreign key, not null and check violations are named`, async (t) => {
    let h: AppDatabase;
    if (dialect === 'sqlite') h = await openAppDatabase({ databaseFile: path.join(tempDir(t), 'e.sqlite') });
    else {
      const server = pgServerUrl(t);
      if (!server) return;
      h = await openAppDatabase({ databaseFile: '/nonexistent', databaseUrl: await createTestDatabase(t, server) });
    }
    t.teardown(() => h.close());
    const caught = async (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);
    await h.db.insert(sessions).values({ id: 's1', data: '{}', expiresAt: 1 });
    t.equal(constraintViolation(await caught(h.db.insert(sessions).values({ id: 's1', data: '{}', expiresAt: 1 }))), 'unique', 'builder, duplicate key');
    t.equal(constraintViolation(await caught(sqlRun(h.db, 'INSERT INTO sessions (id, data, expires_at) VALUES (?, ?, ?)', 's1', '{}', 1))), 'unique', 'raw SQL, duplicate key');
    const orphan: typeof transfers.$inferInsert = { optionId: 999_999, idTransfer: 1, fiscalCodePA: '00000000000', amountCents: 1, remittanceInformation: 'x', taxonomyCode: '9/0101108TS/' };
    t.equal(constraintViolation(await caught(h.db.insert(transfers).values(orphan))), 'foreign_key', 'a row pointing at nothing');
    t.equal(constraintViolation(await caught(sqlRun(h.db, 'INSERT INTO sessions (id, data, expires_at) VALUES (?, NULL, 1)', 's2'))), 'not_null');
    t.equal(constraintViolation(new Error('plain')), undefined, 'not a constraint');
  });
}
