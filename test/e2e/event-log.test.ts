/**
 * The job-event log: written by the job triggers, read in position order up to
 * the high-water mark, kept by day partitions, and replayed by the event bus
 * after its LISTEN connection was lost.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { EventLogRetention } from '../../src/events/event-log-retention.ts';
import { EventLog, type LoggedJobEvent } from '../../src/events/event-log.ts';
import { comparePositions, type EventPosition } from '../../src/events/event-position.ts';
import { parseJobEvent } from '../../src/events/job-event.ts';
import { createLogger } from '../../src/logger.ts';
import { quoteIdentifier } from '../../src/sql/identifiers.ts';
import { reportProgress } from '../../src/sql/progress.ts';
import { gqlData } from '../support/clients.ts';
import { createDatabase, dropDatabase } from '../support/database.ts';
import { eventsOf, eventStreams } from '../support/events.ts';
import { createTestTenant, startGateway, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { sleep } from '../support/subscriptions.ts';

const SEND_JOBS = 'mutation($queue: String!, $jobs: [JobInput!]!) { sendJobs(queue: $queue, jobs: $jobs) }';

async function sendJobs(gateway: TestGateway, tenant: TestTenant, queue: string, count: number): Promise<string[]> {
  const { sendJobs: ids } = await gqlData<{ sendJobs: string[] }>(gateway.graphqlUrl, tenant.token, SEND_JOBS, {
    queue,
    jobs: Array.from({ length: count }, (_, n) => ({ data: { n } })),
  });
  return ids;
}

async function connected(url: string, count: number): Promise<pg.Client[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      return client;
    }),
  );
}

/** `TYPE:state` of each job, in the order they came. */
function byJob(events: readonly LoggedJobEvent[]): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  for (const event of events) seen.set(event.jobId, [...(seen.get(event.jobId) ?? []), `${event.type}:${event.state}`]);
  return seen;
}

describe('event positions and NOTIFY lines', () => {
  it('parses lines with their position, progress lines too, and lines of an older trigger without one', () => {
    const at = new Date();
    expect(parseJobEvent('U\tactive\tt/q\tid\t1\t\t100\t7', at)).toMatchObject({ type: 'ACTIVE', retryCount: 1, position: { tx: 100n, seq: 7n } });
    expect(parseJobEvent('P\tactive\tt/q\tid\t0\t{"done":3}\t100\t8', at)).toMatchObject({
      type: 'PROGRESS',
      progress: { done: 3 },
      position: { tx: 100n, seq: 8n },
    });
    const older = parseJobEvent('U\tcompleted\tt/q\tid\t0', at);
    expect(older).toMatchObject({ type: 'COMPLETED' });
    expect(older).not.toHaveProperty('position');
    expect(parseJobEvent('P\tactive\tt/q\tid\t0\t{"done":1}', at)).toMatchObject({ type: 'PROGRESS', progress: { done: 1 } });
  });
});

