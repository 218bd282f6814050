import type pg from 'pg';
import { jobEventsInstallSql } from '../queue/job-events-sql.ts';

/**
 * Objects the gateway keeps inside pg-boss's schema (the job-event trigger).
 * Re-applied on every start: idempotent, serialised by an advisory lock, and
 * restored should a pg-boss migration ever recreate the job table.
 */
export async function installGatewaySchema(pool: pg.Pool, bossSchema: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(jobEventsInstallSql(bossSchema));
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
