import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient, type Client } from 'graphql-ws';
import { wsClient } from '../support/clients.ts';
import { useRetentionGateway, useTwoInstances } from '../support/event-fixtures.ts';
import { createTestTenant, startGateway, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { sendJob, sendJobs } from '../support/operations.ts';
import { collect, sleep, type Collected } from '../support/subscriptions.ts';

interface EventData {
  jobEvents: { type: string; queue: string; jobId: string; state: string; cursor: string };
}

const EVENTS = `subscription($queue: String, $jobId: ID, $types: [JobEventType!], $after: String) {
  jobEvents(queue: $queue, jobId: $jobId, types: $types, after: $after) { type queue jobId state cursor }
}`;

const clients: Client[] = [];
afterAll(() => Promise.all(clients.map((client) => client.dispose())));
function subscribe(gateway: TestGateway, tenant: TestTenant, variables: Record<string, unknown>): Collected<EventData> {
  const client = wsClient(gateway.wsUrl, { token: tenant.token });
  clients.push(client);
  return collect<EventData>(client, EVENTS, variables);
}

const events = (sub: Collected<EventData>) => sub.results.flatMap((r) => (r.data ? [r.data.jobEvents] : []));
const lines = (sub: Collected<EventData>) => events(sub).map((e) => `${e.jobId}:${e.type}`);

/** Waits until `sub` holds `count` events. */
async function received(sub: Collected<EventData>, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (events(sub).length < count) {
    if (Date.now() > deadline) throw new Error(`${events(sub).length} of ${count} events within ${timeoutMs} ms: ${JSON.stringify(sub.results.slice(-3))}`);
    await sleep(20);
  }
}

/** Subscribes and waits until a probe job's CREATED arrives on that very subscription (a probe sent before it started is not). */
async function live(gateway: TestGateway, tenant: TestTenant, queue: string, variables: Record<string, unknown> = {}): Promise<Collected<EventData>> {
  const sub = subscribe(gateway, tenant, { queue, ...variables });
  for (let attempt = 0; ; attempt++) {
    const probe = await sendJob(gateway, tenant.token, queue, { probe: true });
    try {
      await sub.waitFor((d) => d.jobEvents.jobId === probe, 300);
      return sub;
    } catch (error) {
      if (attempt > 20) throw error;
    }
  }
}

describe('resuming jobEvents from a cursor', () => {
  const instances = useTwoInstances();

  it('replays exactly the events missed while away, then live ones, on either instance', async () => {
    const { gateway, other, tenant, boss } = instances;
    const queue = 'resume';
    const first = await live(gateway, tenant, queue);
    // The probe jobs leave the queue before the cursor is taken: every job taken below is one sent after it.
    const probes = await boss.fetch(`${tenant.tenant.id}/${queue}`, { batchSize: 100 });
    await boss.complete(
      `${tenant.tenant.id}/${queue}`,
      probes.map((probe) => probe.id),
    );
    for (const probe of probes) await first.waitFor((d) => d.jobEvents.jobId === probe.id && d.jobEvents.type === 'COMPLETED');
    const cursor = events(first).at(-1)!.cursor;
    first.stop();
    // Away: sends through both instances, and a plain pg-boss worker takes and completes some.
    const sent = [
      ...(await sendJobs(
        gateway,
        tenant.token,
        queue,
        Array.from({ length: 20 }, () => ({ data: {} })),
      )),
      await sendJob(other, tenant.token, queue),
    ];
    const taken = await boss.fetch(`${tenant.tenant.id}/${queue}`, { batchSize: 5 });
    await boss.complete(
      `${tenant.tenant.id}/${queue}`,
      taken.map((job) => job.id),
    );
    const missed = [...sent.map((id) => `${id}:CREATED`), ...taken.map((job) => `${job.id}:ACTIVE`), ...taken.map((job) => `${job.id}:COMPLETED`)];

    for (const on of [gateway, other]) {
      const resumed = subscribe(on, tenant, { queue, after: cursor });
      await received(resumed, missed.length);
      expect([...lines(resumed)].sort()).toEqual([...missed].sort());
      // Each job's events in the order they happened.
      for (const job of taken)
        expect(lines(resumed).filter((line) => line.startsWith(job.id))).toEqual([`${job.id}:CREATED`, `${job.id}:ACTIVE`, `${job.id}:COMPLETED`]);
      // Then live, with no repeat at the seam.
      const later = await sendJob(gateway, tenant.token, queue);
      await resumed.waitFor((d) => d.jobEvents.jobId === later);
      expect(lines(resumed)).toEqual([...lines(resumed).slice(0, missed.length), `${later}:CREATED`]);
      expect(new Set(events(resumed).map((e) => e.cursor)).size).toBe(events(resumed).length);
      resumed.stop();
      missed.push(`${later}:CREATED`);
    }
  });

  it('gives the same cursor for an event live and replayed, and filters a replay like the live stream', async () => {
    const { gateway, other, tenant } = instances;
    const queue = 'same-cursor';
    const sub = await live(gateway, tenant, queue);
    const start = events(sub).at(-1)!.cursor;
    const id = await sendJob(gateway, tenant.token, queue);
    await sendJob(gateway, tenant.token, 'elsewhere');
    const created = await sub.waitFor((d) => d.jobEvents.jobId === id);
    const replayed = subscribe(other, tenant, { queue, after: start, types: ['CREATED'] });
    await replayed.waitFor((d) => d.jobEvents.jobId === id);
    expect(events(replayed)).toEqual([created.jobEvents]);
  });

  it("refuses another tenant's cursor and any other text as BAD_USER_INPUT, never as data", async () => {
    const { gateway, tenant, stranger } = instances;
    const sub = await live(gateway, tenant, 'mine');
    const cursor = events(sub).at(-1)!.cursor;
    for (const after of [cursor, 'not-a-cursor', cursor.slice(0, -2) + (cursor.endsWith('AA') ? 'AB' : 'AA')]) {
      const refused = subscribe(gateway, after === cursor ? stranger : tenant, { after });
      const errors = (await refused.error) as { extensions?: { code?: string; argument?: string } }[];
      expect(errors[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'after' });
      expect(events(refused)).toEqual([]);
    }
  });

  it("with jobId and no cursor yields a finished job's final event at once, and its cursor resumes after it", async () => {
    const { gateway, other, tenant, boss } = instances;
    const queue = 'finished';
    const id = await sendJob(gateway, tenant.token, queue);
    const [job] = await boss.fetch(`${tenant.tenant.id}/${queue}`);
    await boss.complete(`${tenant.tenant.id}/${queue}`, job!.id);
    const sub = subscribe(gateway, tenant, { jobId: id });
    const final = await sub.waitFor((d) => d.jobEvents.type === 'COMPLETED');
    const next = await sendJob(gateway, tenant.token, queue);
    const resumed = subscribe(other, tenant, { queue, after: final.jobEvents.cursor });
    await resumed.waitFor((d) => d.jobEvents.jobId === next);
    expect(lines(resumed)).toEqual([`${next}:CREATED`]);
  });
});

describe("the README's graphql-ws recipe", () => {
  let other: TestGateway;
  let tenant: TestTenant;

  beforeAll(async () => {
    other = await startGateway();
    tenant = await createTestTenant(other);
  });

  afterAll(async () => {
    await other.stop();
  });

  it('resumes by itself across a restart of the gateway it reads from: a getter keeps `after` current', async () => {
    const queue = 'recipe';
    let restarted = await startGateway();
    const port = restarted.port;
    let cursor: string | null = null;
    const seen: string[] = [];
    const client = createClient({
      url: restarted.wsUrl,
      connectionParams: { token: tenant.token },
      retryAttempts: Infinity,
      shouldRetry: () => true,
      retryWait: async () => void (await sleep(200)),
    });
    try {
      client.subscribe<EventData>(
        {
          query: 'subscription($after: String) { jobEvents(queue: "recipe", after: $after) { type queue jobId state cursor } }',
          variables: {
            get after() {
              return cursor;
            },
          },
        },
        {
          next: ({ data }) => {
            if (!data) return;
            cursor = data.jobEvents.cursor;
            seen.push(data.jobEvents.jobId);
          },
          error: () => {},
          complete: () => {},
        },
      );
      for (let attempt = 0; !seen.length; attempt++) {
        await sendJob(other, tenant.token, queue);
        await sleep(200);
        if (attempt > 50) throw new Error('the subscription never started');
      }
      await restarted.stop();
      const missed = [];
      for (let i = 0; i < 10; i++) missed.push(await sendJob(other, tenant.token, queue));
      restarted = await startGateway({ port });
      const later = await sendJob(other, tenant.token, queue);
      const deadline = Date.now() + 20_000;
      while (!seen.includes(later) && Date.now() < deadline) await sleep(20);
      const after = seen.slice(seen.indexOf(missed[0]!));
      expect(after).toEqual([...missed, later]);
      expect(new Set(seen).size).toBe(seen.length);
    } finally {
      await client.dispose();
      await restarted.stop();
    }
  }, 60_000);
});

/** A database of its own: retention moves the clock days ahead. */
describe('an expired cursor', () => {
  const retention = useRetentionGateway();

  it('fails with CURSOR_EXPIRED once retention dropped the events after it, and a fresh subscription works', async () => {
    const { gateway, tenant } = retention;
    const sub = await live(gateway, tenant, 'old');
    const cursor = events(sub).at(-1)!.cursor;
    await sendJob(gateway, tenant.token, 'old');
    // Three days on: today's partition, and the events after the cursor, are gone.
    expect(await retention.retainAsIfLater(3)).toBeGreaterThan(0);
    const refused = subscribe(gateway, tenant, { after: cursor });
    const errors = (await refused.error) as { message: string; extensions?: { code?: string } }[];
    expect(errors[0]?.extensions?.code).toBe('CURSOR_EXPIRED');
    expect(errors[0]?.message).toMatch(/subscribe without "after"/);
    const fresh = await live(gateway, tenant, 'old');
    expect(events(fresh).length).toBeGreaterThan(0);
  });
});
