import { describe, expect, it } from '@jest/globals';
import { wsClient, wsExecute } from '../support/clients.ts';
import { useJobsFixture } from '../support/jobs.ts';

const JOB = '{ id state output }';
const CANCEL = `mutation ($queue: String!, $id: ID!) { cancelJob(queue: $queue, id: $id) ${JOB} }`;
const RESUME = `mutation ($queue: String!, $id: ID!) { resumeJob(queue: $queue, id: $id) ${JOB} }`;
const RETRY = `mutation ($queue: String!, $id: ID!) { retryJob(queue: $queue, id: $id) ${JOB} }`;
const TOUCH = `mutation ($queue: String!, $id: ID!) { touchJob(queue: $queue, id: $id) ${JOB} }`;
const COMPLETE = `mutation ($queue: String!, $id: ID!, $output: JSON) { completeJob(queue: $queue, id: $id, output: $output) ${JOB} }`;
const FAIL = `mutation ($queue: String!, $id: ID!, $error: JSON) { failJob(queue: $queue, id: $id, error: $error) ${JOB} }`;
const DELETE = 'mutation ($queue: String!, $id: ID!) { deleteJob(queue: $queue, id: $id) }';
const REMOVE = 'mutation ($queue: String!, $id: ID!) { removeJob(queue: $queue, id: $id) { __typename id queue } }';
const ERROR_OF = 'query ($queue: String!, $id: ID!) { job(queue: $queue, id: $id) { state output error } }';
/** A batch command: cancelJobs, resumeJobs, retryJobs, deleteJobs. */
const MANY = (command: string) => `mutation ($queue: String!, $ids: [ID!]!) { ${command}(queue: $queue, ids: $ids) { requested affected } }`;
const COMPLETE_MANY =
  'mutation ($queue: String!, $ids: [ID!]!, $output: JSON) { completeJobs(queue: $queue, ids: $ids, output: $output) { requested affected } }';

const f = useJobsFixture();

const stateOf = async (id: string): Promise<string | undefined> => (await f.tables.job(id))?.state;

/** Sends a job and lets an outside pg-boss worker take it: active in pg-boss. */
async function activeJob(queue: string, options?: object): Promise<string> {
  const id = await f.api.sendJob(queue, { work: true }, options);
  const [job] = await f.boss.fetch(f.qualified(queue));
  expect(job?.id).toBe(id);
  return id;
}

/** A job whose only attempt failed: state failed in pg-boss. */
async function failedJob(queue: string): Promise<string> {
  const id = await activeJob(queue, { retryLimit: 0 });
  await f.boss.fail(f.qualified(queue), id, { reason: 'boom' });
  expect(await stateOf(id)).toBe('failed');
  return id;
}

