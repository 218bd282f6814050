/**
 * Shared pieces of the adversarial isolation suites (test/e2e/isolation*.test.ts):
 * GraphQL documents, a seeded "victim" tenant with jobs in every state, raw
 * snapshots of its pg-boss rows, and helpers to compare responses.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { PgBoss } from 'pg-boss';
import { loadConfig } from '../../src/config.ts';
import { gqlData, httpGraphql } from './clients.ts';
import { startGateway, type TestGateway, type TestTenant } from './gateway.ts';

/**
 * A gateway for the attack suites. They send thousands of requests in bursts;
 * the per-tenant operation rate is not what they test, so it is raised out of
 * the way (a RATE_LIMITED answer would otherwise read as a difference).
 */
export function startIsolationGateway(): Promise<TestGateway> {
  const defaults = loadConfig({});
  return startGateway({ tenantLimits: { ...defaults.tenantLimits, operationsPerSecond: 1_000_000 } });
}

// ---- GraphQL documents ----

export const JOB_FIELDS = `id queue state data output priority retryCount retryLimit retryDelay retryBackoff retryDelayMax
  expireInSeconds deleteAfterSeconds heartbeatSeconds singletonKey groupId groupTier deadLetter policy
  startAfter createdOn startedOn completedOn keepUntil heartbeatOn blocked pendingDependencies`;
export const QUEUE_FIELDS = `name policy deadLetter queuedCount deferredCount activeCount completedCount failedCount
  cancelledCount totalCount createdOn updatedOn
  options { retryLimit retryDelay retryBackoff retryDelayMax expireInSeconds retentionSeconds deleteAfterSeconds heartbeatSeconds partition }`;
export const SCHEDULE_FIELDS = 'queue key cron timezone data options createdOn updatedOn lastJobId';

/** Fields of a freshly created object that do not depend on time or generated ids. */
const STABLE_QUEUE_FIELDS = `name policy deadLetter queuedCount deferredCount activeCount completedCount failedCount cancelledCount totalCount
  options { retryLimit retryDelay retryBackoff retryDelayMax expireInSeconds retentionSeconds deleteAfterSeconds heartbeatSeconds partition }`;
const STABLE_JOB_FIELDS = 'queue state data output priority retryCount retryLimit retryDelay retryBackoff singletonKey deadLetter policy';

