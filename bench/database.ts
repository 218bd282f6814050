import type pg from 'pg';
import { createDatabase, dropDatabase } from '../test/support/database.ts';

/** Where the bench creates its throwaway database (CREATE DATABASE runs through it). */
export const ADMIN_DATABASE_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createBenchDatabase(): Promise<BenchDatabase> {
  const { name, url } = await createDatabase('jobgate_bench', ADMIN_DATABASE_URL);
  return { name, url, drop: () => dropDatabase(name, ADMIN_DATABASE_URL) };
}

/** PostgreSQL's version and the settings that matter for these numbers. */
export async function describePostgres(pool: pg.Pool): Promise<Record<string, string>> {
  const { rows } = await pool.query<{ name: string; setting: string }>(
    `SELECT name, setting FROM pg_settings
      WHERE name IN ('server_version', 'max_connections', 'shared_buffers', 'synchronous_commit', 'fsync', 'wal_level')`,
  );
  return Object.fromEntries(rows.map((row) => [row.name, row.setting]));
}

/**
 * Deletes a finished scenario's jobs without waking the gateway: with
 * session_replication_role = replica the job-event trigger does not fire.
 */
export async function deleteJobs(pool: pg.Pool, schema: string, names: readonly string[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SET session_replication_role = replica');
    await client.query(`DELETE FROM "${schema}".job WHERE name = ANY($1::text[])`, [names]);
    await client.query('RESET session_replication_role');
  } finally {
    client.release();
  }
  await pool.query(`VACUUM ANALYZE "${schema}".job`);
}
