import { applyPrismaMigrations } from '../../src/db/migrate.ts';
import { createLogger } from '../../src/logger.ts';
import { startBoss } from '../../src/pgboss/start.ts';
import { createDatabase } from './database.ts';

/** One fresh database per test run, migrated once; workers inherit its URL. */
export default async function globalSetup(): Promise<void> {
  const database = await createDatabase();
  process.env.JOBGATE_TEST_DATABASE = database.name;
  process.env.DATABASE_URL = database.url;
  await applyPrismaMigrations(database.url);
  const boss = await startBoss({ databaseUrl: database.url, schema: 'pgboss', logger: createLogger('silent'), supervise: false });
  await boss.stop({ graceful: false });
}
