import { afterAll, beforeAll } from '@jest/globals';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import type { ScopeName } from '../../src/auth/scopes.ts';
import type { Config } from '../../src/config.ts';
import { gqlData, gqlErrorCode } from './clients.ts';
import { createTestTenant, startGateway, testDatabaseUrl, uniqueName, type TestGateway, type TestTenant } from './gateway.ts';
import { sendJob, sendJobs, type JobInput } from './operations.ts';

/**
 * What the Jobs API e2e tests share: a real gateway, a fresh tenant, and two
 * independent views of pg-boss's state (a plain `pg` client on its tables and
 * a pg-boss instance acting as an outside worker) to check what the API did.
 */

export const JOB_FIELDS = `id queue state data output priority retryCount retryLimit retryDelay retryBackoff retryDelayMax
  expireInSeconds deleteAfterSeconds heartbeatSeconds singletonKey groupId groupTier deadLetter policy
  startAfter createdOn startedOn completedOn keepUntil heartbeatOn`;

export const QUEUE_FIELDS = `name policy deadLetter queuedCount deferredCount activeCount completedCount failedCount
  cancelledCount totalCount createdOn updatedOn
  options { retryLimit retryDelay retryBackoff retryDelayMax expireInSeconds retentionSeconds deleteAfterSeconds heartbeatSeconds partition }`;

/** A GraphQL client bound to one token. */
export interface Api {
  /** Data of a request expected to succeed (throws with the errors otherwise). */
  data<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** `extensions.code` of the first error of a request expected to fail. */
  errorCode(query: string, variables?: Record<string, unknown>): Promise<string | undefined>;
  /** Sends one job; its id. */
  sendJob(queue: string, data?: unknown, options?: object): Promise<string>;
  /** Sends a batch; the ids in input order. */
  sendJobs(queue: string, jobs: readonly JobInput[]): Promise<string[]>;
}

export function apiFor(gateway: TestGateway, token: string): Api {
  return {
    data: (query, variables) => gqlData(gateway.graphqlUrl, token, query, variables),
    errorCode: (query, variables) => gqlErrorCode(gateway.graphqlUrl, token, query, variables),
    sendJob: (queue, data, options) => sendJob(gateway, token, queue, data, options),
    sendJobs: (queue, jobs) => sendJobs(gateway, token, queue, jobs),
  };
}

/** A row of `pgboss.job`, as stored. */
export interface JobTableRow {
  id: string;
  name: string;
  state: string;
  data: unknown;
  output: unknown;
  priority: number;
  retry_count: number;
  retry_limit: number;
  retry_delay: number;
  retry_backoff: boolean;
  retry_delay_max: number | null;
  expire_seconds: number;
  deletion_seconds: number;
  singleton_key: string | null;
  group_id: string | null;
  group_tier: string | null;
  dead_letter: string | null;
  policy: string | null;
  heartbeat_seconds: number | null;
  heartbeat_on: Date | null;
  start_after: Date;
  created_on: Date;
  started_on: Date | null;
  completed_on: Date | null;
  keep_until: Date;
  source_name: string | null;
  source_id: string | null;
}

/** A row of `pgboss.queue`: the options columns. */
export interface QueueTableRow {
  name: string;
  policy: string;
  retry_limit: number;
  retry_delay: number;
  retry_backoff: boolean;
  retry_delay_max: number | null;
  expire_seconds: number;
  retention_seconds: number;
  deletion_seconds: number;
  heartbeat_seconds: number | null;
  dead_letter: string | null;
  partition: boolean;
}

/** A row of `pgboss.schedule`. */
export interface ScheduleTableRow {
  name: string;
  key: string;
  cron: string;
  timezone: string | null;
  data: unknown;
  options: Record<string, unknown> | null;
}

/** A pg-boss instance on the run's database acting as an outside worker: no supervision, no cron. Not started yet. */
export function outsideBoss(options: { max?: number; onError?: (error: Error) => void } = {}): PgBoss {
  const boss = new PgBoss({ connectionString: testDatabaseUrl(), supervise: false, schedule: false, ...(options.max ? { max: options.max } : {}) });
  boss.on('error', options.onError ?? (() => {}));
  return boss;
}

