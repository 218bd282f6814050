import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { gqlData, httpGraphql, wsClient, wsExecute } from '../support/clients.ts';
import { createTestTenant, startGateway, uniqueName, withTestClient, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { SEND_JOBS } from '../support/operations.ts';
import { collect, sleep } from '../support/subscriptions.ts';

/** No job is FAILED: PostgreSQL reads every row of the queue to find none, and the gateway has next to nothing to send back. */
const HEAVY = 'query ($queue: String!) { jobs(queue: $queue, states: [FAILED], first: 500) { nodes { id } } }';
const SIMPLE = 'query ($queue: String!, $id: ID!) { job(queue: $queue, id: $id) { id state } }';

const SEEDED_JOBS = 40_000;
const FLOODERS = 80;
const SAMPLES = 60;

let gateway: TestGateway;
let heavy: TestTenant;
let light: TestTenant;
const heavyQueue = uniqueName('flood');
const lightQueue = uniqueName('simple');
let lightJob: string;

beforeAll(async () => {
  gateway = await startGateway();
  [heavy, light] = await Promise.all([createTestTenant(gateway), createTestTenant(gateway)]);
  const data = { payload: 'x'.repeat(500) };
  for (let sent = 0; sent < SEEDED_JOBS; sent += 1000) {
    await gqlData(gateway.graphqlUrl, heavy.token, SEND_JOBS, {
      queue: heavyQueue,
      jobs: Array.from({ length: 1000 }, (_, n) => ({ data: { ...data, n: sent + n } })),
    });
  }
  const sent = await gqlData<{ sendJobs: string[] }>(gateway.graphqlUrl, light.token, SEND_JOBS, { queue: lightQueue, jobs: [{ data: { n: 1 } }] });
  lightJob = sent.sendJobs[0]!;
}, 120_000);

afterAll(() => gateway.stop());

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

/** Sequential simple queries of the light tenant: their latencies in ms. */
async function sampleLight(count: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let n = 0; n < count; n++) {
    const started = performance.now();
    const { body } = await httpGraphql(gateway.graphqlUrl, light.token, SIMPLE, { queue: lightQueue, id: lightJob });
    latencies.push(performance.now() - started);
    expect(body.errors).toBeUndefined();
  }
  return latencies;
}

interface Flood {
  stop(): Promise<{ ok: number; refused: Record<string, number>; perSecond: number }>;
}

/** `FLOODERS` heavy queries of the heavy tenant in flight at all times, each sent again as soon as it answers. */
function flood(): Flood {
  let running = true;
  let ok = 0;
  const refused: Record<string, number> = {};
  const started = performance.now();
  const loop = async () => {
    while (running) {
      const { status, body } = await httpGraphql(gateway.graphqlUrl, heavy.token, HEAVY, { queue: heavyQueue });
      const error = body.errors?.[0];
      if (!error) {
        ok++;
        continue;
      }
      const extensions = (error.extensions ?? {}) as { code?: string; limit?: string };
      const key = `${status} ${extensions.code} ${extensions.limit ?? ''}`.trim();
      refused[key] = (refused[key] ?? 0) + 1;
    }
  };
  const loops = Array.from({ length: FLOODERS }, loop);
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      const total = ok + Object.values(refused).reduce((sum, n) => sum + n, 0);
      return { ok, refused, perSecond: Math.round((total * 1000) / (performance.now() - started)) };
    },
  };
}

describe('a tenant flooding the database', () => {
  it("leaves another tenant's simple queries near their unloaded latency", async () => {
    await sampleLight(10);
    const unloaded = await sampleLight(SAMPLES);
    const heavyAlone = performance.now();
    await httpGraphql(gateway.graphqlUrl, heavy.token, HEAVY, { queue: heavyQueue });
    const heavyMs = performance.now() - heavyAlone;

    const running = flood();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const loaded = await sampleLight(SAMPLES);
    const result = await running.stop();

    const figures = {
      unloaded: { p50: percentile(unloaded, 50), p99: percentile(unloaded, 99) },
      loaded: { p50: percentile(loaded, 50), p99: percentile(loaded, 99) },
      heavyQueryMs: heavyMs,
      flood: result,
    };
    console.log(
      'tenant database share',
      JSON.stringify(figures, (_key, value: unknown) => (typeof value === 'number' ? Math.round(value * 10) / 10 : value)),
    );

    // The flood is refused, if at all, only for its share of the database.
    expect(Object.keys(result.refused).every((key) => key === '429 RATE_LIMITED database')).toBe(true);
    // It ran, and got through (a loaded machine runs fewer of its heavy queries).
    expect(result.ok).toBeGreaterThan(10);
    // Generous for a noisy 2-core machine; with every tenant in the same pools, p50 and p99 were 0.7 and 0.85 s.
    expect(figures.loaded.p50).toBeLessThanOrEqual(5 * figures.unloaded.p50 + 100);
    expect(figures.loaded.p99).toBeLessThanOrEqual(5 * figures.unloaded.p99 + 400);
    // Every slot came back.
    expect(gateway.services.databaseShare.usage(heavy.tenant.id)).toEqual({ active: 0, waiting: 0 });
  }, 120_000);
});