describe('the job-event log (against PostgreSQL)', () => {
  let gateway: TestGateway;
  let tenant: TestTenant;
  let pool: pg.Pool;
  let log: EventLog;

  beforeAll(async () => {
    gateway = await startGateway();
    tenant = await createTestTenant(gateway);
    pool = new pg.Pool({ connectionString: gateway.databaseUrl, max: 2 });
    log = new EventLog(pool);
  });

  afterAll(async () => {
    await pool.end();
    await gateway.stop();
  });

  it('gives a reader polling "after the last position" every event exactly once, per job in order, while transactions commit out of their start order', async () => {
    const queue = 'out-of-order';
    const qualified = `${tenant.tenant.id}/${queue}`;
    const ids = await sendJobs(gateway, tenant, queue, 6);
    const [j0, j1, j2, j3, j4, shared] = ids as [string, string, string, string, string, string];
    const read: LoggedJobEvent[] = [];
    let after: EventPosition | null = null;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const { events: page } = await log.read(after, { queue: qualified }, 3);
        read.push(...page);
        if (page.length) after = page[page.length - 1]!.position;
        else await sleep(5);
      }
    })();
    const clients = await connected(gateway.databaseUrl, 6);
    const [c0, c1, c2, c3, c4, c5] = clients as [pg.Client, pg.Client, pg.Client, pg.Client, pg.Client, pg.Client];
    const set = (client: pg.Client, id: string, state: string) =>
      client.query('UPDATE pgboss.job SET state = $3 WHERE name = $1 AND id = $2', [qualified, id, state]);
    try {
      for (const client of clients) await client.query('BEGIN');
      await set(c0, j0, 'active');
      await set(c1, j1, 'active');
      await set(c2, j2, 'active');
      await set(c5, j4, 'active');
      await sleep(50);
      // The newest transactions commit first; the reader must not read past the older ones.
      await set(c3, j3, 'active');
      await c3.query('COMMIT');
      await sleep(50);
      // A newer transaction changes a job, commits, and then an older one (it has written already)
      // changes the same job: the later change must come later.
      await set(c4, shared, 'active');
      await c4.query('COMMIT');
      await set(c1, shared, 'completed');
      await sleep(50);
      await c2.query('COMMIT');
      await sleep(50);
      await c1.query('COMMIT');
      await set(c0, j0, 'completed');
      await sleep(50);
      await c0.query('COMMIT');
      await set(c5, j4, 'completed');
      await sleep(50);
      await c5.query('COMMIT');
      // Everything committed: wait for the reader to reach the 6 CREATED + 9 changes.
      for (const deadline = Date.now() + 10_000; read.length < 15 && Date.now() < deadline;) await sleep(20);
      await sleep(200);
    } finally {
      polling = false;
      await poller;
      await Promise.all(
        clients.map((client) =>
          client
            .query('ROLLBACK')
            .catch(() => {})
            .then(() => client.end()),
        ),
      );
    }
    expect(new Set(read.map((event) => event.position.seq)).size).toBe(read.length);
    for (let n = 1; n < read.length; n++) expect(comparePositions(read[n - 1]!.position, read[n]!.position)).toBe(-1);
    expect(Object.fromEntries(byJob(read))).toEqual({
      [j0]: ['CREATED:created', 'ACTIVE:active', 'COMPLETED:completed'],
      [j1]: ['CREATED:created', 'ACTIVE:active'],
      [j2]: ['CREATED:created', 'ACTIVE:active'],
      [j3]: ['CREATED:created', 'ACTIVE:active'],
      [j4]: ['CREATED:created', 'ACTIVE:active', 'COMPLETED:completed'],
      [shared]: ['CREATED:created', 'ACTIVE:active', 'COMPLETED:completed'],
    });
  });

  it('under many writers committing at random, a polling reader gets each change exactly once and per job in order', async () => {
    const queue = 'many-writers';
    const qualified = `${tenant.tenant.id}/${queue}`;
    const WRITERS = 12;
    const STEPS = ['active', 'completed', 'created', 'active', 'failed'];
    const ids = await sendJobs(gateway, tenant, queue, WRITERS * 2);
    const read: LoggedJobEvent[] = [];
    let after: EventPosition | null = null;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const { events: page } = await log.read(after, { tenantId: tenant.tenant.id, queue: qualified }, 7);
        read.push(...page);
        if (page.length) after = page[page.length - 1]!.position;
        else await sleep(2);
      }
    })();
    const clients = await connected(gateway.databaseUrl, WRITERS);
    try {
      // Each writer owns two jobs and moves both through the steps, one transaction per step,
      // holding each open for a random while: commits interleave out of their start order.
      await Promise.all(
        clients.map(async (client, w) => {
          for (const state of STEPS) {
            await client.query('BEGIN');
            await client.query('UPDATE pgboss.job SET state = $3 WHERE name = $1 AND id = $2', [qualified, ids[2 * w], state]);
            await sleep(Math.random() * 30);
            await client.query('UPDATE pgboss.job SET state = $3 WHERE name = $1 AND id = $2', [qualified, ids[2 * w + 1], state]);
            await sleep(Math.random() * 30);
            await client.query('COMMIT');
          }
        }),
      );
      const expected = ids.length * (1 + STEPS.length);
      for (const deadline = Date.now() + 10_000; read.length < expected && Date.now() < deadline;) await sleep(20);
      await sleep(200);
    } finally {
      polling = false;
      await poller;
      await Promise.all(clients.map((client) => client.end()));
    }
    const states = { active: 'ACTIVE', completed: 'COMPLETED', created: 'CREATED', failed: 'FAILED' } as Record<string, string>;
    const history = ['CREATED:created', ...STEPS.map((state) => `${states[state]}:${state}`)];
    expect(new Set(read.map((event) => event.position.seq)).size).toBe(read.length);
    expect(Object.fromEntries(byJob(read))).toEqual(Object.fromEntries(ids.map((id) => [id, history])));
  });

  it('logs progress reports with their value, in order with the state changes', async () => {
    const queue = 'progress';
    const qualified = `${tenant.tenant.id}/${queue}`;
    const [id] = await sendJobs(gateway, tenant, queue, 1);
    const from = (await log.read(null, { jobId: id! }, 100)).events.at(-1)!.position;
    await pool.query("UPDATE pgboss.job SET state = 'active' WHERE name = $1 AND id = $2", [qualified, id]);
    for (const done of [1, 2]) {
      const plan = reportProgress(quoteIdentifier('pgboss'), qualified, id!, 0, JSON.stringify({ done }));
      await pool.query(plan.text, plan.values);
    }
    await pool.query("UPDATE pgboss.job SET state = 'completed' WHERE name = $1 AND id = $2", [qualified, id]);
    const { events } = await log.read(from, { jobId: id! }, 100);
    expect(events.map((event) => [event.type, event.progress ?? null])).toEqual([
      ['ACTIVE', null],
      ['PROGRESS', { done: 1 }],
      ['PROGRESS', { done: 2 }],
      ['COMPLETED', null],
    ]);
  });
});