export const DOCS = {
  queue: `query($name: String!) { queue(name: $name) { ${QUEUE_FIELDS} } }`,
  queues: `query { queues { ${QUEUE_FIELDS} } }`,
  jobs: `query($queue: String!, $states: [JobState!], $after: String, $first: Int) {
    jobs(queue: $queue, states: $states, first: $first, after: $after) { nodes { ${JOB_FIELDS} } pageInfo { endCursor hasNextPage } } }`,
  job: `query($queue: String!, $id: ID!) { job(queue: $queue, id: $id) { ${JOB_FIELDS} } }`,
  schedules: `query($queue: String) { schedules(queue: $queue) { ${SCHEDULE_FIELDS} } }`,
  globalStats: '{ globalStats { tenantCount queueCount totalCount tenants { tenantId tenantName queueCount totalCount } } }',
  createQueue: `mutation($name: String!, $options: QueueOptionsInput) { createQueue(name: $name, options: $options) { ${STABLE_QUEUE_FIELDS} } }`,
  updateQueue: `mutation($name: String!, $options: QueueOptionsInput!) { updateQueue(name: $name, options: $options) { ${STABLE_QUEUE_FIELDS} } }`,
  deleteQueue: 'mutation($name: String!) { deleteQueue(name: $name) }',
  sendJob: `mutation($queue: String!, $data: JSON!, $options: JobOptionsInput) { sendJob(queue: $queue, data: $data, options: $options) { id ${STABLE_JOB_FIELDS} } }`,
  sendJobs: 'mutation($queue: String!, $jobs: [JobInput!]!) { sendJobs(queue: $queue, jobs: $jobs) }',
  cancelJob: `mutation($queue: String!, $id: ID!) { cancelJob(queue: $queue, id: $id) { id ${STABLE_JOB_FIELDS} } }`,
  resumeJob: `mutation($queue: String!, $id: ID!) { resumeJob(queue: $queue, id: $id) { id ${STABLE_JOB_FIELDS} } }`,
  retryJob: `mutation($queue: String!, $id: ID!) { retryJob(queue: $queue, id: $id) { id ${STABLE_JOB_FIELDS} } }`,
  deleteJob: 'mutation($queue: String!, $id: ID!) { deleteJob(queue: $queue, id: $id) }',
  removeJob: 'mutation($queue: String!, $id: ID!) { removeJob(queue: $queue, id: $id) { id queue } }',
  completeJob: `mutation($queue: String!, $id: ID!, $output: JSON) { completeJob(queue: $queue, id: $id, output: $output) { id ${STABLE_JOB_FIELDS} } }`,
  failJob: `mutation($queue: String!, $id: ID!, $error: JSON) { failJob(queue: $queue, id: $id, error: $error) { id ${STABLE_JOB_FIELDS} } }`,
  touchJob: `mutation($queue: String!, $id: ID!) { touchJob(queue: $queue, id: $id) { id ${STABLE_JOB_FIELDS} } }`,
  cancelJobs: 'mutation($queue: String!, $ids: [ID!]!) { cancelJobs(queue: $queue, ids: $ids) { requested affected } }',
  resumeJobs: 'mutation($queue: String!, $ids: [ID!]!) { resumeJobs(queue: $queue, ids: $ids) { requested affected } }',
  retryJobs: 'mutation($queue: String!, $ids: [ID!]!) { retryJobs(queue: $queue, ids: $ids) { requested affected } }',
  deleteJobs: 'mutation($queue: String!, $ids: [ID!]!) { deleteJobs(queue: $queue, ids: $ids) { requested affected } }',
  completeJobs: 'mutation($queue: String!, $ids: [ID!]!, $output: JSON) { completeJobs(queue: $queue, ids: $ids, output: $output) { requested affected } }',
  scheduleJob: `mutation($queue: String!, $cron: String!, $data: JSON, $options: ScheduleOptionsInput) {
    scheduleJob(queue: $queue, cron: $cron, data: $data, options: $options) { queue key cron timezone data options } }`,
  unscheduleJob: 'mutation($queue: String!, $key: String) { unscheduleJob(queue: $queue, key: $key) }',
  jobFlow: `query($queue: String!, $id: ID!) { job(queue: $queue, id: $id) {
    id blocked pendingDependencies dependencies { ${JOB_FIELDS} } dependents { ${JOB_FIELDS} } } }`,
  sendFlow: `mutation($jobs: [FlowJobInput!]!) { sendFlow(jobs: $jobs) { ref queue job { ${STABLE_JOB_FIELDS} blocked pendingDependencies } } }`,
  topics: '{ topics { name queues } }',
  subscribeQueue: 'mutation($topic: String!, $queue: String!) { subscribeQueue(topic: $topic, queue: $queue) { name queues } }',
  unsubscribeQueue: 'mutation($topic: String!, $queue: String!) { unsubscribeQueue(topic: $topic, queue: $queue) { name queues } }',
  publish: `mutation($topic: String!, $data: JSON, $options: JobOptionsInput) { publish(topic: $topic, data: $data, options: $options) { ${STABLE_JOB_FIELDS} } }`,
  previewRedrive: `query($queue: String!, $options: RedriveOptionsInput) {
    previewRedrive(queue: $queue, options: $options) { total unroutable destinations { queue count } } }`,
  redriveJobs: 'mutation($queue: String!, $options: RedriveOptionsInput) { redriveJobs(queue: $queue, options: $options) }',
  deleteQueuedJobs: 'mutation($queue: String!) { deleteQueuedJobs(queue: $queue) }',
  deleteStoredJobs: 'mutation($queue: String!) { deleteStoredJobs(queue: $queue) }',
  deleteAllJobs: 'mutation($queue: String!) { deleteAllJobs(queue: $queue) }',
  updateJob: `mutation($queue: String!, $id: ID!, $data: JSON, $options: JobEditInput) {
    updateJob(queue: $queue, id: $id, data: $data, options: $options) { id ${STABLE_JOB_FIELDS} } }`,
  upsertJob: `mutation($queue: String!, $key: String!, $data: JSON, $options: JobEditInput) {
    upsertJob(queue: $queue, key: $key, data: $data, options: $options) { inserted job { ${STABLE_JOB_FIELDS} } } }`,
  findJobs: `query($queue: String!, $singletonKey: String, $data: JSON, $states: [JobState!], $first: Int, $after: String) {
    findJobs(queue: $queue, singletonKey: $singletonKey, data: $data, states: $states, first: $first, after: $after) {
      nodes { ${JOB_FIELDS} } pageInfo { endCursor hasNextPage } } }`,
  blockedKeys: 'query($queue: String!, $first: Int, $after: String) { blockedKeys(queue: $queue, first: $first, after: $after) }',
} as const;