/** Polls until `check` holds (the gateway's bookkeeping follows the sockets' events). */
async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(10);
  }
}

describe("a tenant's line for its share, while another tenant is at work", () => {
  it('holds what waits, lets go of what its client abandons, and refuses past the wait bound', async () => {
    const tenant = await createTestTenant(gateway);
    const queue = uniqueName('held');
    const {
      sendJobs: [id],
    } = await gqlData<{ sendJobs: string[] }>(gateway.graphqlUrl, tenant.token, SEND_JOBS, { queue, jobs: [{ data: {} }] });
    const usage = () => gateway.services.databaseShare.usage(tenant.tenant.id);
    const slots = gateway.services.databaseShare.concurrency;
    const query = (signal?: AbortSignal) =>
      fetch(gateway.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.token}` },
        body: JSON.stringify({ query: SIMPLE, variables: { queue, id } }),
        signal,
      }).then(async (response) => ({
        status: response.status,
        body: (await response.json()) as { data?: unknown; errors?: { extensions: Record<string, unknown> }[] },
      }));

    // Another tenant at work on the instance: the tenant has its share, no more (alone, it could borrow).
    const neighbour = await createTestTenant(gateway);
    const neighbourQuery = () =>
      fetch(gateway.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${neighbour.token}` },
        body: JSON.stringify({ query: SIMPLE, variables: { queue, id } }),
      }).then((response) => response.json());

    // The job table locked: the tenants' queries hold their slots until the lock goes.
    await withTestClient(async (locker) => {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE pgboss.job IN ACCESS EXCLUSIVE MODE');
      const neighbourRunning = neighbourQuery();
      await until(() => gateway.services.databaseShare.usage(neighbour.tenant.id).active === 1, 'the neighbour at work');
      const running = Array.from({ length: slots }, () => query());
      await until(() => usage().active === slots, 'every slot taken');

      const abandoned = new AbortController();
      const leaving = Array.from({ length: 3 }, () => query(abandoned.signal).catch((error: unknown) => error));
      const socket = wsClient(gateway.wsUrl, { token: tenant.token });
      void wsExecute(socket, SIMPLE, { queue, id }).catch(() => {});
      await until(() => usage().waiting === 4, 'four waiting');
      abandoned.abort();
      await socket.dispose();
      await until(() => usage().waiting === 0, 'the abandoned ones gone from the line');
      await Promise.all(leaving);

      const started = Date.now();
      const late = await query();
      const waitedMs = Date.now() - started;
      console.log('refused after waiting', waitedMs, 'ms:', JSON.stringify(late));
      expect(late.status).toBe(429);
      expect(late.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'database', reason: 'wait' });
      expect(waitedMs).toBeGreaterThanOrEqual(gateway.services.config.databaseConnectTimeoutMs - 50);
      expect(usage()).toEqual({ active: slots, waiting: 0 });

      await locker.query('ROLLBACK');
      for (const answer of await Promise.all(running)) expect(answer.body.errors).toBeUndefined();
      await neighbourRunning;
      expect(usage()).toEqual({ active: 0, waiting: 0 });
    });
  }, 30_000);

  it('gives a subscription a slot for each event, none while it waits for one', async () => {
    const tenant = await createTestTenant(gateway);
    const queue = uniqueName('watched');
    const socket = wsClient(gateway.wsUrl, { token: tenant.token });
    try {
      // A document apiece (its operation name): no subscription shares another's execution.
      const subscribers = Array.from({ length: 3 * gateway.services.databaseShare.concurrency }, (_, n) =>
        collect<{ jobEvents: { jobId: string; job: { id: string } | null } }>(
          socket,
          `subscription Watch${n}($queue: String!) { jobEvents(queue: $queue) { jobId job { id } } }`,
          { queue },
        ),
      );
      await wsExecute(socket, '{ viewer { tokenId } }');
      await sleep(200);
      expect(gateway.services.databaseShare.usage(tenant.tenant.id)).toEqual({ active: 0, waiting: 0 });
      const {
        sendJobs: [id],
      } = await gqlData<{ sendJobs: string[] }>(gateway.graphqlUrl, tenant.token, SEND_JOBS, { queue, jobs: [{ data: {} }] });
      for (const subscriber of subscribers) {
        const { jobEvents } = await subscriber.waitFor((data) => data.jobEvents.jobId === id);
        expect(jobEvents.job).toEqual({ id });
      }
      expect(gateway.services.databaseShare.usage(tenant.tenant.id)).toEqual({ active: 0, waiting: 0 });
      for (const subscriber of subscribers) subscriber.stop();
    } finally {
      await socket.dispose();
    }
  });
});