/** A database of its own: retention moves the clock days ahead, and the LISTEN cut must hit this gateway's only. */
describe('the job-event log on a database of its own', () => {
  let database: { name: string; url: string };
  let gateway: TestGateway;
  let tenant: TestTenant;
  let admin: pg.Client;

  beforeAll(async () => {
    database = await createDatabase();
    // One hour of retention (the least), so that two days ahead drops today's partition.
    gateway = await startGateway({ databaseUrl: database.url, migrateOnStart: true, eventRetentionHours: 1 });
    tenant = await createTestTenant(gateway);
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
  }, 60_000);

  afterAll(async () => {
    await admin.end();
    await gateway.stop();
    await dropDatabase(database.name);
  });

  const partitions = async () =>
    (
      await admin.query<{ name: string }>(
        "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'job_event'::regclass ORDER BY 1",
      )
    ).rows.map((row) => row.name);
  const day = (base: Date, days: number) => new Date(Date.UTC(base.getUTCFullYear(), base.getUTCMonth(), base.getUTCDate() + days));
  const partitionOf = (date: Date) => `job_event_${date.toISOString().slice(0, 10).replaceAll('-', '')}`;

  it('retention creates day partitions ahead, drops whole days past it, and keeps the log bounded', async () => {
    const today = day(new Date(), 0);
    // The gateway's start made today's and two days ahead.
    expect(await partitions()).toEqual([partitionOf(today), partitionOf(day(today, 1)), partitionOf(day(today, 2)), 'job_event_default']);
    await sendJobs(gateway, tenant, 'kept', 5);
    const logged = async () => (await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM job_event')).rows[0]!.n;
    expect(await logged()).toBeGreaterThanOrEqual(5);
    const pool = new pg.Pool({ connectionString: database.url, max: 1 });
    const at = (base: Date, hours: number) => new Date(base.getTime() + hours * 3_600_000);
    try {
      const kept = new EventLogRetention(pool, 1, createLogger('silent'));
      // Within the day and its hour of retention, nothing goes.
      expect(await kept.run(at(day(today, 1), 0.5))).toEqual({ ran: true, created: 1, dropped: 0 });
      expect(await logged()).toBeGreaterThanOrEqual(5);
      // Thirty days go by, a run every six hours, with events each day: the log holds about one day.
      let most = 0;
      for (let hours = 1; hours <= 30 * 24; hours += 6) {
        const now = at(day(today, 1), hours);
        await admin.query(
          "INSERT INTO job_event (tx, seq, xid, at, op, state, queue, job_id, retry_count) SELECT 0, nextval('job_event_seq'), '0', $1, 'I', 'created', 'x/y', gen_random_uuid(), 0 FROM generate_series(1, 100)",
          [now],
        );
        await kept.run(now);
        most = Math.max(most, (await partitions()).length);
        expect(await logged()).toBeLessThanOrEqual(100 * (24 / 6) * 2);
      }
      expect(most).toBeLessThanOrEqual(5);
      const last = at(day(today, 1), 30 * 24 - 5);
      expect(await partitions()).toEqual([partitionOf(day(last, 0)), partitionOf(day(last, 1)), partitionOf(day(last, 2)), 'job_event_default']);
      // What the default partition caught (days no partition was made for) goes once it is all past retention.
      await admin.query(
        "INSERT INTO job_event (tx, seq, xid, at, op, state, queue, job_id, retry_count) VALUES (0, nextval('job_event_seq'), '0', $1, 'I', 'created', 'x/y', gen_random_uuid(), 0)",
        [day(today, -10)],
      );
      const inDefault = async () => (await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM job_event_default')).rows[0]!.n;
      expect(await inDefault()).toBeGreaterThan(0);
      await kept.run(last);
      expect(await inDefault()).toBe(0);
      // One instance at a time: a run while another holds the lock does nothing.
      await admin.query('BEGIN');
      await admin.query("SELECT pg_advisory_xact_lock(hashtext('jobgate:job-event-retention'))");
      expect(await kept.run(last)).toEqual({ ran: false, created: 0, dropped: 0 });
      await admin.query('COMMIT');
    } finally {
      await pool.end();
    }
    // Back to the real today, for the test below.
    await admin.query('DROP TABLE IF EXISTS ' + (await partitions()).filter((name) => name !== 'job_event_default').join(', '));
    await new EventLogRetention(gateway.services.pool, 1, createLogger('silent')).run();
  }, 60_000);

  it('a jobEvents subscriber connected while the LISTEN connection is cut gets every event of the gap exactly once, in order, then live ones', async () => {
    const queue = 'gap';
    const qualified = `${tenant.tenant.id}/${queue}`;
    const streams = eventStreams(gateway, tenant.token);
    const observer = new pg.Client({ connectionString: database.url });
    await observer.connect();
    const writers = await connected(database.url, 3);
    try {
      const byQueue = await streams.subscribe({ queue });
      const listening = async () =>
        (
          await observer.query<{ pid: number; started: Date }>(
            "SELECT pid, backend_start AS started FROM pg_stat_activity WHERE application_name = 'jobgate-listen' AND datname = current_database()",
          )
        ).rows;
      let gap: string[] = [];
      let watched = '';
      let byId: Awaited<ReturnType<typeof streams.subscribe>> | undefined;
      // The gap's transactions must commit while no LISTEN connection exists. The bus reconnects
      // 100 ms after the cut; on a loaded machine that race can be lost, and then the round is repeated.
      for (let round = 0; ; round++) {
        [watched] = (await sendJobs(gateway, tenant, queue, 1)) as [string];
        byId?.stop();
        byId = await streams.subscribe({ jobId: watched });
        await byQueue.waitFor((d) => d.jobEvents.jobId === watched);
        gap = [randomUUID(), randomUUID()];
        const [creator, starter, finisher] = writers as [pg.Client, pg.Client, pg.Client];
        for (const writer of writers) await writer.query('BEGIN');
        await creator.query("INSERT INTO pgboss.job (name, id, data) SELECT $1, id, '{}' FROM unnest($2::uuid[]) AS id", [qualified, gap]);
        await starter.query("UPDATE pgboss.job SET state = 'active' WHERE name = $1 AND id = $2", [qualified, watched]);
        const cut = await listening();
        await observer.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [cut.map((row) => row.pid)]);
        while ((await listening()).some((row) => cut.some((c) => c.pid === row.pid))) await sleep(2);
        // Another writer: the new jobs are created, started and finished, the watched one too, each in its own commit.
        await creator.query('COMMIT');
        await starter.query("UPDATE pgboss.job SET state = 'active' WHERE name = $1 AND id = ANY($2::uuid[])", [qualified, gap]);
        await starter.query('COMMIT');
        await finisher.query("UPDATE pgboss.job SET state = 'completed' WHERE name = $1 AND id = ANY($2::uuid[])", [qualified, [...gap, watched]]);
        await finisher.query('COMMIT');
        const { rows } = await observer.query<{ now: Date }>('SELECT clock_timestamp() AS now');
        if ((await listening()).every((row) => row.started >= rows[0]!.now)) break;
        if (round >= 4) throw new Error('the LISTEN connection came back before the gap committed, every round');
        // Lost the race: some events may have arrived live. Again, with fresh jobs.
        await sleep(500);
      }
      await byQueue.waitFor((d) => d.jobEvents.jobId === gap[1] && d.jobEvents.type === 'COMPLETED', 15_000);
      await byId.waitFor((d) => d.jobEvents.type === 'COMPLETED', 15_000);
      // Live delivery resumes after the replay.
      const [live] = await sendJobs(gateway, tenant, queue, 1);
      await byQueue.waitFor((d) => d.jobEvents.jobId === live, 5_000);
      await sleep(300);
      for (const id of gap) expect(eventsOf(byQueue, id)).toEqual(['CREATED:CREATED', 'ACTIVE:ACTIVE', 'COMPLETED:COMPLETED']);
      expect(eventsOf(byQueue, watched)).toEqual(['CREATED:CREATED', 'ACTIVE:ACTIVE', 'COMPLETED:COMPLETED']);
      expect(eventsOf(byId, watched)).toEqual(['ACTIVE:ACTIVE', 'COMPLETED:COMPLETED']);
      const order = byQueue.results.map((r) => r.data?.jobEvents.jobId);
      expect(order.lastIndexOf(gap[1])).toBeLessThan(order.indexOf(live));
      expect(eventsOf(byQueue, live!)).toEqual(['CREATED:CREATED']);
    } finally {
      await Promise.all(
        writers.map((writer) =>
          writer
            .query('ROLLBACK')
            .catch(() => {})
            .then(() => writer.end()),
        ),
      );
      await observer.end();
      await streams.close();
    }
  }, 60_000);
});
