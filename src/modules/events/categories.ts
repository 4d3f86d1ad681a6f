/** Placeholder (part A): the macro-categories and their seed. */
import type { Db } from '../../db/client.js';

export async function seedEventCategories(_db: Db): Promise<void> {}
