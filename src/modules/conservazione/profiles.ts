/**
 * Conservazione profiles per tipologia documentale (issue #16 item 1). OWNER: helper B2.
 */
import type { Db } from '../../db/client.js';

/** Seeds the platform's profiles (idempotent: only missing codes are added, admin edits stay). */
export async function seedConservazioneProfiles(db: Db): Promise<void> {
  void db;
}
