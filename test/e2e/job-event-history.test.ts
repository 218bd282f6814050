import { afterAll, describe, expect, it } from '@jest/globals';
import type { Client } from 'graphql-ws';
import { gqlData, httpGraphql, wsClient } from '../support/clients.ts';
import { useRetentionGateway, useTwoInstances } from '../support/event-fixtures.ts';
import type { TestGateway, TestTenant } from '../support/gateway.ts';
import { sendJob } from '../support/operations.ts';
import { collect, type Collected } from '../support/subscriptions.ts';

interface HistoryEvent {
  type: string;
  queue: string;
  jobId: string;
  state: string;
  retryCount: number;
  cursor: string;
}

interface HistoryPage {
  nodes: HistoryEvent[];
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
}

const HISTORY = `query($queue: String!, $jobId: ID!, $after: String, $first: Int) {
  jobEventHistory(queue: $queue, jobId: $jobId, after: $after, first: $first) {
    nodes { type queue jobId state retryCount cursor }
    pageInfo { endCursor hasNextPage }
  }
}`;

const EVENTS = `subscription($queue: String, $jobId: ID, $after: String) {
  jobEvents(queue: $queue, jobId: $jobId, after: $after) { type queue jobId state retryCount cursor }
}`;

interface EventData {
  jobEvents: HistoryEvent;
}

const clients: Client[] = [];
afterAll(() => Promise.all(clients.map((client) => client.dispose())));
function subscribe(gateway: TestGateway, tenant: TestTenant, variables: Record<string, unknown>): Collected<EventData> {
  const client = wsClient(gateway.wsUrl, { token: tenant.token });
  clients.push(client);
  return collect<EventData>(client, EVENTS, variables);
}

const events = (sub: Collected<EventData>) => sub.results.flatMap((r) => (r.data ? [r.data.jobEvents] : []));

async function history(gateway: TestGateway, tenant: TestTenant, variables: Record<string, unknown>): Promise<HistoryPage> {
  return (await gqlData<{ jobEventHistory: HistoryPage }>(gateway.graphqlUrl, tenant.token, HISTORY, variables)).jobEventHistory;
}

