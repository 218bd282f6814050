/**
 * Resuming jobEvents at scale, through the API only: thousands of events from
 * three sources (two gateway instances and a plain pg-boss worker) while a
 * subscriber is away, a gateway restarted under a client that reconnects by
 * itself, and transactions committing out of their start order.
 */
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client } from 'graphql-ws';
import pg from 'pg';
import type { PgBoss } from 'pg-boss';
import { wsClient } from '../support/clients.ts';
import { useTwoInstances } from '../support/event-fixtures.ts';
import { Rng } from '../support/fuzz.ts';
import { startGateway, testDatabaseUrl, uniqueName, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { createQueue, sendJob, sendJobs } from '../support/operations.ts';
import { sleep } from '../support/subscriptions.ts';

interface JobEvent {
  type: string;
  queue: string;
  jobId: string;
  state: string;
  retryCount: number;
  cursor: string;
}

type EventVariables = {
  queue?: string;
  after?: string;
};

const EVENTS = `subscription($queue: String, $after: String) {
  jobEvents(queue: $queue, after: $after) { type queue jobId state retryCount cursor }
}`;

/** Polls `check` until it holds (a throw ends the wait with it); fails naming `what` after `timeoutMs`. */
async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** What a stream failed with, readable in a message: GraphQL errors, an Error, or the socket's close event. */
function failure(error: unknown): unknown {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return inspect(error, { depth: 2 });
}

/**
 * A jobEvents subscription held the way an application should hold one: it
 * keeps the cursor of the last event it processed in the very variables
 * object it subscribed with. graphql-ws sends that same payload again each
 * time it re-subscribes after reconnecting, so the stream resumes right after
 * the last event processed, with nothing missed and nothing repeated.
 */
class EventStream {
  readonly events: JobEvent[] = [];
  readonly errors: unknown[] = [];
  readonly variables: EventVariables;
  completed = false;
  readonly #seen = new Set<string>();
  readonly #unsubscribe: () => void;
  #stopped = false;

  constructor(client: Client, variables: EventVariables = {}) {
    this.variables = { ...variables };
    this.#unsubscribe = client.subscribe<{ jobEvents: JobEvent }>(
      { query: EVENTS, variables: this.variables },
      {
        next: (result) => {
          if (this.#stopped) return;
          if (result.errors) this.errors.push(result.errors);
          const event = result.data?.jobEvents;
          if (!event) return;
          this.events.push(event);
          this.#seen.add(`${event.jobId}:${event.type}`);
          this.variables.after = event.cursor;
        },
        error: (error) => this.errors.push(failure(error)),
        complete: () => (this.completed = true),
      },
    );
  }

  /** The cursor of the last event processed. */
  get cursor(): string {
    const cursor = this.variables.after;
    if (cursor === undefined) throw new Error('no event received yet');
    return cursor;
  }

  saw(jobId: string, type = 'CREATED'): boolean {
    return this.#seen.has(`${jobId}:${type}`);
  }

  /** Waits for `check`, failing at once when the stream failed or ended; a timeout tells what `explain` says. */
  async waitFor(what: string, check: () => boolean, timeoutMs = 60_000, explain?: () => unknown): Promise<void> {
    try {
      await until(
        what,
        () => {
          if (this.errors.length > 0) throw new Error(`the stream failed while waiting for ${what}: ${JSON.stringify(this.errors)}`);
          if (this.completed) throw new Error(`the stream ended while waiting for ${what}`);
          return check();
        },
        timeoutMs,
      );
    } catch (error) {
      if (!explain || !(error instanceof Error)) throw error;
      throw new Error(`${error.message}: ${JSON.stringify(explain())}`, { cause: error });
    }
  }

  /** Stops processing here: whatever comes later is never seen, as by an application that went away. */
  stop(): void {
    this.#stopped = true;
    this.#unsubscribe();
  }
}

const clients: Client[] = [];

function client(gateway: TestGateway, tenant: TestTenant, extra: Parameters<typeof wsClient>[2] = {}): Client {
  const created = wsClient(gateway.wsUrl, { token: tenant.token }, extra);
  clients.push(created);
  return created;
}

/** Waits until `stream` provably receives live events: a probe job's CREATED arrived on it. */
async function live(gateway: TestGateway, tenant: TestTenant, stream: EventStream): Promise<void> {
  const queue = stream.variables.queue ?? 'probe';
  for (let attempt = 0; ; attempt++) {
    const probe = await sendJob(gateway, tenant.token, queue, { probe: true });
    try {
      await stream.waitFor(`probe ${probe}`, () => stream.saw(probe), 300);
      return;
    } catch (error) {
      if (attempt > 20 || stream.errors.length > 0 || stream.completed) throw error;
    }
  }
}

const BATCH = 250;

/**
 * Jobs made and worked on in the tenant's queues, and so the events that must
 * come: each job's CREATED, then ACTIVE and COMPLETED for those the worker took.
 */
class Production {
  readonly #tenant: TestTenant;
  readonly #boss: PgBoss;
  readonly #created = new Set<string>();
  readonly #worked = new Set<string>();

  constructor(tenant: TestTenant, boss: PgBoss) {
    this.#tenant = tenant;
    this.#boss = boss;
  }

  #qualified(queue: string): string {
    return `${this.#tenant.tenant.id}/${queue}`;
  }

  /** Each job's events in the order they must come, as `TYPE:retryCount`. */
  expected(): Map<string, string[]> {
    return new Map([...this.#created].map((id) => [id, this.#worked.has(id) ? ['CREATED:0', 'ACTIVE:0', 'COMPLETED:0'] : ['CREATED:0']]));
  }

  get eventCount(): number {
    return this.#created.size + 2 * this.#worked.size;
  }

  /** Counts a job made elsewhere. */
  created(id: string): void {
    this.#created.add(id);
  }

  /** Sends `count` jobs through a gateway's sendJobs, batch after batch. */
  async viaGateway(gateway: TestGateway, queue: string, count: number): Promise<void> {
    for (let sent = 0; sent < count; sent += BATCH) {
      const jobs = Array.from({ length: Math.min(BATCH, count - sent) }, (_, n) => ({ data: { n: sent + n } }));
      for (const id of await sendJobs(gateway, this.#tenant.token, queue, jobs)) this.#created.add(id);
    }
  }

  /** Inserts `count` jobs with pg-boss itself, past the gateways. */
  async viaBoss(queue: string, count: number): Promise<void> {
    for (let sent = 0; sent < count; sent += BATCH) {
      const jobs = Array.from({ length: Math.min(BATCH, count - sent) }, () => ({ id: randomUUID(), data: {} }));
      await this.#boss.insert(this.#qualified(queue), jobs);
      for (const job of jobs) this.#created.add(job.id);
    }
  }

  /** A plain pg-boss worker: takes `count` jobs from the queues as they come, and completes them. */
  async work(queues: readonly string[], count: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let done = 0;
    while (done < count) {
      let took = 0;
      for (const queue of queues) {
        if (done >= count) break;
        const jobs = await this.#boss.fetch(this.#qualified(queue), { batchSize: Math.min(100, count - done) });
        if (jobs.length === 0) continue;
        await this.#boss.complete(
          this.#qualified(queue),
          jobs.map((job) => job.id),
        );
        for (const job of jobs) this.#worked.add(job.id);
        done += jobs.length;
        took += jobs.length;
      }
      if (took > 0) continue;
      if (Date.now() > deadline) throw new Error(`the worker found ${done} of ${count} jobs within ${timeoutMs} ms`);
      await sleep(10);
    }
  }
}

/** At most ten items, and how many more there were. */
function sample(items: readonly string[]): string[] {
  return items.length <= 10 ? [...items] : [...items.slice(0, 10), `…and ${items.length - 10} more`];
}

/** How `received` differs from `expected` (each job's events in order): three empty lists when it is exactly them. */
function discrepancies(expected: ReadonlyMap<string, readonly string[]>, received: readonly JobEvent[]) {
  const got = new Map<string, string[]>();
  for (const event of received) got.set(event.jobId, [...(got.get(event.jobId) ?? []), `${event.type}:${event.retryCount}`]);
  const missing: string[] = [];
  const extra: string[] = [];
  const misordered: string[] = [];
  for (const jobId of new Set([...expected.keys(), ...got.keys()])) {
    const want = expected.get(jobId) ?? [];
    const seen = got.get(jobId) ?? [];
    if (want.join() === seen.join()) continue;
    const left = [...seen];
    for (const event of want) {
      const at = left.indexOf(event);
      if (at < 0) missing.push(`${jobId}:${event}`);
      else left.splice(at, 1);
    }
    extra.push(...left.map((event) => `${jobId}:${event}`));
    if (left.length === 0 && seen.length === want.length) misordered.push(`${jobId}: ${seen.join(' ')}`);
  }
  return { missing: sample(missing), extra: sample(extra), misordered: sample(misordered) };
}

const NONE = { missing: [], extra: [], misordered: [] };

const instances = useTwoInstances({ bossConnections: 4 });
let gatewayA: TestGateway;
let gatewayB: TestGateway;
let tenant: TestTenant;
let stranger: TestTenant;
let boss: PgBoss;

beforeAll(() => {
  ({ gateway: gatewayA, other: gatewayB, tenant, stranger, boss } = instances);
});

afterAll(() => Promise.all(clients.map((created) => created.dispose())));

/** Three queues of the tenant: one for each gateway's sends, one for pg-boss's own. */
async function soakQueues(): Promise<[string, string, string]> {
  const queues: [string, string, string] = [uniqueName('soak-a'), uniqueName('soak-b'), uniqueName('soak-c')];
  for (const queue of queues) await createQueue(gatewayA, tenant.token, queue);
  return queues;
}

/** Jobs sent through each gateway and inserted by pg-boss, and jobs the worker completes meanwhile. */
interface Phase {
  viaA: number;
  viaB: number;
  viaBoss: number;
  worked: number;
}

/**
 * A subscriber on gateway A takes in a first phase of events and goes away in
 * its midst; a second phase comes while nobody listens; it resumes on
 * `resumeOn` with its last cursor while a third phase comes. It must get every
 * event after its cursor exactly once, each job's in order, then a live one.
 */
async function awayAndBack(resumeOn: TestGateway, phases: readonly [Phase, Phase, Phase]): Promise<void> {
  const [qa, qb, qc] = await soakQueues();
  const production = new Production(tenant, boss);
  const run = (phase: Phase) =>
    Promise.all([
      production.viaGateway(gatewayA, qa, phase.viaA),
      production.viaGateway(gatewayB, qb, phase.viaB),
      production.viaBoss(qc, phase.viaBoss),
      production.work([qa, qb, qc], phase.worked),
    ]);

  const awayClient = client(gatewayA, tenant);
  const away = new EventStream(awayClient);
  await live(gatewayA, tenant, away);
  const probes = away.events.length;
  const first = run(phases[0]);
  const third = Math.floor((phases[0].viaA + phases[0].viaB + phases[0].viaBoss + 2 * phases[0].worked) / 3);
  await away.waitFor(`${third} events of the first phase`, () => away.events.length - probes >= third);
  away.stop();
  await awayClient.dispose();
  await first;
  // Another tenant's events, in queues of the same names, are none of this subscriber's.
  const strangers = sendJobs(
    gatewayA,
    stranger.token,
    qa,
    Array.from({ length: 200 }, () => ({ data: {} })),
  );
  await Promise.all([run(phases[1]), strangers]);

  const back = new EventStream(client(resumeOn, tenant), { after: away.cursor });
  await run(phases[2]);
  const before = away.events.slice(probes);
  const total = production.eventCount;
  await back.waitFor(
    `the ${total - before.length} events after the cursor`,
    () => back.events.length >= total - before.length,
    60_000,
    () => discrepancies(production.expected(), [...before, ...back.events]),
  );
  const sentinel = await sendJob(gatewayA, tenant.token, qa);
  production.created(sentinel);
  await back.waitFor('a live event after the replay', () => back.saw(sentinel));

  expect(total).toBe(phases.reduce((sum, phase) => sum + phase.viaA + phase.viaB + phase.viaBoss + 2 * phase.worked, 0));
  expect(discrepancies(production.expected(), [...before, ...back.events])).toEqual(NONE);
  expect(back.events.at(-1)?.jobId).toBe(sentinel);
  const cursors = [...before, ...back.events].map((event) => event.cursor);
  expect(new Set(cursors).size).toBe(cursors.length);
  expect(back.errors).toEqual([]);
  back.stop();
}

describe('jobEvents resumed with the last cursor', () => {
  it('after 10,000 events from this instance, another and a plain pg-boss worker: exactly the missed ones, each once and per job in order, then live ones', async () => {
    await awayAndBack(gatewayA, [
      { viaA: 500, viaB: 500, viaBoss: 200, worked: 1_100 },
      { viaA: 450, viaB: 450, viaBoss: 200, worked: 1_100 },
      { viaA: 450, viaB: 450, viaBoss: 200, worked: 1_100 },
    ]);
  }, 120_000);

  it('on another instance than the one it left', async () => {
    await awayAndBack(gatewayB, [
      { viaA: 200, viaB: 200, viaBoss: 100, worked: 400 },
      { viaA: 200, viaB: 200, viaBoss: 100, worked: 400 },
      { viaA: 200, viaB: 200, viaBoss: 100, worked: 400 },
    ]);
  }, 120_000);

  it('across a restart of its gateway, graphql-ws reconnecting and re-subscribing by itself: every event exactly once', async () => {
    const [qa, qb, qc] = await soakQueues();
    const production = new Production(tenant, boss);
    let connections = 0;
    // As an application configures it: retries with a capped exponential backoff, on refused
    // connections too (graphql-ws retries only after a close by default, and gives up on an
    // ECONNREFUSED while the gateway is down).
    const retrying = client(gatewayA, tenant, {
      retryAttempts: 100,
      shouldRetry: () => true,
      retryWait: async (retries) => void (await sleep(Math.min(1_000, 50 * 2 ** retries))),
      on: { connected: () => void connections++ },
    });
    const stream = new EventStream(retrying);
    await live(gatewayA, tenant, stream);
    const probes = stream.events.length;

    const running = Promise.all([
      production.viaGateway(gatewayA, qa, 300),
      production.viaGateway(gatewayB, qb, 300),
      production.viaBoss(qc, 100),
      production.work([qa, qb, qc], 400),
    ]);
    await stream.waitFor('events while its gateway runs', () => stream.events.length - probes >= 500);
    await running;
    const { port } = gatewayA;
    // Gateway A goes down; the other instance and pg-boss go on meanwhile.
    await Promise.all([gatewayA.stop(), production.viaGateway(gatewayB, qb, 400), production.viaBoss(qc, 200), production.work([qa, qb, qc], 500)]);
    // The fixture stops the new one.
    instances.gateway = gatewayA = await startGateway({ port });
    await Promise.all([
      production.viaGateway(gatewayA, qa, 200),
      production.viaGateway(gatewayB, qb, 200),
      production.viaBoss(qc, 100),
      production.work([qa, qb, qc], 300),
    ]);
    const total = production.eventCount;
    await stream.waitFor(
      `all ${total} events`,
      () => stream.events.length - probes >= total,
      60_000,
      () => discrepancies(production.expected(), stream.events.slice(probes)),
    );
    const sentinel = await sendJob(gatewayA, tenant.token, qa);
    production.created(sentinel);
    await stream.waitFor('a live event after the restart', () => stream.saw(sentinel));

    expect(connections).toBeGreaterThanOrEqual(2);
    const received = stream.events.slice(probes);
    expect(discrepancies(production.expected(), received)).toEqual(NONE);
    expect(received.at(-1)?.jobId).toBe(sentinel);
    expect(new Set(received.map((event) => event.cursor)).size).toBe(received.length);
    stream.stop();
  }, 120_000);
});

describe('jobEvents resumed while transactions commit out of their start order', () => {
  const WRITERS = 12;
  /** The state each round's transactions give the jobs each writer owns. */
  const ROUNDS = ['active', 'created', 'active', 'completed'];
  const TYPES: Record<string, string> = { active: 'ACTIVE', created: 'CREATED', completed: 'COMPLETED' };

  it('a subscriber that leaves and comes back in their midst gets every event after its cursor once, in the order of one that never left', async () => {
    const queue = uniqueName('commits');
    const qualified = `${tenant.tenant.id}/${queue}`;
    const owned = await sendJobs(
      gatewayA,
      tenant.token,
      queue,
      Array.from({ length: WRITERS * 2 }, () => ({ data: {} })),
    );
    const shared = await sendJobs(
      gatewayA,
      tenant.token,
      queue,
      ROUNDS.map(() => ({ data: {} })),
    );
    const watcher = new EventStream(client(gatewayA, tenant), { queue });
    await live(gatewayA, tenant, watcher);
    const awayClient = client(gatewayB, tenant);
    const away = new EventStream(awayClient, { queue });
    await live(gatewayB, tenant, away);

    const expected = new Map<string, string[]>();
    const happened = (jobId: string, type: string) => expected.set(jobId, [...(expected.get(jobId) ?? []), `${type}:0`]);
    const rng = new Rng(0x5eed);
    const writers = Array.from({ length: WRITERS }, () => new pg.Client({ connectionString: testDatabaseUrl() }));
    await Promise.all(writers.map((writer) => writer.connect()));
    let cursor = '';
    let back: EventStream | undefined;
    try {
      for (const [round, state] of ROUNDS.entries()) {
        // The writers begin in turn and write at once: their transactions start in this order.
        for (const [w, writer] of writers.entries()) {
          const mine = [owned[2 * w]!, owned[2 * w + 1]!];
          await writer.query('BEGIN');
          await writer.query('UPDATE pgboss.job SET state = $3 WHERE name = $1 AND id = ANY($2::uuid[])', [qualified, mine, state]);
          for (const id of mine) happened(id, TYPES[state]!);
          const fresh = randomUUID();
          await writer.query("INSERT INTO pgboss.job (name, id, data) VALUES ($1, $2, '{}')", [qualified, fresh]);
          happened(fresh, 'CREATED');
        }
        // They commit in another order, each changing the round's shared job just before: an older
        // transaction changes it after newer ones committed, and its change must come after theirs.
        const order = writers.map((_, w) => w);
        for (let i = order.length - 1; i > 0; i--) {
          const j = rng.int(0, i);
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        for (const [n, w] of order.entries()) {
          const flip = n % 2 === 0 ? 'active' : 'created';
          await writers[w]!.query('UPDATE pgboss.job SET state = $3 WHERE name = $1 AND id = $2', [qualified, shared[round], flip]);
          happened(shared[round]!, TYPES[flip]!);
          await writers[w]!.query('COMMIT');
          // Away in the middle of a round, with older transactions still open, and back two commits later.
          if (round === 1 && n === WRITERS / 2) {
            const firstRound = WRITERS * 4;
            await away.waitFor('the first round', () => away.events.filter((event) => expected.has(event.jobId)).length >= firstRound);
            away.stop();
            cursor = away.cursor;
            await awayClient.dispose();
          }
          if (round === 1 && n === WRITERS / 2 + 2) back = new EventStream(client(gatewayA, tenant), { queue, after: cursor });
          await sleep(rng.int(0, 5));
        }
      }
    } finally {
      await Promise.all(
        writers.map((writer) =>
          writer
            .query('ROLLBACK')
            .catch(() => {})
            .then(() => writer.end()),
        ),
      );
    }
    const sentinel = await sendJob(gatewayA, tenant.token, queue);
    happened(sentinel, 'CREATED');
    await watcher.waitFor('the last event', () => watcher.saw(sentinel));
    await back!.waitFor('the last event', () => back!.saw(sentinel));

    const seen = watcher.events.filter((event) => expected.has(event.jobId));
    expect(discrepancies(expected, seen)).toEqual(NONE);
    const before = away.events.filter((event) => expected.has(event.jobId));
    const line = (event: JobEvent) => `${event.jobId} ${event.type} ${event.cursor}`;
    expect([...before, ...back!.events].map(line)).toEqual(seen.map(line));
    expect(before.length).toBeGreaterThan(0);
    expect(back!.events.length).toBeGreaterThan(0);
    back!.stop();
  }, 120_000);
});
