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
 * Writes that change none of these (sessions, payments, featuring an event) keep the cache.
 * Entries are also keyed by what the caller puts in the key (the Rome day: lists start "today").
 * At most `maxEntries` are kept per state (oldest dropped first). Cached values are shared by
 * requests: never mutate them.
 */
import type Database from 'better-sqlite3';

const STATE_SQL = `SELECT
  (SELECT group_concat(name || '=' || seq) FROM sqlite_sequence WHERE name IN ('events', 'event_occurrences')) || '|' ||
  coalesce((SELECT version FROM debtor_versions WHERE fiscal_code = '*'), 0) || '|' ||
  (SELECT count(*) || ':' || coalesce(max(updated_at), '') FROM event_categories) || '|' ||
  (SELECT count(*) || ':' || coalesce(max(updated_at), '') FROM zones)`;

export class PublicDataCache {
  private readonly stateStatement: Database.Statement;
  private readonly dataVersion: Database.Statement;
  private state = '';
  private entries = new Map<string, unknown>();

  constructor(
    sqlite: Database.Database,
    private readonly maxEntries = 500,
  ) {
    this.stateStatement = sqlite.prepare(STATE_SQL).pluck();
    this.dataVersion = sqlite.prepare('PRAGMA data_version').pluck();
  }

  /** What the public pages show depends on, now (changes with any event, comune, category or zone). */
  async currentState(): Promise<string> {
    return `${String(this.stateStatement.get())}|${String(this.dataVersion.get())}`;
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