describe('cancelJob, resumeJob, retryJob, deleteJob', () => {
  it('cancels a queued job in pg-boss, then CONFLICT when it is already cancelled', async () => {
    const queue = f.queueName('cancel');
    const id = await f.api.sendJob(queue);
    expect(await f.api.data(CANCEL, { queue, id })).toEqual({ cancelJob: { id, state: 'CANCELLED', output: null } });
    expect(await f.tables.job(id)).toMatchObject({ state: 'cancelled', completed_on: expect.any(Date) });
    expect(await f.boss.fetch(f.qualified(queue))).toEqual([]);

    expect(await f.api.errorCode(CANCEL, { queue, id })).toBe('CONFLICT');
    expect(await stateOf(id)).toBe('cancelled');
  });

  it('cancels an active job', async () => {
    const queue = f.queueName('cancel-active');
    const id = await activeJob(queue);
    await f.api.data(CANCEL, { queue, id });
    expect(await stateOf(id)).toBe('cancelled');
  });

  it('resumes a cancelled job so a worker gets it, CONFLICT for a job that is not cancelled', async () => {
    const queue = f.queueName('resume');
    const id = await f.api.sendJob(queue);
    expect(await f.api.errorCode(RESUME, { queue, id })).toBe('CONFLICT');
    await f.api.data(CANCEL, { queue, id });

    expect(await f.api.data(RESUME, { queue, id })).toEqual({ resumeJob: { id, state: 'CREATED', output: null } });
    expect(await f.tables.job(id)).toMatchObject({ state: 'created', completed_on: null });
    expect((await f.boss.fetch(f.qualified(queue)))[0]?.id).toBe(id);
  });

  it('retries a failed job so a worker gets it again, CONFLICT for a job that has not failed', async () => {
    const queue = f.queueName('retry');
    const queued = await f.api.sendJob(queue);
    expect(await f.api.errorCode(RETRY, { queue, id: queued })).toBe('CONFLICT');
    await f.api.data(CANCEL, { queue, id: queued });

    const id = await failedJob(queue);
    expect(await f.api.data(RETRY, { queue, id })).toMatchObject({ retryJob: { id, state: 'RETRY' } });
    expect(await f.tables.job(id)).toMatchObject({ state: 'retry', retry_limit: 1 });
    expect((await f.boss.fetch(f.qualified(queue)))[0]?.id).toBe(id);
  });

  it('deletes a job from pg-boss, then NOT_FOUND', async () => {
    const queue = f.queueName('delete');
    const id = await f.api.sendJob(queue);
    const kept = await f.api.sendJob(queue);
    expect(await f.api.data(DELETE, { queue, id })).toEqual({ deleteJob: true });
    expect(await f.tables.job(id)).toBeUndefined();
    expect(await stateOf(kept)).toBe('created');
    expect(await f.api.errorCode(DELETE, { queue, id })).toBe('NOT_FOUND');
  });

  it('removeJob deletes a job and returns what a client cache needs to evict it, then NOT_FOUND', async () => {
    const queue = f.queueName('remove');
    const id = await f.api.sendJob(queue);
    const kept = await f.api.sendJob(queue);
    expect(await f.api.data(REMOVE, { queue, id })).toEqual({ removeJob: { __typename: 'DeletedJob', id, queue } });
    expect(await f.tables.job(id)).toBeUndefined();
    expect(await stateOf(kept)).toBe('created');
    expect(await f.api.errorCode(REMOVE, { queue, id })).toBe('NOT_FOUND');
  });

  it('shows why a job failed in Job.error while it is FAILED or waiting to RETRY, null otherwise', async () => {
    const queue = f.queueName('errors');
    const failed = await failedJob(queue);
    expect(await f.api.data(ERROR_OF, { queue, id: failed })).toEqual({ job: { state: 'FAILED', output: { reason: 'boom' }, error: { reason: 'boom' } } });

    const retrying = await activeJob(queue, { retryLimit: 2, retryDelay: 3600 });
    await f.boss.fail(f.qualified(queue), retrying, { reason: 'again' });
    expect(await f.api.data(ERROR_OF, { queue, id: retrying })).toEqual({ job: { state: 'RETRY', output: { reason: 'again' }, error: { reason: 'again' } } });

    const completed = await activeJob(queue);
    await f.boss.complete(f.qualified(queue), completed, { done: 1 });
    expect(await f.api.data(ERROR_OF, { queue, id: completed })).toEqual({ job: { state: 'COMPLETED', output: { done: 1 }, error: null } });
    expect((await f.api.data<{ job: { error: unknown } }>(ERROR_OF, { queue, id: await f.api.sendJob(queue) })).job.error).toBeNull();
  });

  it.each([
    ['cancelJob', CANCEL],
    ['resumeJob', RESUME],
    ['retryJob', RETRY],
    ['deleteJob', DELETE],
    ['removeJob', REMOVE],
    ['completeJob', COMPLETE],
    ['failJob', FAIL],
    ['touchJob', TOUCH],
  ])('%s answers NOT_FOUND for an unknown id, a malformed id and an unknown queue', async (_name, mutation) => {
    const queue = f.queueName('unknown-ids');
    const existing = await f.api.sendJob(queue);
    expect(await f.api.errorCode(mutation, { queue, id: crypto.randomUUID() })).toBe('NOT_FOUND');
    expect(await f.api.errorCode(mutation, { queue, id: 'not-a-uuid' })).toBe('NOT_FOUND');
    // A real job id, asked of another (missing) queue.
    const missingQueue = f.queueName('no-such-queue');
    expect(await f.api.errorCode(mutation, { queue: missingQueue, id: existing })).toBe('NOT_FOUND');
    expect(await f.tables.queue(f.qualified(missingQueue))).toBeUndefined();
    expect(await stateOf(existing)).toBe('created');
  });
});

