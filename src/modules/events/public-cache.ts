/**
 * Data of the public event pages and feeds kept while what they show is unchanged: the same list,
 * feed or calendar is served from memory until an event, a comune, a category or a zone changes.
 * "Unchanged" is read in one statement of a few index lookups:
 * - the AUTOINCREMENT counters of `events` and `event_occurrences` (sqlite_sequence): every
 *   creation and every change of an event's dates, status, category or text rewrites its
 *   occurrences in the same transaction (repository.ts), so new occurrence ids appear;
 * - the '*' counter of debtor_versions, bumped by triggers on every change of `enti` and
 *   `payment_services` (names, zones, stemmi; migrations 0005–0006);
 * - count and latest `updated_at` of `event_categories` and `zones` (a few rows each);
 * - `PRAGMA data_version`, which moves when another connection (the CLI) commits.
 * That statement (and the pragma, which alone costs as much: ~5 µs each) runs only when this
 * connection has written a row since the last read (`total_changes()`, triggers included: ~0.1 µs)
 * or `otherWritersMs` (1 s) have passed: a commit of another connection (the CLI) shows on the
 * public pages within that second, one of this process at once. A public page served from memory
 * under load thus reads no table (events-list bench: ~10 % of its CPU per request).
 * On PostgreSQL (several processes) the state is committed data only, read per request: sequences
 * move at nextval, before the commit (a list computed between the two would be kept stale), so
 * `rewriteOccurrences` bumps the '*events' counter of debtor_versions in the writing transaction
 * instead (the row lock orders the bumps as the commits); with the '*' counter and the
 * count/latest `updated_at` of categories and zones, one statement of index lookups.
 * Writes that change none of these (sessions, payments, featuring an event) keep the cache.
 * Entries are also keyed by what the caller puts in the key (the Rome day: lists start "today").
 * At most `maxEntries` are kept per state (oldest dropped first). Cached values are shared by
 * requests: never mutate them.
 */
import type Database from 'better-sqlite3';
import { rawClient, type DbLike } from '../../db/client.js';
import { dialectOf, sqlGet, sqlRun } from '../../db/raw.js';

const STATE_SQL = `SELECT
  coalesce((SELECT group_concat(name || '=' || seq) FROM sqlite_sequence WHERE name IN ('events', 'event_occurrences')), '') || '|' ||
  coalesce((SELECT version FROM debtor_versions WHERE fiscal_code = '*'), 0) || '|' ||
  (SELECT count(*) || ':' || coalesce(max(updated_at), '') FROM event_categories) || '|' ||
  (SELECT count(*) || ':' || coalesce(max(updated_at), '') FROM zones)`;

/** The public events' counter on PostgreSQL (see the module comment); not a fiscal code. */
const EVENTS_COUNTER = '*events';

const PG_STATE_SQL = `SELECT
  coalesce((SELECT version FROM debtor_versions WHERE fiscal_code = '${EVENTS_COUNTER}'), 0) || '|' ||
  coalesce((SELECT version FROM debtor_versions WHERE fiscal_code = '*'), 0) || '|' ||
  (SELECT count(*) || ':' || coalesce(max(updated_at), '') FROM event_categories) || '|' ||
  (SELECT count(*) || ':' || coalesce(max(updated_at), '') FROM zones) AS s`;

/**
 * On PostgreSQL, moves the public events' counter in the caller's transaction (called where the
 * occurrences are rewritten: every change the public pages show). Nothing on SQLite, whose state
 * reads the AUTOINCREMENT counters.
 */
export async function bumpPublicEventsVersion(tx: DbLike): Promise<void> {
  if (dialectOf(tx) !== 'postgres') return;
  await sqlRun(tx, `INSERT INTO debtor_versions (fiscal_code, version) VALUES ('${EVENTS_COUNTER}', 1) ON CONFLICT (fiscal_code) DO UPDATE SET version = debtor_versions.version + 1`);
}

export class PublicDataCache {
  private readonly stateStatement: Database.Statement | null = null;
  private readonly dataVersion: Database.Statement | null = null;
  private readonly totalChanges: Database.Statement | null = null;
  /** SQLite: the last state read, with this connection's total_changes() and the clock at that read. */
  private read = { state: '', changes: -1, at: -Infinity };
  private state = '';
  private entries = new Map<string, unknown>();

  constructor(
    private readonly db: DbLike,
    private readonly maxEntries = 500,
    private readonly otherWritersMs = 1000,
    private readonly clock: () => number = () => performance.now(),
  ) {
    if (dialectOf(db) === 'sqlite') {
      const sqlite = rawClient(db);
      this.stateStatement = sqlite.prepare(STATE_SQL).pluck();
      this.dataVersion = sqlite.prepare('PRAGMA data_version').pluck();
      this.totalChanges = sqlite.prepare('SELECT total_changes()').pluck();
    }
  }

  /** What the public pages show depends on, now (changes with any event, comune, category or zone). */
  async currentState(): Promise<string> {
    if (!this.stateStatement) return String((await sqlGet<{ s: string }>(this.db, PG_STATE_SQL))?.s);
    const changes = this.totalChanges!.get() as number;
    const now = this.clock();
    if (changes === this.read.changes && now - this.read.at < this.otherWritersMs) return this.read.state;
    const state = `${String(this.stateStatement.get())}|${String(this.dataVersion!.get())}`;
    this.read = { state, changes, at: now };
    return state;
  }

  /** `compute()`'s value for `key`, from memory while the state is unchanged. */
  async get<T>(key: string, compute: () => Promise<T>): Promise<T> {
    const state = await this.currentState();
    if (state !== this.state) {
      this.state = state;
      this.entries = new Map();
    }
    if (this.entries.has(key)) return this.entries.get(key) as T;
    const value = await compute();
    // A change while computing leaves the value unkept (the state it was computed for is gone).
    if (await this.currentState() === state) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
      this.entries.set(key, value);
    }
    return value;
  }
}