export const ALL_STATES = ['CREATED', 'RETRY', 'ACTIVE', 'COMPLETED', 'CANCELLED', 'FAILED'] as const;

/** A cron expression that fires once a year (Jan 1st, 00:00): never during a test run in practice. */
export const YEARLY_CRON = '0 0 1 1 *';

// ---- responses ----

export interface GqlError {
  message: string;
  path?: readonly (string | number)[];
  extensions?: Record<string, unknown>;
}

export interface GqlResponse {
  status: number;
  body: { data?: Record<string, any> | null; errors?: GqlError[] };
}

export interface RecordedCall {
  query: string;
  variables: Record<string, unknown>;
  response: GqlResponse;
}

/** Sends one GraphQL request over HTTP and keeps a record of it (for the leak scan). */
export function caller(url: string, token: string, log?: RecordedCall[]) {
  return async (query: string, variables: Record<string, unknown> = {}): Promise<GqlResponse> => {
    const { status, body } = await httpGraphql(url, token, query, variables);
    const response = { status, body: body as GqlResponse['body'] };
    log?.push({ query, variables, response });
    return response;
  };
}

export const errorCodes = (response: GqlResponse): (string | undefined)[] =>
  (response.body.errors ?? []).map((error) => error.extensions?.code as string | undefined);

const IS_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Replaces each `from` string by its placeholder in every string of `value`,
 * longest first, so that two responses that differ only by the name, key or
 * id they were asked about compare equal. Names and keys are replaced where
 * they are a whole value or quoted in a message (`no queue "emails"`); ids
 * (UUIDs, which cannot occur by accident) wherever they appear.
 */
export function normalise(value: unknown, substitutions: Record<string, string>): unknown {
  const pairs = Object.entries(substitutions)
    .filter(([from]) => from.length > 0)
    .sort(([a], [b]) => b.length - a.length);
  const replace = (text: string, [from, to]: [string, string]) => {
    if (IS_UUID.test(from)) return text.split(from).join(to);
    return text === from ? to : text.split(`"${from}"`).join(`"${to}"`);
  };
  const walk = (item: unknown): unknown => {
    if (typeof item === 'string') return pairs.reduce(replace, item);
    if (Array.isArray(item)) return item.map(walk);
    if (item !== null && typeof item === 'object') return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, walk(v)]));
    return item;
  };
  return walk(value);
}

const UUID_PATTERN = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
/** For responses to writes: generated ids are not comparable between two calls. */
export function withoutGeneratedIds(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value).replace(UUID_PATTERN, '<uuid>'));
}

export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  });
  await Promise.all(lanes);
  return results;
}

export const hex = (bytes = 4): string => randomBytes(bytes).toString('hex');
/** A queue name nobody ever used. */
export const freshName = (prefix = 'never'): string => `${prefix}-${hex()}`;
export { randomUUID };

// ---- the victim tenant ----

export interface SeededJob {
  id: string;
  queue: string;
  /** Lower-case pg-boss state. */
  state: string;
  label: string;
}

export interface SeededWorld {
  tenant: TestTenant;
  /** Present in every job's data, output and schedule data: must never reach another tenant. */
  secret: string;
  queueNames: string[];
  jobs: SeededJob[];
  schedules: { queue: string; key: string }[];
  /** A real `jobs` cursor pointing into the tenant's "emails" queue. */
  cursor: string;
  /** Topics with subscribed queues. */
  topics: string[];
  /** Singleton keys of its waiting or blocked jobs. */
  singletonKeys: string[];
}