describe('batch commands', () => {
  it('cancelJobs, resumeJobs, retryJobs, deleteJobs change only the fitting jobs and count them', async () => {
    const queue = f.queueName('batch-commands');
    const a = await f.api.sendJob(queue, { n: 'a' });
    const b = await f.api.sendJob(queue, { n: 'b' });
    const c = await f.api.sendJob(queue, { n: 'c' });
    const unknown = crypto.randomUUID();

    expect(await f.api.data(MANY('cancelJobs'), { queue, ids: [a, b, unknown] })).toEqual({ cancelJobs: { requested: 3, affected: 2 } });
    expect([await stateOf(a), await stateOf(b), await stateOf(c)]).toEqual(['cancelled', 'cancelled', 'created']);

    expect(await f.api.data(MANY('resumeJobs'), { queue, ids: [a, c] })).toEqual({ resumeJobs: { requested: 2, affected: 1 } });
    expect([await stateOf(a), await stateOf(b), await stateOf(c)]).toEqual(['created', 'cancelled', 'created']);

    const retryQueue = f.queueName('batch-retry');
    const x = await failedJob(retryQueue);
    const y = await failedJob(retryQueue);
    const z = await f.api.sendJob(retryQueue);
    const elsewhere = await failedJob(f.queueName('batch-retry-other'));
    expect(await f.api.data(MANY('retryJobs'), { queue: retryQueue, ids: [x, y, z, elsewhere] })).toEqual({ retryJobs: { requested: 4, affected: 2 } });
    expect([await stateOf(x), await stateOf(y), await stateOf(z), await stateOf(elsewhere)]).toEqual(['retry', 'retry', 'created', 'failed']);

    expect(await f.api.data(MANY('deleteJobs'), { queue, ids: [a, b, 'not-a-uuid'] })).toEqual({ deleteJobs: { requested: 3, affected: 2 } });
    expect((await f.tables.jobsIn(f.qualified(queue))).map((row) => row.id)).toEqual([c]);
  });

  it('answers NOT_FOUND for an unknown queue', async () => {
    for (const command of ['cancelJobs', 'resumeJobs', 'retryJobs', 'deleteJobs']) {
      expect(await f.api.errorCode(MANY(command), { queue: f.queueName('nowhere'), ids: [crypto.randomUUID()] })).toBe('NOT_FOUND');
    }
  });
});

