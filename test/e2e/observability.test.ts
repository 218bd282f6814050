import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { gqlData, httpGraphql, wsClient, wsExecute } from '../support/clients.ts';
import { useGateway, useTestTenant } from '../support/gateway.ts';
import { collect } from '../support/subscriptions.ts';

const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    done();
  },
});

const gateway = useGateway({ metricsToken: 'metrics-secret-0123456789' }, pino({ level: 'info', base: { service: 'jobgate' } }, sink));
const tenant = useTestTenant(gateway);

async function scrape(): Promise<string> {
  const response = await fetch(`${gateway.url}/metrics`, { headers: { authorization: 'Bearer metrics-secret-0123456789' } });
  expect(response.status).toBe(200);
  return response.text();
}

describe('observability', () => {
  it('serves Prometheus metrics behind the metrics token, with per-tenant series', async () => {
    expect((await fetch(`${gateway.url}/metrics`)).status).toBe(401);
    await gqlData(gateway.graphqlUrl, tenant.token, 'mutation { createQueue(name: "observed") { name } }');
    const worker = wsClient(gateway.wsUrl, { token: tenant.token });
    const sub = collect<{ workAssigned: { id: string } }>(worker, 'subscription { workAssigned(queues: ["observed"]) { id } }');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const id = (await gqlData<{ sendJob: { id: string } }>(gateway.graphqlUrl, tenant.token, 'mutation { sendJob(queue: "observed", data: {}) { id } }'))
      .sendJob.id;
    await sub.waitFor((d) => d.workAssigned.id === id);
    await wsExecute(worker, 'mutation($id: ID!) { completeJob(queue: "observed", id: $id) { id } }', { id });
    await httpGraphql(gateway.graphqlUrl, tenant.token, 'mutation { cancelJob(queue: "observed", id: "00000000-0000-0000-0000-000000000000") { id } }');

    const metrics = await scrape();
    const t = tenant.tenant.id;
    expect(metrics).toContain(`jobgate_ws_connections{tenant="${t}"} 1`);
    expect(metrics).toContain(`jobgate_subscriptions{tenant="${t}",field="workAssigned"} 1`);
    expect(metrics).toContain(`jobgate_jobs_sent_total{tenant="${t}",queue="observed"} 1`);
    expect(metrics).toContain(`jobgate_jobs_settled_total{tenant="${t}",queue="observed",outcome="complete"} 1`);
    expect(metrics).toContain(`jobgate_errors_total{tenant="${t}",code="NOT_FOUND"} 1`);
    expect(metrics).toMatch(new RegExp(`jobgate_operations_total\\{tenant="${t}",type="mutation",field="sendJob"\\} 1`));
    expect(metrics).toMatch(new RegExp(`jobgate_dispatch_latency_seconds_count\\{tenant="${t}"\\} 1`));
    expect(metrics).toContain('jobgate_listen_connected 1');
    expect(metrics).toContain('graphql_yoga_http_duration');
    sub.stop();
    await worker.dispose();
  });

  it('logs JSON lines with request id, tenant and operation, never tokens or job data', async () => {
    const marker = `secret-payload-${Date.now()}`;
    const response = await fetch(gateway.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.token}`, 'x-request-id': 'req-observability-1' },
      body: JSON.stringify({ query: 'mutation Publish($d: JSON) { sendJob(queue: "logged", data: $d) { id } }', variables: { d: { marker } } }),
    });
    expect(response.status).toBe(200);
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const entry = entries.find((e) => e.requestId === 'req-observability-1' && e.msg === 'operation');
    expect(entry).toMatchObject({ tenant: tenant.tenant.id, operation: 'Publish', type: 'mutation', fields: 'sendJob', transport: 'http' });
    const all = lines.join('\n');
    expect(all).not.toContain(tenant.token);
    expect(all).not.toContain(marker);
  });

  it('never logs a lease: not when it is pushed, used over HTTP, or refused as stale', async () => {
    const worker = wsClient(gateway.wsUrl, { token: tenant.token });
    const sub = collect<{ workAssigned: { id: string; lease: string } }>(worker, 'subscription { workAssigned(queues: ["leased-log"]) { id lease } }');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const { id } = (await gqlData<{ sendJob: { id: string } }>(gateway.graphqlUrl, tenant.token, 'mutation { sendJob(queue: "leased-log", data: {}) { id } }'))
      .sendJob;
    const { lease } = (await sub.waitFor((d) => d.workAssigned.id === id)).workAssigned;
    const complete = 'mutation Settle($id: ID!, $lease: String) { completeJob(queue: "leased-log", id: $id, lease: $lease) { id } }';
    expect((await httpGraphql(gateway.graphqlUrl, tenant.token, complete, { id, lease })).body.errors).toBeUndefined();
    const stale = await httpGraphql(gateway.graphqlUrl, tenant.token, complete, { id, lease });
    expect(stale.body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(lines.some((line) => line.includes('"operation":"Settle"'))).toBe(true);
    expect(lines.join('\n')).not.toContain(lease);
    sub.stop();
    await worker.dispose();
  });
});
