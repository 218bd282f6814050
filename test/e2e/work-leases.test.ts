import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client } from 'graphql-ws';
import { gqlData, httpGraphql, useWsClients, wsExecute } from '../support/clients.ts';
import { createTestTenant, startGateway, useTestClient, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { collect, sleep } from '../support/subscriptions.ts';

interface Assigned {
  workAssigned: { id: string; queue: string; retryCount: number; lease: string | null };
}

const WORK = 'subscription($queues: [String!]!, $concurrency: Int) { workAssigned(queues: $queues, concurrency: $concurrency) { id queue retryCount lease } }';
const SEND = 'mutation($queue: String!, $data: JSON) { sendJob(queue: $queue, data: $data) { id lease } }';
const COMPLETE =
  'mutation($queue: String!, $id: ID!, $output: JSON, $lease: String) { completeJob(queue: $queue, id: $id, output: $output, lease: $lease) { id state output } }';
const COMPLETE_MANY =
  'mutation($queue: String!, $ids: [ID!]!, $lease: [String!]) { completeJobs(queue: $queue, ids: $ids, lease: $lease) { requested affected } }';
const FAIL = 'mutation($queue: String!, $id: ID!, $lease: String) { failJob(queue: $queue, id: $id, error: "failed on purpose", lease: $lease) { id state } }';
const TOUCH = 'mutation($queue: String!, $id: ID!, $lease: String) { touchJob(queue: $queue, id: $id, lease: $lease) { id state } }';
const JOB = 'query($queue: String!, $id: ID!) { job(queue: $queue, id: $id) { id state lease } }';

let gateway: TestGateway;
let other: TestGateway;
let tenant: TestTenant;
const sql = useTestClient();
const wsClientFor = useWsClients();
const worker = (on: TestGateway = gateway, token = tenant.token): Client => wsClientFor(on.wsUrl, token);

async function send(queue: string, data: Record<string, unknown> = {}, token = tenant.token): Promise<string> {
  return (await gqlData<{ sendJob: { id: string; lease: string | null } }>(gateway.graphqlUrl, token, SEND, { queue, data })).sendJob.id;
}

async function jobRow(queue: string, id: string, owner: TestTenant = tenant): Promise<{ state: string; retry_count: number; output: unknown }> {
  const { rows } = await sql.query('SELECT state, retry_count, output FROM pgboss.job WHERE name = $1 AND id = $2', [`${owner.tenant.id}/${queue}`, id]);
  return rows[0];
}

/** A worker connection on `queue` with the first job pushed to it. */
async function pushedJob(queue: string, on: TestGateway = gateway): Promise<{ socket: Client; job: Assigned['workAssigned']; stop: () => void }> {
  const socket = worker(on);
  const sub = collect<Assigned>(socket, WORK, { queues: [queue], concurrency: 1 });
  const id = await send(queue, { n: 1 });
  const pushed = await sub.waitFor((d) => d.workAssigned.id === id);
  return { socket, job: pushed.workAssigned, stop: sub.stop };
}

const http = (query: string, variables: Record<string, unknown>, token = tenant.token) => httpGraphql(gateway.graphqlUrl, token, query, variables);
const codes = (response: { body: { errors?: { extensions?: { code?: string } }[] } }) => (response.body.errors ?? []).map((error) => error.extensions?.code);

beforeAll(async () => {
  [gateway, other] = await Promise.all([startGateway(), startGateway()]);
  tenant = await createTestTenant(gateway);
});

afterAll(async () => {
  await Promise.all([gateway.stop(), other.stop()]);
});

describe('lease tokens', () => {
  it('a job received over graphql-ws is completed over HTTP with its lease, on another instance', async () => {
    const { job, stop } = await pushedJob('lease-http');
    expect(job.lease).toEqual(expect.any(String));
    // Without the lease, HTTP is not the holder.
    expect(codes(await http(COMPLETE, { queue: 'lease-http', id: job.id, output: { via: 'http' } }))).toEqual(['CONFLICT']);
    const done = await httpGraphql(other.graphqlUrl, tenant.token, COMPLETE, { queue: 'lease-http', id: job.id, output: { via: 'http' }, lease: job.lease });
    expect(done.body).toEqual({ data: { completeJob: { id: job.id, state: 'COMPLETED', output: { via: 'http' } } } });
    expect(await jobRow('lease-http', job.id)).toMatchObject({ state: 'completed', retry_count: 0 });
    expect((await sql.query('SELECT 1 FROM job_lease WHERE job_id = $1', [job.id])).rowCount).toBe(0);
    stop();
  });

  it('only the holder sees the lease: the same job read over HTTP or from another socket has none', async () => {
    const { job, stop } = await pushedJob('lease-visible');
    expect((await gqlData(gateway.graphqlUrl, tenant.token, JOB, { queue: 'lease-visible', id: job.id })).job).toEqual({
      id: job.id,
      state: 'ACTIVE',
      lease: null,
    });
    expect((await wsExecute(worker(), JOB, { queue: 'lease-visible', id: job.id })).data?.job).toEqual({ id: job.id, state: 'ACTIVE', lease: null });
    stop();
  });

  it('a lease used away from its socket keeps the job when the socket closes; without use it is failed back at once', async () => {
    const first = await pushedJob('lease-detach');
    const second = await pushedJob('lease-detach');
    // The first job's lease is used over HTTP (a heartbeat from the process working it), the second's never.
    expect((await http(TOUCH, { queue: 'lease-detach', id: first.job.id, lease: first.job.lease })).body.data).toEqual({
      touchJob: { id: first.job.id, state: 'ACTIVE' },
    });
    await Promise.all([first.socket.dispose(), second.socket.dispose()]);
    const deadline = Date.now() + 10_000;
    while ((await jobRow('lease-detach', second.job.id)).state === 'active' && Date.now() < deadline) await sleep(50);
    expect(await jobRow('lease-detach', second.job.id)).toMatchObject({ state: 'retry' });
    expect(await jobRow('lease-detach', first.job.id)).toMatchObject({ state: 'active', retry_count: 0 });
    const done = await http(COMPLETE, { queue: 'lease-detach', id: first.job.id, output: { late: true }, lease: first.job.lease });
    expect(done.body.data).toEqual({ completeJob: { id: first.job.id, state: 'COMPLETED', output: { late: true } } });
  });

  it('a stale lease (the job failed back and pushed again) or a forged one is CONFLICT and changes nothing', async () => {
    const { job, socket } = await pushedJob('lease-stale');
    await socket.dispose();
    // Failed back at once (the lease was never used elsewhere) and pushed to the next worker at attempt 1.
    const next = worker();
    const sub = collect<Assigned>(next, WORK, { queues: ['lease-stale'], concurrency: 1 });
    const again = (await sub.waitFor((d) => d.workAssigned.id === job.id, 10_000)).workAssigned;
    expect(again.retryCount).toBe(1);
    expect(again.lease).not.toBe(job.lease);
    expect(codes(await http(COMPLETE, { queue: 'lease-stale', id: job.id, lease: job.lease }))).toEqual(['CONFLICT']);
    expect(codes(await http(FAIL, { queue: 'lease-stale', id: job.id, lease: job.lease }))).toEqual(['CONFLICT']);
    const forged = Buffer.from(`${job.lease}`, 'base64url');
    forged.writeUInt8(forged.readUInt8(forged.length - 1) ^ 1, forged.length - 1);
    expect(codes(await http(COMPLETE, { queue: 'lease-stale', id: job.id, lease: forged.toString('base64url') }))).toEqual(['CONFLICT']);
    expect(codes(await http(COMPLETE, { queue: 'lease-stale', id: job.id, lease: 'not-a-lease' }))).toEqual(['CONFLICT']);
    expect(await jobRow('lease-stale', job.id)).toMatchObject({ state: 'active', retry_count: 1 });
    // The current lease still works, over the holder's own socket too.
    const done = await wsExecute(next, COMPLETE, { queue: 'lease-stale', id: job.id, lease: again.lease });
    expect(done.data).toEqual({ completeJob: { id: job.id, state: 'COMPLETED', output: null } });
    sub.stop();
  });

  it('completeJobs takes one lease per id, in order', async () => {
    const socket = worker();
    const sub = collect<Assigned>(socket, WORK, { queues: ['lease-batch'], concurrency: 3 });
    const ids = [await send('lease-batch'), await send('lease-batch'), await send('lease-batch')];
    for (const id of ids) await sub.waitFor((d) => d.workAssigned.id === id);
    const leaseOf = new Map(sub.results.map((r) => [r.data!.workAssigned.id, r.data!.workAssigned.lease]));
    const mismatched = await http(COMPLETE_MANY, { queue: 'lease-batch', ids, lease: [leaseOf.get(ids[0]!)] });
    expect(codes(mismatched)).toEqual(['BAD_USER_INPUT']);
    const swapped = await http(COMPLETE_MANY, { queue: 'lease-batch', ids: [ids[0], ids[1]], lease: [leaseOf.get(ids[1]!), leaseOf.get(ids[0]!)] });
    expect(swapped.body.data).toEqual({ completeJobs: { requested: 2, affected: 0 } });
    const done = await http(COMPLETE_MANY, { queue: 'lease-batch', ids, lease: ids.map((id) => leaseOf.get(id)) });
    expect(done.body.data).toEqual({ completeJobs: { requested: 3, affected: 3 } });
    for (const id of ids) expect((await jobRow('lease-batch', id)).state).toBe('completed');
    sub.stop();
  });

  it("another tenant's lease behaves as an unknown job: NOT_FOUND, the job untouched", async () => {
    const { job, stop } = await pushedJob('shared-name');
    const intruder = await createTestTenant(gateway);
    await send('shared-name', { own: true }, intruder.token);
    const withLease = await http(COMPLETE, { queue: 'shared-name', id: job.id, lease: job.lease }, intruder.token);
    const unknownId = await http(COMPLETE, { queue: 'shared-name', id: '01234567-89ab-7def-8123-456789abcdef', lease: job.lease }, intruder.token);
    expect(codes(withLease)).toEqual(['NOT_FOUND']);
    expect(withLease.body.errors?.[0]?.message.replace(job.id, '<id>')).toBe(
      unknownId.body.errors?.[0]?.message.replace('01234567-89ab-7def-8123-456789abcdef', '<id>'),
    );
    expect(await jobRow('shared-name', job.id)).toMatchObject({ state: 'active', retry_count: 0 });
    stop();
  });

  it('the lease of a job already settled, or failed back and still waiting, is CONFLICT for every settle', async () => {
    const PROGRESS = 'mutation($queue: String!, $id: ID!, $lease: String) { reportProgress(queue: $queue, id: $id, progress: 1, lease: $lease) { id } }';
    const settled = await pushedJob('lease-after');
    expect((await wsExecute(settled.socket, COMPLETE, { queue: 'lease-after', id: settled.job.id })).errors).toBeUndefined();
    const settledLease = { queue: 'lease-after', id: settled.job.id, lease: settled.job.lease };
    for (const query of [COMPLETE, FAIL, TOUCH, PROGRESS]) expect(codes(await http(query, settledLease))).toEqual(['CONFLICT']);
    expect(await jobRow('lease-after', settled.job.id)).toMatchObject({ state: 'completed' });
    settled.stop();

    const { socket, job } = await pushedJob('lease-waiting');
    await socket.dispose();
    const deadline = Date.now() + 10_000;
    while ((await jobRow('lease-waiting', job.id)).state === 'active' && Date.now() < deadline) await sleep(50);
    // Failed back and no worker left to take it: it waits for its next attempt (pg-boss counts it when it starts).
    expect(await jobRow('lease-waiting', job.id)).toMatchObject({ state: 'retry', retry_count: 0 });
    const waitingLease = { queue: 'lease-waiting', id: job.id, lease: job.lease };
    for (const query of [COMPLETE, FAIL, TOUCH, PROGRESS]) expect(codes(await http(query, waitingLease))).toEqual(['CONFLICT']);
    expect(await jobRow('lease-waiting', job.id)).toMatchObject({ state: 'retry', retry_count: 0 });
  });
});