/**
 * Builds the victim's namespace through its own API (and pg-boss's fetch for
 * active jobs): queues "emails" (dead letter "emails/dead"), "reports/daily",
 * "digest" (SHORT policy), "ledger" (KEY_STRICT_FIFO), "pipeline", jobs
 * created, deferred, throttled, active, completed, failed, retry, cancelled,
 * a dead-lettered copy, a batch, a flow (one job blocked behind the other), a
 * key blocked by its failed head, two yearly schedules (one keyed), and the
 * topic "orders" with two queues subscribed.
 */
export async function seedVictim(gateway: TestGateway, tenant: TestTenant, boss: PgBoss): Promise<SeededWorld> {
  const secret = `A-SECRET-${hex(8)}`;
  const api = <T = Record<string, any>>(query: string, variables?: Record<string, unknown>) => gqlData<T>(gateway.graphqlUrl, tenant.token, query, variables);
  const jobs: SeededJob[] = [];
  const send = async (queue: string, label: string, options: Record<string, unknown> = {}): Promise<string> => {
    const { sendJob } = await api(DOCS.sendJob, { queue, data: { secret, label }, options });
    return sendJob.id as string;
  };
  /** Makes `id` active through pg-boss itself, as a worker would. */
  const fetchOne = async (queue: string, id: string): Promise<void> => {
    const fetched = await boss.fetch(`${tenant.tenant.id}/${queue}`);
    if (fetched.length !== 1 || fetched[0]?.id !== id) throw new Error(`seed: expected to fetch ${id}, got ${JSON.stringify(fetched.map((j) => j.id))}`);
  };

  await api(DOCS.createQueue, { name: 'emails/dead' });
  await api(DOCS.createQueue, { name: 'emails', options: { deadLetter: 'emails/dead', retryLimit: 1, expireInSeconds: 3600 } });
  await api(DOCS.createQueue, { name: 'reports/daily', options: { retryLimit: 0, expireInSeconds: 3600 } });
  await api(DOCS.createQueue, { name: 'digest', options: { policy: 'SHORT' } });

  const active = await send('emails', 'active');
  await fetchOne('emails', active);
  jobs.push({ id: active, queue: 'emails', state: 'active', label: 'active' });

  const completed = await send('emails', 'completed');
  await fetchOne('emails', completed);
  await api(DOCS.completeJob, { queue: 'emails', id: completed, output: { secret, result: 'done' } });
  jobs.push({ id: completed, queue: 'emails', state: 'completed', label: 'completed' });

  const failed = await send('emails', 'failed', { retryLimit: 0 });
  await fetchOne('emails', failed);
  await api(DOCS.failJob, { queue: 'emails', id: failed, error: { secret, reason: 'boom' } });
  jobs.push({ id: failed, queue: 'emails', state: 'failed', label: 'failed' });

  const retry = await send('emails', 'retry', { retryLimit: 3, retryDelay: 3600 });
  await fetchOne('emails', retry);
  await api(DOCS.failJob, { queue: 'emails', id: retry, error: `${secret}: try again` });
  jobs.push({ id: retry, queue: 'emails', state: 'retry', label: 'retry' });

  const cancelled = await send('emails', 'cancelled');
  await api(DOCS.cancelJob, { queue: 'emails', id: cancelled });
  jobs.push({ id: cancelled, queue: 'emails', state: 'cancelled', label: 'cancelled' });

  jobs.push({ id: await send('emails', 'created', { singletonKey: 'welcome', priority: 3 }), queue: 'emails', state: 'created', label: 'created' });
  jobs.push({ id: await send('emails', 'deferred', { delaySeconds: 3600 }), queue: 'emails', state: 'created', label: 'deferred' });
  jobs.push({
    id: await send('emails', 'throttled', { singletonKey: 'throttled', singletonSeconds: 3600 }),
    queue: 'emails',
    state: 'created',
    label: 'throttled',
  });

  const deadLettered = await api(DOCS.jobs, { queue: 'emails/dead' });
  for (const node of deadLettered.jobs.nodes as { id: string; state: string }[]) {
    jobs.push({ id: node.id, queue: 'emails/dead', state: node.state.toLowerCase(), label: 'dead-lettered' });
  }

  const { sendJobs } = await api(DOCS.sendJobs, {
    queue: 'reports/daily',
    jobs: [{ data: { secret, label: 'batch-1' } }, { data: { secret, label: 'batch-2' }, options: { priority: 1 } }],
  });
  for (const id of sendJobs as string[]) jobs.push({ id, queue: 'reports/daily', state: 'created', label: 'batch' });
  jobs.push({ id: await send('digest', 'digest', { singletonKey: 'daily-digest' }), queue: 'digest', state: 'created', label: 'singleton' });

  const { sendFlow } = await api(DOCS.sendFlow, {
    jobs: [
      { ref: 'extract', queue: 'pipeline', data: { secret, label: 'flow-root' } },
      { ref: 'load', queue: 'pipeline', data: { secret, label: 'flow-blocked' }, options: { singletonKey: 'load-key' }, dependsOn: ['extract'] },
    ],
  });
  const flowIds = await api(`query { jobs(queue: "pipeline") { nodes { id data } } }`);
  for (const node of flowIds.jobs.nodes as { id: string; data: { label: string } }[])
    jobs.push({ id: node.id, queue: 'pipeline', state: 'created', label: node.data.label });
  if ((sendFlow as unknown[]).length !== 2) throw new Error('seed: the flow was not created');

  await api(DOCS.createQueue, { name: 'ledger', options: { policy: 'KEY_STRICT_FIFO', retryLimit: 0 } });
  const head = await send('ledger', 'fifo-failed', { singletonKey: 'acct-1' });
  const behind = await send('ledger', 'fifo-waiting', { singletonKey: 'acct-1' });
  await fetchOne('ledger', head);
  await api(DOCS.failJob, { queue: 'ledger', id: head, error: { secret } });
  jobs.push({ id: head, queue: 'ledger', state: 'failed', label: 'fifo-failed' }, { id: behind, queue: 'ledger', state: 'created', label: 'fifo-waiting' });

  await api(DOCS.subscribeQueue, { topic: 'orders', queue: 'emails' });
  await api(DOCS.subscribeQueue, { topic: 'orders', queue: 'reports/daily' });

  await api(DOCS.scheduleJob, {
    queue: 'reports/daily',
    cron: YEARLY_CRON,
    data: { secret },
    options: { key: 'nightly', tz: 'Europe/Paris', deadLetter: 'emails/dead' },
  });
  await api(DOCS.scheduleJob, { queue: 'emails', cron: YEARLY_CRON, data: { secret } });

  const first = await api(DOCS.jobs, { queue: 'emails', first: 1 });
  return {
    tenant,
    secret,
    queueNames: ['digest', 'emails', 'emails/dead', 'ledger', 'pipeline', 'reports/daily'],
    jobs,
    schedules: [
      { queue: 'emails', key: '' },
      { queue: 'reports/daily', key: 'nightly' },
    ],
    cursor: first.jobs.pageInfo.endCursor as string,
    topics: ['orders'],
    singletonKeys: ['welcome', 'throttled', 'daily-digest', 'acct-1', 'load-key'],
  };
}

