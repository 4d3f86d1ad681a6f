/**
 * Data of the public event pages and feeds kept while the database is unchanged: the same list,
 * feed or open data is served from memory until any row of the database changes. "Unchanged" is
 * SQLite's own count of rows written by this connection (`total_changes()`, every INSERT, UPDATE
 * and DELETE, triggers included) together with `PRAGMA data_version` (which moves when another
 * connection, e.g. the CLI, commits): one cheap statement each, no trigger and no table of ours.
 * Any write anywhere empties the cache, which is conservative (an unrelated write costs a
 * recomputation) and never serves a stale event. Entries are also keyed by the Rome day, since
 * lists start "today". At most `maxEntries` are kept per database state (oldest dropped first).
 * Cached values are shared by requests: never mutate them.
 */
import type Database from 'better-sqlite3';

export class PublicDataCache {
  private readonly changes: Database.Statement;
  private readonly dataVersion: Database.Statement;
  private state = '';
  private entries = new Map<string, unknown>();

  constructor(
    sqlite: Database.Database,
    private readonly maxEntries = 500,
  ) {
    this.changes = sqlite.prepare('SELECT total_changes()').pluck();
    this.dataVersion = sqlite.prepare('PRAGMA data_version').pluck();
  }

  /** The database's state now (changes when anything is written). */
  currentState(): string {
    return `${this.changes.get() as number}:${this.dataVersion.get() as number}`;
  }

  /** `compute()`'s value for `key`, from memory while the database is unchanged. */
  async get<T>(key: string, compute: () => Promise<T>): Promise<T> {
    const state = this.currentState();
    if (state !== this.state) {
      this.state = state;
      this.entries = new Map();
    }
    if (this.entries.has(key)) return this.entries.get(key) as T;
    const value = await compute();
    // A write while computing leaves the value unkept (the state it was computed for is gone).
    if (this.currentState() === state) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
      this.entries.set(key, value);
    }
    return value;
  }
}
