/** Placeholder: the catalogue's services and ente classes, seeded in every mode. */
import type { Db } from '../../db/client.js';

export async function seedCatalogue(_db: Db): Promise<void> {}