// ---- snapshots ----

/** Everything the victim can see of itself through its own API. */
export async function apiSnapshot(gateway: TestGateway, world: SeededWorld): Promise<unknown> {
  const api = (query: string, variables?: Record<string, unknown>) => gqlData(gateway.graphqlUrl, world.tenant.token, query, variables);
  const { queues } = await api(DOCS.queues);
  const { schedules } = await api(DOCS.schedules);
  const { topics } = await api(DOCS.topics);
  const perQueue: Record<string, unknown> = {};
  for (const { name } of queues as { name: string }[]) {
    const byState: Record<string, unknown> = {};
    for (const state of ALL_STATES) byState[state] = (await api(DOCS.jobs, { queue: name, states: [state], first: 100 })).jobs;
    perQueue[name] = {
      queue: (await api(DOCS.queue, { name })).queue,
      jobs: (await api(DOCS.jobs, { queue: name, first: 100 })).jobs,
      byState,
      schedules: (await api(DOCS.schedules, { queue: name })).schedules,
      found: (await api(DOCS.findJobs, { queue: name, data: { secret: world.secret }, first: 100 })).findJobs,
      preview: (await api(DOCS.previewRedrive, { queue: name })).previewRedrive,
      blockedKeys: (await api(DOCS.blockedKeys, { queue: name })).blockedKeys,
    };
  }
  const jobs: Record<string, unknown> = {};
  for (const job of world.jobs)
    jobs[job.id] = { ...(await api(DOCS.job, { queue: job.queue, id: job.id })).job, ...(await api(DOCS.jobFlow, { queue: job.queue, id: job.id })).job };
  return { queues, schedules, topics, perQueue, jobs };
}

