import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { installGatewaySchema } from '../../src/db/gateway-schema.ts';
import { applyPrismaMigrations } from '../../src/db/migrate.ts';
import { createLogger } from '../../src/logger.ts';
import { startBoss } from '../../src/pgboss/start.ts';
import { createDatabase, dropDatabase, withDatabaseClient } from '../support/database.ts';

// A database of its own: the test holds locks on pg-boss's job table for a second or two.
describe('installGatewaySchema (against PostgreSQL)', () => {
  let database: { name: string; url: string };
  let pool: pg.Pool;

  beforeAll(async () => {
    database = await createDatabase();
    // The triggers write the job-event log, a table of the migrations.
    await applyPrismaMigrations(database.url);
    const boss = await startBoss({ databaseUrl: database.url, schema: 'pgboss', logger: createLogger('silent'), supervise: false });
    await boss.stop({ graceful: false });
    pool = new pg.Pool({ connectionString: database.url, max: 2, application_name: 'installer' });
    await installGatewaySchema(pool, 'pgboss');
  });

  afterAll(async () => {
    await pool.end();
    await dropDatabase(database.name);
  });

  it('installs while a transaction writes a job partition and then the parent (as pg-boss fails jobs): the deadlock is retried', async () => {
    await withDatabaseClient(database.url, async (writer) => {
      await writer.query('BEGIN');
      // A partition first, as pg-boss's fail and expiry statements do …
      await writer.query("UPDATE pgboss.job_common SET state = state WHERE name = 'none'");
      const installed = installGatewaySchema(pool, 'pgboss');
      for (let waited = 0; ; waited += 10) {
        const { rows } = await writer.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'installer' AND wait_event_type = 'Lock'");
        if (rows.length) break;
        if (waited > 5_000) throw new Error('the install never waited for the partition');
        await sleep(10);
      }
      // … then the parent, which the install has locked already: a deadlock. The install waited
      // first, so PostgreSQL cancels the install, and this write goes through.
      await writer.query("INSERT INTO pgboss.job (name, data) SELECT 'none', '{}' WHERE false");
      await writer.query('COMMIT');
      await expect(installed).resolves.toBeUndefined();
      const { rows } = await writer.query("SELECT count(*)::int AS n FROM pg_trigger WHERE tgname = 'jobgate_job_updates'");
      expect(rows[0].n).toBeGreaterThan(0);
    });
  });
});
