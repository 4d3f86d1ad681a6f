/** Placeholder: demo adesioni, convenzioni, charges and a training session (demo mode only). */
import type { Db } from '../../db/client.js';

export async function seedCatalogueDemo(_db: Db, _now: Date): Promise<void> {}
