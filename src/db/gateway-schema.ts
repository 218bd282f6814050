import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { EVENT_LOG_SCHEMA_SQL, eventLogRetentionInstallSql } from '../sql/event-log.ts';
import { jobEventsInstallSql } from '../sql/job-events.ts';

const DEADLOCK_DETECTED = '40P01';
const ATTEMPTS = 5;

async function installOnce(pool: pg.Pool, bossSchema: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // The triggers run in pg-boss's sessions, whatever their search_path: they name the log's schema.
    const { rows } = await client.query<{ schema: string }>(EVENT_LOG_SCHEMA_SQL);
    const logSchema = rows[0]?.schema;
    if (logSchema === undefined) throw new Error('the job_event table is missing: apply the database migrations first (jobgate migrate)');
    await client.query(jobEventsInstallSql(bossSchema, logSchema));
    await client.query(eventLogRetentionInstallSql(logSchema));
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Objects the gateway keeps inside pg-boss's schema (the job-event trigger,
 * which also writes the job-event log) and the log's retention function.
 * Re-applied on every start: idempotent, serialised by an advisory lock, and
 * restored should a pg-boss migration ever recreate the job table.
 *
 * Creating the triggers locks the job table before its partitions, while
 * pg-boss's fail and expiry statements write a partition and then the parent
 * table: a gateway starting while another fails or expires jobs can deadlock
 * with it. PostgreSQL then cancels one of the two; if that was the install, it
 * runs again.
 */
export async function installGatewaySchema(pool: pg.Pool, bossSchema: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await installOnce(pool, bossSchema);
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== DEADLOCK_DETECTED || attempt >= ATTEMPTS) throw error;
      await sleep(50 * attempt + Math.random() * 50);
    }
  }
}
