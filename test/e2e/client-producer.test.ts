import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createProducer, createWorker, JobFailure, JobgateError, type Producer } from '@jobgate/client';
import { loadConfig } from '../../src/config.ts';
import { createTestTenant, startGateway, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { sleep } from '../support/subscriptions.ts';

let gateway: TestGateway;
let tenant: TestTenant;
let producer: Producer;

/** What a promise rejected with (fails the test when it resolved). */
async function rejection(promise: Promise<unknown>): Promise<JobgateError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof JobgateError)) throw new Error(`expected a JobgateError, got ${String(error)}`);
  return error;
}

/** Works the job once with a handler that throws, then stops the worker. */
async function failForGood(queue: string, id: string): Promise<void> {
  const worker = createWorker({
    url: gateway.wsUrl,
    token: tenant.token,
    queues: [queue],
    handler: () => {
      throw new JobFailure('no');
    },
    onError: () => {},
  });
  try {
    const deadline = Date.now() + 10_000;
    while ((await producer.getJob(queue, id))?.state !== 'FAILED') {
      if (Date.now() > deadline) throw new Error('the job did not fail in time');
      await sleep(50);
    }
  } finally {
    await worker.stop();
  }
}

beforeAll(async () => {
  gateway = await startGateway();
  tenant = await createTestTenant(gateway);
  producer = createProducer({ url: gateway.graphqlUrl, token: tenant.token });
});

afterAll(async () => {
  await gateway.stop();
});

