import { defineConfig } from 'drizzle-kit';

/** PostgreSQL migrations, generated from the tables src/db/pg-schema.ts derives from schema.ts. */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/pg-schema.ts',
  out: './migrations-pg',
});