describe('completeJob, failJob, completeJobs, touchJob', () => {
  it('completes an active job with its output, then CONFLICT', async () => {
    const queue = f.queueName('complete');
    const id = await activeJob(queue);
    expect(await f.api.data(COMPLETE, { queue, id, output: { sent: 3, to: ['a', 'b'] } })).toEqual({
      completeJob: { id, state: 'COMPLETED', output: { sent: 3, to: ['a', 'b'] } },
    });
    expect(await f.tables.job(id)).toMatchObject({ state: 'completed', output: { sent: 3, to: ['a', 'b'] }, completed_on: expect.any(Date) });
    expect(await f.api.errorCode(COMPLETE, { queue, id, output: { again: true } })).toBe('CONFLICT');
    expect((await f.tables.job(id))?.output).toEqual({ sent: 3, to: ['a', 'b'] });
  });

  it('refuses to complete or fail a job no worker holds (CONFLICT), leaving it queued', async () => {
    const queue = f.queueName('settle-queued');
    const id = await f.api.sendJob(queue);
    expect(await f.api.errorCode(COMPLETE, { queue, id, output: { done: true } })).toBe('CONFLICT');
    expect(await f.api.errorCode(FAIL, { queue, id, error: { nope: true } })).toBe('CONFLICT');
    expect(await f.tables.job(id)).toMatchObject({ state: 'created', output: null, retry_count: 0 });
  });

  it('fails an active job with its error: retry while retries remain, then failed', async () => {
    const queue = f.queueName('fail');
    const id = await activeJob(queue, { retryLimit: 1 });
    expect(await f.api.data(FAIL, { queue, id, error: { code: 'E_TIMEOUT' } })).toEqual({ failJob: { id, state: 'RETRY', output: { code: 'E_TIMEOUT' } } });
    expect(await f.tables.job(id)).toMatchObject({ state: 'retry', output: { code: 'E_TIMEOUT' } });

    expect((await f.boss.fetch(f.qualified(queue)))[0]?.id).toBe(id);
    await f.api.data(FAIL, { queue, id, error: 'still broken' });
    expect(await f.tables.job(id)).toMatchObject({ state: 'failed', output: { message: 'still broken' } });
  });

  it('completeJobs completes the active jobs of a batch with one output', async () => {
    const queue = f.queueName('complete-many');
    const a = await activeJob(queue);
    const b = await activeJob(queue);
    const queued = await f.api.sendJob(queue);
    expect(await f.api.data(COMPLETE_MANY, { queue, ids: [a, b, queued], output: { batch: 1 } })).toEqual({
      completeJobs: { requested: 3, affected: 2 },
    });
    expect(await f.tables.job(a)).toMatchObject({ state: 'completed', output: { batch: 1 } });
    expect(await f.tables.job(b)).toMatchObject({ state: 'completed', output: { batch: 1 } });
    expect(await f.tables.job(queued)).toMatchObject({ state: 'created', output: null });
  });

  it('answers many concurrent settlements of jobs nobody may settle (more than the pool has connections)', async () => {
    const queue = f.queueName('settle-flood');
    const queued = await f.api.sendJob(queue);
    // Each of these looks the queue up inside its settlement transaction: 40 at once against a pool of 10.
    // One graphql-ws connection: its operations run side by side, unlike HTTP requests queued on a few sockets.
    const client = wsClient(f.gateway.wsUrl, { token: f.tenant.token });
    try {
      const answers = await Promise.all(
        Array.from({ length: 40 }, () =>
          wsExecute<{ completeJobs: { affected: number } }>(client, COMPLETE_MANY, { queue, ids: [queued, crypto.randomUUID()] }),
        ),
      );
      expect(answers.map((answer) => answer.data?.completeJobs.affected)).toEqual(Array.from({ length: 40 }, () => 0));
    } finally {
      await client.dispose();
    }
    expect(await f.api.errorCode(COMPLETE_MANY, { queue: f.queueName('nowhere'), ids: [crypto.randomUUID()] })).toBe('NOT_FOUND');
  });

  it("touchJob renews an active job's heartbeat, CONFLICT for a job that is not active", async () => {
    const queue = f.queueName('touch');
    const id = await activeJob(queue, { heartbeatSeconds: 60 });
    await f.tables.sql.query(`UPDATE pgboss.job SET heartbeat_on = now() - interval '50 seconds' WHERE id = $1`, [id]);
    const stale = (await f.tables.job(id))!.heartbeat_on!;

    expect(await f.api.data(TOUCH, { queue, id })).toMatchObject({ touchJob: { id, state: 'ACTIVE' } });
    const touched = (await f.tables.job(id))!;
    expect(touched.state).toBe('active');
    expect(touched.heartbeat_on!.getTime()).toBeGreaterThan(stale.getTime());

    const queued = await f.api.sendJob(queue);
    expect(await f.api.errorCode(TOUCH, { queue, id: queued })).toBe('CONFLICT');
  });
});