/**
 * Queue columns that pg-boss's supervisor writes by itself (the gateway runs
 * pg-boss with `supervise: true`): the monitor's cached counters and
 * throughput figures (cacheQueueStats / refreshQueueStats and their
 * `retainedAssignments` / `throughputAssignments`), the retention sweep's
 * retained_count / retained_on / total_count (setRetainedCount), and the claim
 * stamps of those passes (monitor_claim_on, monitor_on, maintain_on). None of
 * them is written by a tenant-facing call on *another* queue, and the
 * gateway's own counts are computed live from the job table, which is
 * compared in full. They are compared too, unless a supervisor pass visibly
 * ran on the row between the two snapshots (one of the stamps moved).
 * (pgboss.queue_stats is not compared at all: it only holds the monitor's
 * periodic snapshots of these same counters.)
 */
export const SUPERVISOR_QUEUE_COLUMNS = [
  'deferred_count',
  'blocked_count',
  'queued_count',
  'ready_count',
  'active_count',
  'failed_count',
  'total_count',
  'retained_count',
  'retained_on',
  'created_delta',
  'completed_delta',
  'failed_delta',
  'delta_on',
  'delta_seconds',
  'wait_bins',
  'run_bins',
  'ready_oldest_seconds',
  'ready_history',
  'singletons_active',
  'monitor_claim_on',
  'monitor_on',
  'maintain_on',
];
const PASS_STAMPS = ['monitor_claim_on', 'monitor_on', 'maintain_on'];

export interface DbSnapshot {
  jobs: string[];
  queues: { name: string; full: string; stable: string; stamps: string }[];
  schedules: string[];
  subscriptions: string[];
  dependencies: string[];
}

/** The raw rows of one tenant's namespace in pg-boss, as PostgreSQL prints them (all columns). */
export async function dbSnapshot(db: pg.Client, tenantId: string): Promise<DbSnapshot> {
  const prefix = `${tenantId}/`;
  const text = async (sql: string, values: unknown[] = [prefix]) => (await db.query<{ row: string }>(sql, values)).rows.map((r) => r.row);
  const queues = await db.query<{ name: string; full: string; stable: string; stamps: string }>(
    `SELECT name, to_jsonb(q)::text AS full, (to_jsonb(q) - $2::text[])::text AS stable,
            jsonb_build_array(${PASS_STAMPS.join(', ')})::text AS stamps
       FROM pgboss.queue q WHERE starts_with(name, $1) ORDER BY name`,
    [prefix, SUPERVISOR_QUEUE_COLUMNS],
  );
  return {
    jobs: await text('SELECT to_jsonb(j)::text AS row FROM pgboss.job j WHERE starts_with(name, $1) ORDER BY name, id'),
    queues: queues.rows,
    schedules: await text('SELECT to_jsonb(s)::text AS row FROM pgboss.schedule s WHERE starts_with(name, $1) ORDER BY name, key'),
    subscriptions: await text('SELECT to_jsonb(s)::text AS row FROM pgboss.subscription s WHERE starts_with(name, $1) ORDER BY event, name'),
    dependencies: await text(
      `SELECT to_jsonb(d)::text AS row FROM pgboss.job_dependency d
        WHERE starts_with(child_name, $1) OR starts_with(parent_name, $1) ORDER BY 1`,
    ),
  };
}

