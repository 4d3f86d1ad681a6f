/**
 * Which constraint a failed write broke, on either database: better-sqlite3's codes
 * (`SQLITE_CONSTRAINT_UNIQUE`, …) or PostgreSQL's SQLSTATE (23505, …), also when drizzle wraps
 * the driver's error ("Failed query: …", the original in `cause`).
 */
export type ConstraintKind = 'unique' | 'foreign_key' | 'not_null' | 'check';

const BY_CODE: Readonly<Record<string, ConstraintKind>> = {
  SQLITE_CONSTRAINT_UNIQUE: 'unique',
  SQLITE_CONSTRAINT_PRIMARYKEY: 'unique',
  SQLITE_CONSTRAINT_FOREIGNKEY: 'foreign_key',
  SQLITE_CONSTRAINT_NOTNULL: 'not_null',
  SQLITE_CONSTRAINT_CHECK: 'check',
  '23505': 'unique',
  '23503': 'foreign_key',
  '23502': 'not_null',
  '23514': 'check',
};

export function constraintViolation(err: unknown): ConstraintKind | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    const kind = typeof e.code === 'string' ? BY_CODE[e.code] : undefined;
    if (kind) return kind;
  }
  return undefined;
}

/**
 * PostgreSQL gave up on the statement because of another transaction, not because of the data:
 * a deadlock (40P01, one of the transactions in the cycle is chosen) or a serialization failure
 * (40001). Running the work again after the other transaction ends succeeds. SQLite has neither
 * (one writer at a time).
 */
export function isLockConflict(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (e.code === '40P01' || e.code === '40001') return true;
  }
  return false;
}