describe('producer client', () => {
  it('sends a job and reads it back', async () => {
    const sent = await producer.send('producer-basic', { to: 'a@example.com' }, { priority: 3, retryLimit: 1 });
    expect(sent).toEqual({ id: expect.any(String), queue: 'producer-basic', state: 'CREATED' });
    const job = await producer.getJob('producer-basic', sent!.id);
    expect(job).toMatchObject({
      id: sent!.id,
      queue: 'producer-basic',
      state: 'CREATED',
      data: { to: 'a@example.com' },
      priority: 3,
      retryLimit: 1,
      retryCount: 0,
    });
    expect(await producer.getJob('producer-basic', '00000000-0000-4000-8000-000000000000')).toBeNull();
  });

  it('answers null for a send a singleton rule suppressed', async () => {
    const options = { singletonKey: 'only-one', singletonSeconds: 60 };
    expect(await producer.send('producer-singleton', { n: 1 }, options)).not.toBeNull();
    expect(await producer.send('producer-singleton', { n: 2 }, options)).toBeNull();
  });

  it('sends a batch and answers its ids in input order', async () => {
    const ids = await producer.sendMany('producer-batch', [{ data: { n: 0 } }, { data: { n: 1 }, options: { priority: 5 } }, { data: { n: 2 } }]);
    expect(ids).toHaveLength(3);
    const jobs = await Promise.all(ids.map((id) => producer.getJob('producer-batch', id)));
    expect(jobs.map((job) => job?.data)).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
    expect(jobs[1]?.priority).toBe(5);
  });

  it('cancels, resumes and deletes a job', async () => {
    const sent = await producer.send('producer-commands', { n: 1 });
    expect(await producer.cancel('producer-commands', sent!.id)).toEqual({ id: sent!.id, queue: 'producer-commands', state: 'CANCELLED' });
    expect(await producer.resume('producer-commands', sent!.id)).toEqual({ id: sent!.id, queue: 'producer-commands', state: 'CREATED' });
    expect(await producer.delete('producer-commands', sent!.id)).toBe(true);
    expect(await producer.getJob('producer-commands', sent!.id)).toBeNull();
    expect((await rejection(producer.delete('producer-commands', sent!.id))).code).toBe('NOT_FOUND');
  });

  it('retries a failed job', async () => {
    const sent = await producer.send('producer-retry', { n: 1 }, { retryLimit: 0 });
    await failForGood('producer-retry', sent!.id);
    expect(await producer.retry('producer-retry', sent!.id)).toEqual({ id: sent!.id, queue: 'producer-retry', state: 'RETRY' });
  });

  it('rejects with JobgateError carrying extensions.code and the HTTP status', async () => {
    const badInput = await rejection(producer.sendMany('producer-errors', [{ data: 'not an object' }]));
    expect({ code: badInput.code, name: badInput.name }).toEqual({ code: 'BAD_USER_INPUT', name: 'JobgateError' });
    expect(badInput.errors[0]?.message).toBe(badInput.message);

    const refused = await rejection(createProducer({ url: gateway.graphqlUrl, token: 'jg_not-a-real-token-at-all' }).send('producer-errors', {}));
    expect({ code: refused.code, status: refused.status }).toEqual({ code: 'UNAUTHENTICATED', status: 401 });

    const readOnly = await createTestTenant(gateway, ['READ']);
    const forbidden = await rejection(createProducer({ url: gateway.graphqlUrl, token: readOnly.token }).send('producer-errors', {}));
    expect(forbidden.code).toBe('FORBIDDEN');
  });

  it('reports RATE_LIMITED (429) when the tenant is over its operation rate', async () => {
    // A default rate of 1/s made a quota (by default it is a share, refused only while the instance is busy).
    const limited = await startGateway({ tenantLimits: { ...loadConfig({}).tenantLimits, operationsPerSecond: 1 }, defaultRateIsQuota: true });
    try {
      // Retries off, so that the refusal itself reaches the caller.
      const noisy = createProducer({ url: limited.graphqlUrl, token: (await createTestTenant(limited)).token, sendAttempts: 1 });
      const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, n) => noisy.send('producer-rate', { n })));
      const errors = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
      expect(errors.length).toBeGreaterThan(0);
      for (const error of errors) expect(error).toMatchObject({ name: 'JobgateError', code: 'RATE_LIMITED', status: 429 });
    } finally {
      await limited.stop();
    }
  });

  it('sends idempotently: a send whose answer was lost is retried and stores the job once', async () => {
    let calls = 0;
    const lossy = createProducer({
      url: gateway.graphqlUrl,
      token: tenant.token,
      fetchImpl: async (url, init) => {
        const response = await fetch(url, init);
        // The first answer never arrives, as when a gateway dies after the commit.
        if (++calls === 1) throw new TypeError('fetch failed: socket closed');
        return response;
      },
    });
    const sent = await lossy.send('producer-idempotent', { n: 1 });
    expect(sent).toMatchObject({ queue: 'producer-idempotent', state: 'CREATED' });
    expect(calls).toBeGreaterThanOrEqual(2);
    const { rows } = await gateway.services.pool.query('SELECT id FROM pgboss.job WHERE name = $1', [`${tenant.tenant.id}/producer-idempotent`]);
    expect(rows.map((row: { id: string }) => row.id)).toEqual([sent!.id]);
  });

  it('takes a fetch implementation', async () => {
    const seen: string[] = [];
    const traced = createProducer({
      url: gateway.graphqlUrl,
      token: tenant.token,
      fetchImpl: (url, init) => {
        seen.push(`${init.method} ${url} ${init.headers.authorization === `Bearer ${tenant.token}`}`);
        return fetch(url, init);
      },
    });
    expect(await traced.send('producer-fetch', { n: 1 })).not.toBeNull();
    expect(seen).toEqual([`POST ${gateway.graphqlUrl} true`]);
  });

  it('rejects a non-GraphQL answer with its HTTP status', async () => {
    const proxy = createProducer({
      url: 'http://gateway.invalid/graphql',
      token: 't',
      fetchImpl: async () => new Response('<html>Bad gateway</html>', { status: 502 }),
    });
    expect(await rejection(proxy.getJob('q', 'id'))).toMatchObject({ code: undefined, status: 502 });
  });
});
