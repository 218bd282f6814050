import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import type { Db, PgBoss } from 'pg-boss';
import { createLogger } from '../../src/logger.ts';
import { asInputError, isQueueNotFound } from '../../src/pgboss/errors.ts';
import { fetchWithHolds } from '../../src/pgboss/fetch-with-holds.ts';
import { restoreAttemptsSql } from '../../src/pgboss/restore.ts';
import { singleStatementDb } from '../../src/pgboss/single-statement.ts';
import { SqlPrepared } from '../../src/pgboss/sql-prepared.ts';
import { startBoss } from '../../src/pgboss/start.ts';
import { CapturedStatement } from '../../src/pgboss/statement-capture.ts';
import { ADAPTED_PG_BOSS_VERSION } from '../../src/pgboss/version.ts';
import { testDatabaseUrl } from '../support/gateway.ts';

// What the gateway relies on in pg-boss beyond its documented API: the number and shape of the
// statements its calls run, the columns of its fetch, its job table, its error messages. Each
// check names the module of src/pgboss that depends on it; an upgrade of pg-boss fails here first.

const root = new URL('../../', import.meta.url);
const readJson = (path: string) => JSON.parse(readFileSync(new URL(path, root), 'utf8')) as Record<string, unknown>;

/** An executor that records the statements a call runs and runs them on `pool`. */
function recording(pool: pg.Pool): { db: Db; statements: { text: string; values: unknown[] }[] } {
  const statements: { text: string; values: unknown[] }[] = [];
  return {
    statements,
    db: {
      executeSql: async (text, values) => {
        statements.push({ text, values: values ?? [] });
        return pool.query(text, values);
      },
    },
  };
}

describe('the pg-boss release the adapter is written for', () => {
  it('is the one installed and the one in the lockfile', () => {
    const installed = readJson('node_modules/pg-boss/package.json').version;
    const locked = (readJson('package-lock.json').packages as Record<string, { version?: string }>)['node_modules/pg-boss']?.version;
    expect({ installed, locked }).toEqual({ installed: ADAPTED_PG_BOSS_VERSION, locked: ADAPTED_PG_BOSS_VERSION });
  });
});

