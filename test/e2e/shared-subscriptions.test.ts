import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client } from 'graphql-ws';
import { gqlData, wsClient } from '../support/clients.ts';
import { createTestTenant, issueExtraToken, startGateway, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { SEND_JOBS, sendJob } from '../support/operations.ts';
import { collect, sleep, type Collected } from '../support/subscriptions.ts';

interface EventData {
  jobEvents: { type: string; queue: string; jobId: string; job: { data: { n?: number } } | null };
}

// `$jobId` is declared but left unset: such subscriptions share like any other.
const EVENTS = `subscription($queue: String, $jobId: ID, $types: [JobEventType!]) {
  jobEvents(queue: $queue, jobId: $jobId, types: $types) { type queue jobId job { data } }
}`;

let gateway: TestGateway;
let a: TestTenant;
let b: TestTenant;
const clients: Client[] = [];

function client(token: string): Client {
  const created = wsClient(gateway.wsUrl, { token });
  clients.push(created);
  return created;
}

const send = (tenant: TestTenant, queue: string, data: Record<string, unknown> = {}) => sendJob(gateway, tenant.token, queue, data);

/** Subscribes each token on a socket of its own, then sends probe jobs until every subscription has one. */
async function subscribeAll(tenant: TestTenant, tokens: string[], queue: string): Promise<Collected<EventData>[]> {
  const subs = tokens.map((token) => collect<EventData>(client(token), EVENTS, { queue, types: ['CREATED'] }));
  for (let attempt = 0; ; attempt++) {
    const probe = await send(tenant, queue, { probe: attempt });
    try {
      await Promise.all(subs.map((sub) => sub.waitFor((d) => d.jobEvents.jobId === probe, 300)));
      return subs;
    } catch (error) {
      if (attempt > 20) throw error;
    }
  }
}

/** A gauge's value for this tenant (0 when the series is absent). */
async function gauge(name: string, tenant: TestTenant, extra = ''): Promise<number> {
  const scraped = await (await fetch(gateway.metricsUrl)).text();
  const match = new RegExp(`^${name}\\{tenant="${tenant.tenant.id}"${extra}\\} (\\d+)$`, 'm').exec(scraped);
  return match ? Number(match[1]) : 0;
}

async function gaugeBecomes(name: string, tenant: TestTenant, expected: number, extra = ''): Promise<void> {
  for (let waited = 0; (await gauge(name, tenant, extra)) !== expected; waited += 50) {
    if (waited > 5_000) throw new Error(`${name} stayed at ${await gauge(name, tenant, extra)}, expected ${expected}`);
    await sleep(50);
  }
}

const createdIds = (sub: Collected<EventData>, after: number) => sub.results.slice(after).map((r) => r.data!.jobEvents.jobId);

beforeAll(async () => {
  gateway = await startGateway();
  a = await createTestTenant(gateway);
  b = await createTestTenant(gateway);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await gateway.stop();
});

describe('subscriptions sharing one execution', () => {
  it('gives every subscriber every event in order; one leaving ends nobody else; a late joiner gets what follows', async () => {
    const [first, second, third] = await subscribeAll(a, [a.token, a.token, a.token], 'shared');
    expect(await gauge('jobgate_subscription_streams', a)).toBe(1);
    expect(await gauge('jobgate_subscriptions', a, ',field="jobEvents"')).toBe(3);

    const before = [first!, second!, third!].map((sub) => sub.results.length);
    const ids = (
      await gqlData<{ sendJobs: string[] }>(gateway.graphqlUrl, a.token, SEND_JOBS, {
        queue: 'shared',
        jobs: Array.from({ length: 200 }, (_, n) => ({ data: { n } })),
      })
    ).sendJobs;
    for (const [index, sub] of [first!, second!, third!].entries()) {
      await sub.waitFor((d) => d.jobEvents.jobId === ids[199]);
      expect(createdIds(sub, before[index]!)).toEqual(ids);
      expect(sub.results.slice(before[index]).map((r) => r.data!.jobEvents.job?.data.n)).toEqual(ids.map((_, n) => n));
    }

    first!.stop();
    await gaugeBecomes('jobgate_subscriptions', a, 2, ',field="jobEvents"');
    const afterLeave = await send(a, 'shared', { n: 'after' });
    await Promise.all([second!, third!].map((sub) => sub.waitFor((d) => d.jobEvents.jobId === afterLeave)));
    expect(await gauge('jobgate_subscription_streams', a)).toBe(1);

    const [late] = await subscribeAll(a, [a.token], 'shared');
    const lateSeen = createdIds(late!, 0);
    expect(lateSeen).not.toContain(afterLeave);
    expect(lateSeen.some((id) => ids.includes(id))).toBe(false);
    expect(await gauge('jobgate_subscription_streams', a)).toBe(1);

    for (const sub of [second!, third!, late!]) sub.stop();
    await gaugeBecomes('jobgate_subscription_streams', a, 0);
    await gaugeBecomes('jobgate_subscriptions', a, 0, ',field="jobEvents"');
  });

  it('shares with a subscriber over HTTP (server-sent events), which gets the same events in the same order', async () => {
    const [overWs] = await subscribeAll(a, [a.token], 'sse');
    const response = await fetch(gateway.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${a.token}` },
      body: JSON.stringify({ query: EVENTS, variables: { queue: 'sse', types: ['CREATED'] } }),
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const overSse: string[] = [];
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = '';
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffered += value;
        for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
          const data = buffered
            .slice(0, end)
            .split('\n')
            .find((line) => line.startsWith('data:'));
          buffered = buffered.slice(end + 2);
          const parsed = data ? (JSON.parse(data.slice(5)) as { data?: EventData }) : null;
          if (parsed?.data) overSse.push(parsed.data.jobEvents.jobId);
        }
      }
    })();
    await gaugeBecomes('jobgate_subscriptions', a, 2, ',field="jobEvents"');
    expect(await gauge('jobgate_subscription_streams', a)).toBe(1);
    const before = overWs!.results.length;
    const ids = (
      await gqlData<{ sendJobs: string[] }>(gateway.graphqlUrl, a.token, SEND_JOBS, {
        queue: 'sse',
        jobs: Array.from({ length: 50 }, (_, n) => ({ data: { n } })),
      })
    ).sendJobs;
    await overWs!.waitFor((d) => d.jobEvents.jobId === ids[49]);
    for (let waited = 0; !overSse.includes(ids[49]!); waited += 20) {
      if (waited > 5_000) throw new Error(`SSE got ${overSse.length} events`);
      await sleep(20);
    }
    expect(createdIds(overWs!, before)).toEqual(ids);
    expect(overSse.filter((id) => ids.includes(id))).toEqual(ids);
    await reader.cancel();
    await reading.catch(() => {});
    overWs!.stop();
    await gaugeBecomes('jobgate_subscription_streams', a, 0);
  });

  it('never shares across tenants: the same document and variables see only their own tenant’s jobs', async () => {
    const [ofA] = await subscribeAll(a, [a.token], 'same-name');
    const [ofB] = await subscribeAll(b, [b.token], 'same-name');
    expect(await gauge('jobgate_subscription_streams', a)).toBe(1);
    expect(await gauge('jobgate_subscription_streams', b)).toBe(1);
    const jobOfA = await send(a, 'same-name', { n: 1 });
    const jobOfB = await send(b, 'same-name', { n: 2 });
    await ofA!.waitFor((d) => d.jobEvents.jobId === jobOfA);
    await ofB!.waitFor((d) => d.jobEvents.jobId === jobOfB);
    await sleep(200);
    expect(createdIds(ofA!, 0)).not.toContain(jobOfB);
    expect(createdIds(ofB!, 0)).not.toContain(jobOfA);
    ofA!.stop();
    ofB!.stop();
  });

  it('checks every subscriber’s own scopes: a token without READ is refused while a READ subscriber of the same document is live', async () => {
    const [reader] = await subscribeAll(a, [a.token], 'scoped');
    const publisher = await issueExtraToken(gateway, a.tenant.id, ['PUBLISH']);
    const refused = collect<EventData>(client(publisher.token), EVENTS, { queue: 'scoped', types: ['CREATED'] });
    expect(JSON.stringify(await refused.error)).toContain('FORBIDDEN');
    const id = await send(a, 'scoped');
    await reader!.waitFor((d) => d.jobEvents.jobId === id);
    expect(refused.results.every((r) => !r.data)).toBe(true);
    reader!.stop();
  });

  it('keeps subscriptions with a jobId apart: each first yields the job’s final state', async () => {
    const id = await send(a, 'final');
    await gqlData(gateway.graphqlUrl, a.token, 'mutation($id: ID!) { cancelJob(queue: "final", id: $id) { id } }', { id });
    const variables = { jobId: id, types: ['CANCELLED'] };
    const firstWatcher = collect<EventData>(client(a.token), EVENTS, variables);
    await firstWatcher.waitFor((d) => d.jobEvents.type === 'CANCELLED');
    const secondWatcher = collect<EventData>(client(a.token), EVENTS, variables);
    await secondWatcher.waitFor((d) => d.jobEvents.type === 'CANCELLED');
    expect(await gauge('jobgate_subscription_streams', a)).toBe(0);
    firstWatcher.stop();
    secondWatcher.stop();
  });

  it.each([
    ['a variable’s default value', (id: string) => `subscription($jobId: ID = "${id}") { jobEvents(jobId: $jobId, types: [CANCELLED]) { type queue jobId } }`],
    ['a literal', (id: string) => `subscription { jobEvents(jobId: "${id}", types: [CANCELLED]) { type queue jobId } }`],
  ])('keeps subscriptions with a jobId given through %s apart: each gets the final event', async (_how, document) => {
    const id = await send(a, 'final-default');
    await gqlData(gateway.graphqlUrl, a.token, 'mutation($id: ID!) { cancelJob(queue: "final-default", id: $id) { id } }', { id });
    const firstWatcher = collect<EventData>(client(a.token), document(id));
    await firstWatcher.waitFor((d) => d.jobEvents.type === 'CANCELLED' && d.jobEvents.jobId === id);
    const secondWatcher = collect<EventData>(client(a.token), document(id));
    await secondWatcher.waitFor((d) => d.jobEvents.type === 'CANCELLED' && d.jobEvents.jobId === id);
    expect(await gauge('jobgate_subscription_streams', a)).toBe(0);
    firstWatcher.stop();
    secondWatcher.stop();
  });

  it('shares subscriptions whose arguments resolve the same, whether given or left to their defaults', async () => {
    const c = await createTestTenant(gateway);
    const document = `subscription($queue: String = "resolved", $types: [JobEventType!] = [CREATED]) {
      jobEvents(queue: $queue, types: $types) { type queue jobId job { data } }
    }`;
    const subs = [{}, { queue: 'resolved' }, { queue: 'resolved', types: ['CREATED'] }].map((variables) =>
      collect<EventData>(client(c.token), document, variables),
    );
    for (let attempt = 0; ; attempt++) {
      const probe = await send(c, 'resolved', { probe: attempt });
      try {
        await Promise.all(subs.map((sub) => sub.waitFor((d) => d.jobEvents.jobId === probe, 300)));
        break;
      } catch (error) {
        if (attempt > 20) throw error;
      }
    }
    expect(await gauge('jobgate_subscription_streams', c)).toBe(1);
    const elsewhere = collect<EventData>(client(c.token), document, { queue: 'elsewhere' });
    await gaugeBecomes('jobgate_subscription_streams', c, 2);
    for (const sub of [...subs, elsewhere]) sub.stop();
    await gaugeBecomes('jobgate_subscription_streams', c, 0);
  });
});