/** An outside pg-boss worker for the enclosing block: started before its tests, stopped after them. */
export function useOutsideBoss(options: { max?: number } = {}): PgBoss {
  const boss = outsideBoss(options);
  beforeAll(async () => {
    await boss.start();
  });
  afterAll(async () => {
    await boss.stop({ graceful: false });
  });
  return boss;
}

/** Reads pg-boss's tables directly, bypassing the gateway. */
export class BossTables {
  readonly sql: pg.Pool;

  constructor(sql: pg.Pool) {
    this.sql = sql;
  }

  async job(id: string): Promise<JobTableRow | undefined> {
    const { rows } = await this.sql.query<JobTableRow>('SELECT * FROM pgboss.job WHERE id = $1', [id]);
    return rows[0];
  }

  /** Jobs of one qualified queue, oldest first. */
  async jobsIn(qualified: string): Promise<JobTableRow[]> {
    const { rows } = await this.sql.query<JobTableRow>('SELECT * FROM pgboss.job WHERE name = $1 ORDER BY created_on, id', [qualified]);
    return rows;
  }

  async queue(qualified: string): Promise<QueueTableRow | undefined> {
    const { rows } = await this.sql.query<QueueTableRow>('SELECT * FROM pgboss.queue WHERE name = $1', [qualified]);
    return rows[0];
  }

  async schedules(qualified: string): Promise<ScheduleTableRow[]> {
    const { rows } = await this.sql.query<ScheduleTableRow>('SELECT * FROM pgboss.schedule WHERE name = $1 ORDER BY key', [qualified]);
    return rows;
  }

  /** Rows stored under a name prefix (a tenant's `<tenantId>/`) in the job, queue and schedule tables. */
  async countUnder(prefix: string): Promise<{ jobs: number; queues: number; schedules: number }> {
    const { rows } = await this.sql.query<{ jobs: number; queues: number; schedules: number }>(
      `SELECT (SELECT count(*)::int FROM pgboss.job WHERE starts_with(name, $1)) AS jobs,
              (SELECT count(*)::int FROM pgboss.queue WHERE starts_with(name, $1)) AS queues,
              (SELECT count(*)::int FROM pgboss.schedule WHERE starts_with(name, $1)) AS schedules`,
      [prefix],
    );
    return rows[0]!;
  }
}

export interface JobsFixture {
  gateway: TestGateway;
  tenant: TestTenant;
  /** The tenant's token (scopes as asked, PUBLISH, READ and WORK by default). */
  api: Api;
  /** An outside pg-boss worker on the same database (no supervision, no cron). */
  boss: PgBoss;
  tables: BossTables;
  /** `name` as pg-boss stores it for this tenant: `<tenantId>/<name>`. */
  qualified(name: string): string;
  /** A queue name not used before. */
  queueName(prefix?: string): string;
  close(): Promise<void>;
}

/** Starts a gateway, a tenant and the pg-boss probes; `close()` stops them all. */
export async function startJobsFixture(options: { config?: Partial<Config>; scopes?: readonly ScopeName[] } = {}): Promise<JobsFixture> {
  const gateway = await startGateway(options.config);
  const tenant = await createTestTenant(gateway, options.scopes ?? ['PUBLISH', 'READ', 'WORK']);
  const sql = new pg.Pool({ connectionString: testDatabaseUrl(), max: 3 });
  const boss = outsideBoss({ max: 2, onError: (error) => console.error('test pg-boss error', error) });
  await boss.start();
  return {
    gateway,
    tenant,
    api: apiFor(gateway, tenant.token),
    boss,
    tables: new BossTables(sql),
    qualified: (name) => `${tenant.tenant.id}/${name}`,
    queueName: (prefix = 'q') => uniqueName(prefix),
    async close() {
      await boss.stop({ graceful: false });
      await sql.end();
      await gateway.stop();
    },
  };
}

/**
 * The fixture for the enclosing block: started before its tests, closed after
 * them. The object returned is filled in when it starts: use it in hooks and tests only.
 */
export function useJobsFixture(options: Parameters<typeof startJobsFixture>[0] = {}): JobsFixture {
  const fixture = {} as JobsFixture;
  beforeAll(async () => {
    Object.assign(fixture, await startJobsFixture(options));
  });
  afterAll(async () => {
    await fixture.close?.();
  });
  return fixture;
}