/** Every page, `first` at a time. */
async function allPages(gateway: TestGateway, tenant: TestTenant, queue: string, jobId: string, first: number): Promise<HistoryPage[]> {
  const pages: HistoryPage[] = [];
  let after: string | null = null;
  do {
    const page = await history(gateway, tenant, { queue, jobId, first, after });
    pages.push(page);
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (after !== null);
  return pages;
}

async function refusal(gateway: TestGateway, tenant: TestTenant, variables: Record<string, unknown>, query = HISTORY) {
  const { body } = await httpGraphql(gateway.graphqlUrl, tenant.token, query, variables);
  expect(body.data ?? null).toBeNull();
  return body.errors?.[0] as { message: string; extensions?: { code?: string; argument?: string } } | undefined;
}

describe('jobEventHistory', () => {
  const instances = useTwoInstances();

  /** A job that was created, taken, failed once, taken again and completed; seen by a live subscription. */
  async function finishedJob(queue: string): Promise<{ id: string; live: HistoryEvent[] }> {
    const { gateway, tenant, boss } = instances;
    const name = `${tenant.tenant.id}/${queue}`;
    // All of the tenant's events: a probe in a queue of its own shows the subscription is live first.
    const sub = subscribe(gateway, tenant, {});
    for (let attempt = 0; ; attempt++) {
      const probe = await sendJob(gateway, tenant.token, `${queue}-probe`);
      try {
        await sub.waitFor((d) => d.jobEvents.jobId === probe, 300);
        break;
      } catch (error) {
        if (attempt > 20) throw error;
      }
    }
    const id = await sendJob(gateway, tenant.token, queue, { n: 1 }, { retryLimit: 1, retryDelay: 0 });
    await sendJob(gateway, tenant.token, queue, { n: 2 });
    const [job] = await boss.fetch(name, { batchSize: 1 });
    expect(job?.id).toBe(id);
    await boss.fail(name, id, { boom: true });
    const [again] = await boss.fetch(name, { batchSize: 1 });
    expect(again?.id).toBe(id);
    await boss.complete(name, id);
    await sub.waitFor((d) => d.jobEvents.jobId === id && d.jobEvents.type === 'COMPLETED');
    sub.stop();
    return { id, live: events(sub).filter((event) => event.jobId === id) };
  }

  it("reads one job's events oldest first, page by page, with the cursors jobEvents gives them", async () => {
    const { gateway, other, tenant } = instances;
    const queue = 'history-pages';
    const { id, live } = await finishedJob(queue);
    expect(live.map((event) => event.type)).toEqual(['CREATED', 'ACTIVE', 'RETRY', 'ACTIVE', 'COMPLETED']);

    const pages = await allPages(gateway, tenant, queue, id, 2);
    expect(pages.map((page) => page.nodes.length)).toEqual([2, 2, 1]);
    expect(pages.map((page) => page.pageInfo.hasNextPage)).toEqual([true, true, false]);
    // A full page ends at its last event.
    for (const page of pages.slice(0, -1)) expect(page.pageInfo.endCursor).toBe(page.nodes.at(-1)!.cursor);
    expect(pages.flatMap((page) => page.nodes)).toEqual(live);

    // One page of all, on the other instance too: the same events and cursors.
    const whole = await history(other, tenant, { queue, jobId: id });
    expect(whole.nodes).toEqual(live);
    expect(whole.pageInfo.hasNextPage).toBe(false);
    expect(whole.pageInfo.endCursor).not.toBeNull();
    // After its last event's cursor, or after the page's end: nothing more.
    for (const after of [live.at(-1)!.cursor, whole.pageInfo.endCursor]) {
      const rest = await history(gateway, tenant, { queue, jobId: id, after });
      expect(rest.nodes).toEqual([]);
      expect(rest.pageInfo).toEqual({ endCursor: expect.any(String), hasNextPage: false });
    }
    // A cursor from the middle: the events after it.
    expect((await history(gateway, tenant, { queue, jobId: id, after: live[1]!.cursor })).nodes).toEqual(live.slice(2));
  });

  it('hands over to jobEvents(after:) at its end cursor with no event missed or repeated', async () => {
    const { gateway, other, tenant, boss } = instances;
    const queue = 'history-live';
    const name = `${tenant.tenant.id}/${queue}`;
    const id = await sendJob(gateway, tenant.token, queue, {}, { retryLimit: 1, retryDelay: 0 });
    await boss.fetch(name, { batchSize: 1 });
    // The ACTIVE event is in the log once the job's row says active; wait until the history has it.
    let page = await history(gateway, tenant, { queue, jobId: id });
    for (let attempt = 0; page.nodes.length < 2 && attempt < 200; attempt++) page = await history(gateway, tenant, { queue, jobId: id });
    expect(page.nodes.map((event) => event.type)).toEqual(['CREATED', 'ACTIVE']);

    // An event between the read and the subscription: the subscription replays it.
    await boss.fail(name, id, { boom: true });
    const fromEnd = subscribe(other, tenant, { jobId: id, after: page.pageInfo.endCursor });
    const fromLast = subscribe(gateway, tenant, { jobId: id, after: page.nodes.at(-1)!.cursor });
    await Promise.all([fromEnd, fromLast].map((sub) => sub.waitFor((d) => d.jobEvents.type === 'RETRY')));
    // Then live.
    await boss.fetch(name, { batchSize: 1 });
    await boss.complete(name, id);
    for (const sub of [fromEnd, fromLast]) {
      await sub.waitFor((d) => d.jobEvents.type === 'COMPLETED');
      expect(events(sub).map((event) => event.type)).toEqual(['RETRY', 'ACTIVE', 'COMPLETED']);
    }
    // The live events are the history's next page, cursors and all.
    const next = await history(gateway, tenant, { queue, jobId: id, after: page.nodes.at(-1)!.cursor });
    expect(next.nodes).toEqual(events(fromEnd));
    expect(events(fromLast)).toEqual(events(fromEnd));
  });

  it('gives an empty page, still with an end cursor to go live from, for a job with no events', async () => {
    const { gateway, tenant } = instances;
    const queue = 'history-empty';
    const missing = '00000000-0000-4000-8000-000000000001';
    const page = await history(gateway, tenant, { queue, jobId: missing });
    expect(page.nodes).toEqual([]);
    expect(page.pageInfo.hasNextPage).toBe(false);
    const sub = subscribe(gateway, tenant, { queue, after: page.pageInfo.endCursor });
    const id = await sendJob(gateway, tenant.token, queue);
    await sub.waitFor((d) => d.jobEvents.jobId === id);
    expect(events(sub).map((event) => `${event.jobId}:${event.type}`)).toEqual([`${id}:CREATED`]);
  });

  it("shows nothing of another tenant's job, and refuses another tenant's cursor or any other text", async () => {
    const { gateway, tenant, stranger } = instances;
    const queue = 'history-private';
    const { id, live } = await finishedJob(queue);
    const theirs = await history(gateway, stranger, { queue, jobId: id });
    expect(theirs.nodes).toEqual([]);
    expect(theirs.pageInfo.hasNextPage).toBe(false);

    const cursor = live[0]!.cursor;
    const forged = cursor.slice(0, -2) + (cursor.endsWith('AA') ? 'AB' : 'AA');
    for (const [who, after] of [
      [stranger, cursor],
      [tenant, 'not-a-cursor'],
      [tenant, forged],
    ] as const) {
      const error = await refusal(gateway, who, { queue, jobId: id, after });
      expect(error?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'after' });
    }
    // The other tenant's end cursor does not open for this one either.
    const error = await refusal(gateway, tenant, { queue, jobId: id, after: theirs.pageInfo.endCursor });
    expect(error?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'after' });
  });

  it('refuses a page size out of range, a job id that is no UUID and a bad queue name', async () => {
    const { gateway, tenant } = instances;
    const jobId = '00000000-0000-4000-8000-000000000002';
    // Few fields: the largest page of them stays within the cost limit, so the size itself is refused.
    const cursors = `query($jobId: ID!, $first: Int) { jobEventHistory(queue: "q", jobId: $jobId, first: $first) { nodes { cursor } } }`;
    for (const first of [0, -1, 501]) {
      const error = await refusal(gateway, tenant, { jobId, first }, cursors);
      expect(error?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'first' });
      expect(error?.message).toMatch(/1-500/);
    }
    expect((await refusal(gateway, tenant, { queue: 'q', jobId: 'not-a-uuid' }))?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'jobId' });
    expect((await refusal(gateway, tenant, { queue: '../q', jobId }))?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'queue' });
  });

  it('costs its page size times what each event selects', async () => {
    const { gateway, tenant } = instances;
    const query = `query($jobId: ID!, $first: Int) {
      jobEventHistory(queue: "q", jobId: $jobId, first: $first) { nodes { type cursor job { id data output } } }
    }`;
    const jobId = '00000000-0000-4000-8000-000000000003';
    expect((await refusal(gateway, tenant, { jobId, first: 500 }, query))?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    const small = await httpGraphql(gateway.graphqlUrl, tenant.token, query, { jobId, first: 10 });
    expect(small.body.errors).toBeUndefined();
  });
});