describe('pg-boss statements and messages the adapter relies on', () => {
  let boss: PgBoss;
  let pool: pg.Pool;
  const schema = '"pgboss"';
  const queue = `contract-${randomBytes(4).toString('hex')}/q`;

  beforeAll(async () => {
    boss = await startBoss({ databaseUrl: testDatabaseUrl(), schema: 'pgboss', logger: createLogger('silent'), supervise: false });
    pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 3 });
    await boss.createQueue(queue);
  });

  afterAll(async () => {
    await boss.deleteQueue(queue).catch(() => {});
    await boss.stop({ graceful: false });
    await pool.end();
  });

  it('send runs one parameterised statement, which SQL PREPARE takes (statement-capture, sql-prepared: the send that claims)', async () => {
    const capture = new CapturedStatement();
    const sending = boss.send(queue, { n: 1 }, { db: capture.db });
    expect(await capture.reachedBy(sending)).toBe(true);
    expect(capture.values?.length).toBeGreaterThan(0);
    const client = await pool.connect();
    try {
      const statement = await new SqlPrepared().execute(client, capture.text, capture.values ?? []);
      expect(statement).toMatch(/^EXECUTE jobgate_sql_\d+\(/);
      capture.succeed(await client.query(statement!));
    } finally {
      client.release();
    }
    const id = await sending;
    expect(typeof id).toBe('string');
    expect((await boss.getJobById(queue, id!))?.data).toEqual({ n: 1 });
  });

  it('fetch runs one statement without parameters, returning "id" and "retryCount" (fetch-with-holds)', async () => {
    await boss.send(queue, { n: 2 });
    await boss.send(queue, { n: 3 });
    const capture = new CapturedStatement();
    const fetching = boss.fetch(queue, { batchSize: 2, includeMetadata: true, db: capture.db });
    expect(await capture.reachedBy(fetching)).toBe(true);
    expect(capture.values ?? []).toEqual([]);
    const holds = `CREATE TEMP TABLE IF NOT EXISTS contract_holds (job_id uuid, retry_count int, n bigint)`;
    const client = await pool.connect();
    try {
      await client.query(holds);
      const result = await client.query(fetchWithHolds(capture.text, (numbered) => `INSERT INTO contract_holds ${numbered} RETURNING 1`));
      capture.succeed(result);
      const jobs = await fetching;
      expect(jobs).toHaveLength(2);
      for (const job of jobs) expect(job).toEqual(expect.objectContaining({ id: expect.any(String), retryCount: 0, state: 'active' }));
      const { rows } = await client.query<{ job_id: string; n: string }>('SELECT job_id, n FROM contract_holds ORDER BY n');
      expect(rows.map((row) => row.job_id)).toEqual(jobs.map((job) => job.id));
    } finally {
      client.release();
    }
  });

  it('complete, fail and touch of held attempts run one statement each (single-statement: the one-trip settlement)', async () => {
    await boss.send(queue, { n: 4 }, { retryLimit: 3, retryDelay: 0 });
    for (const settle of ['touch', 'fail', 'complete'] as const) {
      const [job] = await boss.fetch(queue, { batchSize: 1, includeMetadata: true });
      const attempt = { id: job!.id, retryCount: job!.retryCount };
      let statements = 0;
      const { db, ran } = singleStatementDb(async (text, values) => {
        statements++;
        return pool.query(text, values);
      });
      const response =
        settle === 'touch'
          ? await boss.touch(queue, [attempt], { db })
          : settle === 'fail'
            ? await boss.fail(queue, [attempt], { message: 'x' }, { db })
            : await boss.complete(queue, [attempt], { ok: true }, { db });
      expect({ settle, statements, ran: ran(), affected: (response as { affected?: number }).affected }).toEqual({
        settle,
        statements: 1,
        ran: true,
        affected: 1,
      });
      // A touched job is still active: fail it for the next round to fetch.
      if (settle === 'touch') await boss.fail(queue, [attempt], { message: 'again' });
    }
  });

  it('the fenced restore puts an active attempt back without a used retry, and nothing else (restore)', async () => {
    await boss.send(queue, { n: 5 });
    const [job] = await boss.fetch(queue, { batchSize: 1, includeMetadata: true });
    const values = (retryCount: number) => [queue, [job!.id], [retryCount]];
    expect((await pool.query(restoreAttemptsSql(schema), values(job!.retryCount + 1))).rowCount).toBe(0);
    expect((await pool.query(restoreAttemptsSql(schema), values(job!.retryCount))).rowCount).toBe(1);
    const [again] = await boss.fetch(queue, { batchSize: 1, includeMetadata: true });
    expect({ id: again!.id, retryCount: again!.retryCount }).toEqual({ id: job!.id, retryCount: job!.retryCount });
    await boss.complete(queue, again!.id);
  });

  it('a missing queue is recognised in each of the ways pg-boss reports it (errors)', async () => {
    const missing = `${queue}-missing`;
    const sent = await boss.send(missing, {}).catch((error: unknown) => error);
    expect(isQueueNotFound(sent)).toBe(true);
    const scheduled = await boss.schedule(missing, '* * * * *').catch((error: unknown) => error);
    expect(isQueueNotFound(scheduled)).toBe(true);

    // A queue deleted elsewhere after this instance cached it, sent to through the caller's executor.
    const other = await startBoss({ databaseUrl: testDatabaseUrl(), schema: 'pgboss', logger: createLogger('silent'), supervise: false });
    const gone = `${queue}-gone`;
    try {
      await boss.createQueue(gone);
      await boss.send(gone, {});
      await other.deleteQueue(gone);
      const failure = await boss.send(gone, {}, { db: recording(pool).db }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(Error);
      // Without pg-boss's code: only its message and the foreign key violation behind it tell.
      expect((failure as { code?: string }).code).toBeUndefined();
      expect(isQueueNotFound(failure)).toBe(true);
    } finally {
      await other.stop({ graceful: false });
    }
  });

  it('argument checks are assertions, turned into BAD_USER_INPUT (errors)', async () => {
    const refused = await boss.createQueue(`${queue}-bad`, { retryLimit: -1 }).catch((error: unknown) => error);
    expect((refused as { code?: string }).code).toBe('ERR_ASSERTION');
    expect(asInputError(refused)).toEqual(expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }));
  });
});
