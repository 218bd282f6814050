import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Where test databases are created; the machine's PostgreSQL by default. */
export const ADMIN_DATABASE_URL = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export function databaseUrlFor(name: string, adminUrl = ADMIN_DATABASE_URL): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs `action` on a client of its own on `url`, ended afterwards whatever the outcome. */
export async function withDatabaseClient<T>(url: string, action: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await action(client);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database (tests, benchmarks), created through `adminUrl`. */
export async function createDatabase(prefix = 'jobgate_test', adminUrl = ADMIN_DATABASE_URL): Promise<{ name: string; url: string }> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  await withDatabaseClient(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  return { name, url: databaseUrlFor(name, adminUrl) };
}

export async function dropDatabase(name: string, adminUrl = ADMIN_DATABASE_URL): Promise<void> {
  await withDatabaseClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}
