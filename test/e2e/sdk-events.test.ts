import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  createProducer,
  createWorker,
  JobFailedError,
  JobFailure,
  JobgateError,
  type EventStream,
  type JobEvent,
  type Producer,
  type Worker,
} from '@jobgate/client';
import { useRetentionGateway } from '../support/event-fixtures.ts';
import { startGateway, useGateway, useTestTenant, type TestGateway } from '../support/gateway.ts';
import { sendJob } from '../support/operations.ts';
import { sleep } from '../support/subscriptions.ts';

// The SDK's producer following job events over server-sent events: sendAndWait,
// and events() resuming by cursor across dropped streams and gateway restarts.

const RECONNECT = { minDelayMs: 50, maxDelayMs: 400 };

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** What a promise rejected with (fails the test when it resolved). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  const outcome = await promise.then(
    (value: unknown) => ({ resolved: value }),
    (reason: unknown) => ({ rejected: reason }),
  );
  if ('resolved' in outcome) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.resolved)}`);
  return outcome.rejected;
}

/** Follows `events()` into arrays: the events delivered, the errors that ended it, the drops it reconnected after. */
function follow(producer: Producer, filter: Parameters<Producer['events']>[0]) {
  const seen: JobEvent[] = [];
  const errors: unknown[] = [];
  const drops: unknown[] = [];
  const stream: EventStream = producer.events(filter, {
    onEvent: (event) => void seen.push(event),
    onError: (error) => void errors.push(error),
    onReconnect: (error) => void drops.push(error),
  });
  const created = () => seen.filter((event) => event.type === 'CREATED').map((event) => event.jobId);
  return { stream, seen, errors, drops, created };
}

describe('sendAndWait', () => {
  const gateway = useGateway();
  const tenant = useTestTenant(gateway);
  const workers: Worker[] = [];
  let producer: Producer;

  beforeAll(() => {
    producer = createProducer({ url: gateway.graphqlUrl, token: tenant.token, reconnect: RECONNECT });
  });

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
  });

  const work = (queue: string, handler: Parameters<typeof createWorker<{ n: number }>>[0]['handler']) =>
    workers.push(createWorker<{ n: number }>({ url: gateway.wsUrl, token: tenant.token, queues: [queue], handler, onError: () => {} }));

  it('resolves with the output a worker completed the job with, onProgress seeing its reports in order', async () => {
    const heard: unknown[] = [];
    work('wait-done', async (job, { progress }) => {
      // Progress reported before the subscription started is not replayed: report until it is heard.
      while (!heard.includes('ready')) {
        await progress('ready');
        await sleep(20);
      }
      for (const step of [1, 2, 3]) await progress({ step });
      return { doubled: job.data.n * 2 };
    });
    const output = await producer.sendAndWait('wait-done', { n: 21 }, {}, { onProgress: (value) => void heard.push(value) });
    expect(output).toEqual({ doubled: 42 });
    const steps = heard.filter((value) => value !== 'ready');
    expect(steps).toEqual([{ step: 1 }, { step: 2 }, { step: 3 }]);
    expect(heard.slice(-3)).toEqual(steps);
  });

  it('rejects with the failure once the last attempt failed, not at a retry', async () => {
    const attempts: number[] = [];
    work('wait-failed', (job) => {
      attempts.push(job.retryCount);
      throw new JobFailure('no recipient', { field: 'to' });
    });
    const failure = await rejection(producer.sendAndWait('wait-failed', { n: 1 }, { retryLimit: 2, retryDelay: 0 }));
    expect(failure).toBeInstanceOf(JobFailedError);
    expect(failure).toMatchObject({ type: 'FAILED', queue: 'wait-failed', retryCount: 2, error: { message: 'no recipient', field: 'to' } });
    expect(attempts).toEqual([0, 1, 2]);
  });

  it('rejects with CANCELLED for a job cancelled while it waits, and resolves at once for a job that had finished', async () => {
    const id = randomUUID();
    const waiting = producer.sendAndWait('wait-cancelled', { n: 1 }, { id, delaySeconds: 3600 });
    await until('the job to be stored', async () => (await producer.getJob('wait-cancelled', id)) !== null);
    await producer.cancel('wait-cancelled', id);
    expect(await rejection(waiting)).toMatchObject({ name: 'JobFailedError', type: 'CANCELLED', jobId: id });

    // Called again with the same id: that job is waited for; it has finished, so its final event comes at once.
    expect(await rejection(producer.sendAndWait('wait-cancelled', { n: 1 }, { id }))).toMatchObject({ type: 'CANCELLED', jobId: id });
  });

  it('stops waiting when its signal aborts or its time is up; the job goes on', async () => {
    const controller = new AbortController();
    const id = randomUUID();
    const waiting = producer.sendAndWait('wait-aborted', { n: 1 }, { id, delaySeconds: 3600 }, { signal: controller.signal });
    await until('the job to be stored', async () => (await producer.getJob('wait-aborted', id)) !== null);
    controller.abort(new Error('enough'));
    expect(await rejection(waiting)).toMatchObject({ message: 'enough' });
    expect(await rejection(producer.sendAndWait('wait-aborted', { n: 2 }, { delaySeconds: 3600 }, { timeoutMs: 300 }))).toMatchObject({ name: 'TimeoutError' });
    expect((await producer.getJob('wait-aborted', id))?.state).toBe('CREATED');
  });
});

/** A TCP proxy in front of the gateway whose connections can be cut. */
async function startProxy(target: number): Promise<{ port: number; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    port: (server.address() as { port: number }).port,
    cut,
    close: () => {
      cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('events()', () => {
  /** Stays up: it sends jobs while the gateway a stream reads from is down. */
  const sender = useGateway();
  const tenant = useTestTenant(sender);
  const send = (queue: string) => sendJob(sender, tenant.token, queue);

  it('resumes after its gateway stops and another starts on the same port: every event once, in order', async () => {
    const queue = 'events-restart';
    const first = await startGateway();
    let second: TestGateway | undefined;
    const { stream, seen, errors, drops, created } = follow(createProducer({ url: first.graphqlUrl, token: tenant.token, reconnect: RECONNECT }), { queue });
    try {
      // Until the first event there is no cursor to resume from.
      const before: string[] = [];
      await until('the stream to be live', async () => {
        before.push(await send(queue));
        await sleep(50);
        return seen.length > 0;
      });
      const stopped = first.stop();
      await until('the stream to drop', () => drops.length > 0);
      const meanwhile = [await send(queue), await send(queue), await send(queue)];
      await stopped;
      second = await startGateway({ port: first.port });
      const after = await send(queue);
      await until('the last job', () => created().includes(after));
      const live = before.slice(before.indexOf(created()[0]!));
      expect(created()).toEqual([...live, ...meanwhile, after]);
      expect(seen.map((event) => event.type)).toEqual(created().map(() => 'CREATED'));
      expect(new Set(seen.map((event) => event.cursor)).size).toBe(seen.length);
      expect(stream.cursor).toBe(seen.at(-1)!.cursor);
      expect(errors).toEqual([]);
    } finally {
      stream.stop();
      await stream.done;
      await first.stop();
      await second?.stop();
    }
  });

  it('resumes after its connection is cut mid-stream, then stops for good', async () => {
    const queue = 'events-cut';
    const proxy = await startProxy(sender.port);
    const { stream, seen, errors, drops, created } = follow(
      createProducer({ url: `http://127.0.0.1:${proxy.port}/graphql`, token: tenant.token, reconnect: RECONNECT }),
      { queue, types: ['CREATED'] },
    );
    try {
      const sent: string[] = [];
      await until('the stream to be live', async () => {
        sent.push(await send(queue));
        await sleep(50);
        return seen.length > 0;
      });
      const expected = sent.slice(sent.indexOf(created()[0]!));
      for (let cut = 0; cut < 3; cut++) {
        proxy.cut();
        for (let n = 0; n < 5; n++) expected.push(await send(queue));
        await until('the jobs sent since the cut', () => created().length === expected.length);
      }
      expect(created()).toEqual(expected);
      expect(drops.length).toBeGreaterThanOrEqual(3);
      expect(errors).toEqual([]);
      stream.stop();
      await stream.done;
      const count = seen.length;
      await send(queue);
      await sleep(200);
      expect(seen).toHaveLength(count);
    } finally {
      stream.stop();
      await proxy.close();
    }
  });

  it('ends for good with BAD_USER_INPUT for a cursor that is not one', async () => {
    const { stream, errors, drops } = follow(createProducer({ url: sender.graphqlUrl, token: tenant.token, reconnect: RECONNECT }), { after: 'not-a-cursor' });
    await stream.done;
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(JobgateError);
    expect(errors[0]).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(drops).toEqual([]);
  });
});

/** A database of its own: retention moves the clock days ahead. */
describe('an expired cursor', () => {
  const retention = useRetentionGateway();

  it('ends the stream for good with CURSOR_EXPIRED', async () => {
    const { gateway, tenant } = retention;
    const producer = createProducer({ url: gateway.graphqlUrl, token: tenant.token, reconnect: RECONNECT });
    const live = follow(producer, { queue: 'old' });
    await until('an event', async () => {
      await sendJob(gateway, tenant.token, 'old');
      await sleep(50);
      return live.seen.length > 0;
    });
    live.stream.stop();
    await live.stream.done;
    const cursor = live.stream.cursor!;
    await sendJob(gateway, tenant.token, 'old');
    // Three days on: today's partition, and the events after the cursor, are gone.
    await retention.retainAsIfLater(3);
    const resumed = follow(producer, { queue: 'old', after: cursor });
    await resumed.stream.done;
    expect(resumed.errors).toHaveLength(1);
    expect(resumed.errors[0]).toMatchObject({ name: 'JobgateError', code: 'CURSOR_EXPIRED' });
    expect(resumed.drops).toEqual([]);
    expect(resumed.seen).toEqual([]);
  });
});