/** A database of its own: retention moves the clock days ahead. */
describe('jobEventHistory after retention', () => {
  const retention = useRetentionGateway();

  it('fails with CURSOR_EXPIRED after a cursor whose events are gone, and reads what is kept without one', async () => {
    const { gateway, tenant } = retention;
    const queue = 'old';
    const id = await sendJob(gateway, tenant.token, queue);
    let page = await history(gateway, tenant, { queue, jobId: id });
    for (let attempt = 0; page.nodes.length === 0 && attempt < 200; attempt++) page = await history(gateway, tenant, { queue, jobId: id });
    expect(page.nodes.map((event) => event.type)).toEqual(['CREATED']);
    // A later event, past the page's end, is dropped as well.
    await sendJob(gateway, tenant.token, queue);
    // Three days on: today's partition, and the events after either cursor, are gone.
    expect(await retention.retainAsIfLater(3)).toBeGreaterThan(0);
    for (const after of [page.nodes[0]!.cursor, page.pageInfo.endCursor]) {
      const error = await refusal(gateway, tenant, { queue, jobId: id, after });
      expect(error?.extensions).toMatchObject({ code: 'CURSOR_EXPIRED', argument: 'after' });
    }
    const kept = await history(gateway, tenant, { queue, jobId: id });
    expect(kept.nodes).toEqual([]);
    expect(kept.pageInfo.hasNextPage).toBe(false);
  });
});
