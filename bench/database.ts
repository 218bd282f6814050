import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Where the bench creates its throwaway database (CREATE DATABASE runs through it). */
export const ADMIN_DATABASE_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

async function withAdmin<T>(action: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    return await action(client);
  } finally {
    await client.end();
  }
}

export async function createBenchDatabase(): Promise<BenchDatabase> {
  const name = `jobgate_bench_${randomBytes(4).toString('hex')}`;
  await withAdmin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
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
