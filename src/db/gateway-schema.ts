import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { jobEventsInstallSql } from '../sql/job-events.ts';

const DEADLOCK_DETECTED = '40P01';
const ATTEMPTS = 5;

async function installOnce(pool: pg.Pool, bossSchema: string): Promise<void> {
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

/**
 * Objects the gateway keeps inside pg-boss's schema (the job-event trigger).
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
