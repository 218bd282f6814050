import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { httpGraphql, wsClient, wsExecute } from '../support/clients.ts';
import { useGateway, useTestTenant } from '../support/gateway.ts';
import { parseSamples, sumOf, type Sample } from '../support/prometheus.ts';

// Variables that do not coerce to their types are the client's error: so
// they are answered, counted and logged.

const MARK = `coerce${Date.now().toString(36)}`;
const entries: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of String(chunk).split('\n').filter(Boolean)) entries.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});

const gateway = useGateway({}, pino({ level: 'debug', base: { service: 'jobgate' } }, sink));
const tenant = useTestTenant(gateway);

async function scrape(): Promise<Sample[]> {
  return parseSamples(await (await fetch(gateway.metricsUrl)).text());
}

/** Each does not coerce: a string for an Int, a bad DateTime deep in an input object, a missing required variable. */
const BAD: [string, Record<string, unknown>][] = [
  ['query($n: Int) { jobs(queue: "q", first: $n) { nodes { id } } }', { n: MARK }],
  ['mutation($o: JobOptionsInput) { sendJob(queue: "q", data: {}, options: $o) { id } }', { o: { startAfter: MARK } }],
  ['query($q: String!) { queue(name: $q) { name } }', {}],
];

describe('variables that do not coerce', () => {
  it('are BAD_USER_INPUT (400) over HTTP, counted as such and as 4xx, never logged as server faults', async () => {
    const before = await scrape();
    for (const [query, variables] of BAD) {
      const { status, body } = await httpGraphql(gateway.graphqlUrl, tenant.token, query, variables);
      expect({ query, status, codes: body.errors?.map((e) => e.extensions?.code) }).toEqual({ query, status: 400, codes: ['BAD_USER_INPUT'] });
    }
    const after = await scrape();
    const errors = (code: string) =>
      sumOf(after, 'jobgate_errors_total', { tenant: tenant.tenant.id, code }) - sumOf(before, 'jobgate_errors_total', { tenant: tenant.tenant.id, code });
    expect(errors('BAD_USER_INPUT')).toBe(BAD.length);
    expect(errors('INTERNAL_SERVER_ERROR')).toBe(0);
    const answered = (status: string) =>
      sumOf(after, 'jobgate_http_request_duration_seconds_count', { route: '/graphql', status }) -
      sumOf(before, 'jobgate_http_request_duration_seconds_count', { route: '/graphql', status });
    expect(answered('4xx')).toBe(BAD.length);
    expect(answered('5xx')).toBe(0);
    // Nothing at error level; and the values (the client's variables) are in no log line.
    expect(entries.filter((entry) => Number(entry.level) >= 50)).toEqual([]);
    expect(entries.filter((entry) => JSON.stringify(entry).includes(MARK))).toEqual([]);
  });

  it('are BAD_USER_INPUT over graphql-ws, for operations and subscriptions alike', async () => {
    const client = wsClient(gateway.wsUrl, { token: tenant.token });
    try {
      for (const [query, variables] of [...BAD, ['subscription($t: [JobEventType!]) { jobEvents(types: $t) { jobId } }', { t: [MARK] }] as const]) {
        const refused = await wsExecute(client, query, variables).catch((errors: unknown) => ({ errors: errors as { extensions?: { code?: string } }[] }));
        expect({ query, codes: refused.errors?.map((e) => e.extensions?.code) }).toEqual({ query, codes: ['BAD_USER_INPUT'] });
      }
    } finally {
      await client.dispose();
    }
    expect(entries.filter((entry) => Number(entry.level) >= 50)).toEqual([]);
  });
});