/** Differences between two snapshots of the same namespace; empty when nothing changed. */
export function diffSnapshots(before: DbSnapshot, after: DbSnapshot): string[] {
  const problems: string[] = [];
  const list = (kind: string, a: string[], b: string[]) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) problems.push(`${kind} changed:\n  before ${JSON.stringify(a)}\n  after  ${JSON.stringify(b)}`);
  };
  list('job rows', before.jobs, after.jobs);
  list('schedule rows', before.schedules, after.schedules);
  list('subscription rows', before.subscriptions, after.subscriptions);
  list('job_dependency rows', before.dependencies, after.dependencies);
  list(
    'queue names',
    before.queues.map((q) => q.name),
    after.queues.map((q) => q.name),
  );
  for (const old of before.queues) {
    const now = after.queues.find((q) => q.name === old.name);
    if (!now) continue;
    const supervisorRan = old.stamps !== now.stamps;
    const [a, b] = supervisorRan ? [old.stable, now.stable] : [old.full, now.full];
    if (a !== b) problems.push(`queue row ${old.name} changed (supervisor pass in between: ${supervisorRan}):\n  before ${a}\n  after  ${b}`);
  }
  return problems;
}

/** Rows outside `tenantId`'s namespace that point into it (dead letters, dead-letter provenance). */
export async function foreignReferences(db: pg.Client, tenantId: string): Promise<string[]> {
  const { rows } = await db.query<{ row: string }>(
    `SELECT 'queue ' || name || ' -> ' || dead_letter AS row FROM pgboss.queue
      WHERE NOT starts_with(name, $1) AND starts_with(dead_letter, $1)
     UNION ALL
     SELECT 'job ' || name || '/' || id || ' -> ' || coalesce(dead_letter, '') || ' ' || coalesce(source_name, '') FROM pgboss.job
      WHERE NOT starts_with(name, $1) AND (starts_with(dead_letter, $1) OR starts_with(source_name, $1))
     UNION ALL
     SELECT 'schedule ' || name || '/' || key FROM pgboss.schedule
      WHERE NOT starts_with(name, $1) AND starts_with(options->>'deadLetter', $1)`,
    [`${tenantId}/`],
  );
  return rows.map((r) => r.row);
}

/**
 * Scans everything another tenant received for traces of the victim: its
 * secret, its tenant id and name, its job ids, and the caller's own prefix
 * (prefixes are never shown). A string the caller itself sent may come back
 * (a queue it named `<victim id>/x`, a job id echoed in NOT_FOUND): as a
 * whole quoted value anywhere, or anywhere in the answer to that same call.
 */
export function leaksIn(calls: readonly RecordedCall[], victim: SeededWorld, attackerId: string): string[] {
  const forbidden = [
    victim.secret,
    victim.tenant.tenant.id,
    victim.tenant.tenant.name,
    victim.tenant.token,
    `${attackerId}/`,
    ...victim.jobs.map((job) => job.id),
  ].map((needle) => needle.toLowerCase());
  const strings = (value: unknown): string[] =>
    typeof value === 'string' ? [value] : value !== null && typeof value === 'object' ? Object.values(value).flatMap(strings) : [];
  const sent = new Set(calls.flatMap((call) => strings(call.variables)).filter((text) => forbidden.some((needle) => text.toLowerCase().includes(needle))));
  const echoes = [...sent].flatMap((text) => [JSON.stringify(text), JSON.stringify(JSON.stringify(text)).slice(1, -1)].map((form) => form.toLowerCase()));
  echoes.sort((a, b) => b.length - a.length);
  const problems: string[] = [];
  for (const call of calls) {
    const input = JSON.stringify(call.variables).toLowerCase();
    const output = echoes.reduce((text, echo) => text.split(echo).join('""'), JSON.stringify(call.response.body).toLowerCase());
    for (const needle of forbidden) {
      if (output.includes(needle) && !input.includes(needle)) {
        problems.push(
          `response to ${call.query.slice(0, 60).replace(/\s+/g, ' ')} ${JSON.stringify(call.variables).slice(0, 200)} contains "${needle}": ${JSON.stringify(call.response.body).slice(0, 400)}`,
        );
      }
    }
  }
  return problems;
}
