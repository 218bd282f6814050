import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { createClient } from 'graphql-sse';
import { useGateway, useTestTenant } from '../support/gateway.ts';
import { sendJob } from '../support/operations.ts';
import { sleep } from '../support/subscriptions.ts';

// Subscriptions over server-sent events as their users bring them: the graphql-sse
// client (distinct connections mode; single connection mode is refused with a
// reason) and curl -N reading text/event-stream from GET and POST.

const EVENTS = 'subscription($queue: String) { jobEvents(queue: $queue) { type jobId } }';

interface EventData {
  jobEvents: { type: string; jobId: string };
}

const gateway = useGateway();
const tenant = useTestTenant(gateway);

const send = (queue: string) => sendJob(gateway, tenant.token, queue);

/** Sends jobs until `seen` reports one: proves the subscription is live without guessing a delay. */
async function sendUntilSeen(queue: string, seen: () => string): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const id = await send(queue);
    for (let wait = 0; wait < 10; wait++) {
      if (seen().includes(id)) return id;
      await sleep(20);
    }
  }
  throw new Error(`the subscription never reported a job; it read: ${seen()}`);
}

async function liveSubscriptions(): Promise<number> {
  const metrics = await (await fetch(gateway.metricsUrl)).text();
  const match = new RegExp(`^jobgate_subscriptions\\{tenant="${tenant.tenant.id}",field="jobEvents"\\} (\\d+)$`, 'm').exec(metrics);
  return match ? Number(match[1]) : 0;
}

async function noLiveSubscriptions(): Promise<void> {
  for (let waited = 0; (await liveSubscriptions()) > 0; waited += 50) {
    if (waited > 5_000) throw new Error('a subscription stayed open');
    await sleep(50);
  }
}

describe('the graphql-sse client', () => {
  it('receives jobEvents in distinct connections mode, the token in its headers', async () => {
    const client = createClient({ url: gateway.graphqlUrl, headers: { authorization: `Bearer ${tenant.token}` }, retryAttempts: 0 });
    const seen: string[] = [];
    const errors: unknown[] = [];
    const dispose = client.subscribe<EventData>(
      { query: EVENTS, variables: { queue: 'sse-distinct' } },
      { next: (result) => result.data && seen.push(result.data.jobEvents.jobId), error: (error) => errors.push(error), complete: () => {} },
    );
    await sendUntilSeen('sse-distinct', () => seen.join(','));
    expect(errors).toEqual([]);
    dispose();
    client.dispose();
    await noLiveSubscriptions();
  });

  it('is told why single connection mode is refused (405 METHOD_NOT_ALLOWED), and nothing stays open', async () => {
    const client = createClient({ url: gateway.graphqlUrl, headers: { authorization: `Bearer ${tenant.token}` }, singleConnection: true, retryAttempts: 0 });
    const failure = await new Promise<unknown>((resolve) => {
      client.subscribe({ query: EVENTS, variables: { queue: 'sse-single' } }, { next: () => {}, error: resolve, complete: () => resolve(null) });
    });
    client.dispose();
    expect(String(failure)).toMatch(/405/);
    const reservation = await fetch(gateway.graphqlUrl, { method: 'PUT', headers: { authorization: `Bearer ${tenant.token}` } });
    expect(reservation.status).toBe(405);
    const body = (await reservation.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('METHOD_NOT_ALLOWED');
    expect(body.errors[0]!.message).toContain('distinct connections');
    await noLiveSubscriptions();
  });
});

/** curl -N, reading an event stream until told to stop; its output so far. */
function curl(args: string[]): { process: ChildProcessWithoutNullStreams; output: () => string } {
  const child = spawn('curl', ['-N', '-s', '-H', 'accept: text/event-stream', '-H', `authorization: Bearer ${tenant.token}`, ...args]);
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  return { process: child, output: () => output };
}

describe('curl -N', () => {
  it.each([
    ['GET', (queue: string) => [`${gateway.graphqlUrl}?query=${encodeURIComponent(EVENTS)}&variables=${encodeURIComponent(JSON.stringify({ queue }))}`]],
    [
      'POST',
      (queue: string) => ['-H', 'content-type: application/json', '--data', JSON.stringify({ query: EVENTS, variables: { queue } }), gateway.graphqlUrl],
    ],
  ])('reads jobEvents as text/event-stream over %s', async (method, args) => {
    const queue = `curl-${method.toLowerCase()}`;
    const { process: child, output } = curl(args(queue));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const id = await sendUntilSeen(queue, output);
      expect(output()).toContain(`event: next\ndata: {"data":{"jobEvents":{"type":"CREATED","jobId":"${id}"}}}\n\n`);
    } finally {
      child.kill();
      await exited;
    }
    await noLiveSubscriptions();
  });
});
