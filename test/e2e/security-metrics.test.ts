import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { startGateway, useGateway, useTestTenant } from '../support/gateway.ts';
import { plainRequest, type PlainResponse } from '../support/http.ts';
import { settledMemory } from '../support/memory.ts';
import { labelValues, parseSamples, sumOf, type Sample } from '../support/prometheus.ts';

// Hostile traffic must not grow /metrics: thousands of unique URLs, query
// strings, operation names and aliases, with and without a token.

const MARK = `leak${Date.now().toString(36)}`;
/** Log lines seen, and those with the marker (kept: the others would weigh on the memory measured). */
let logged = 0;
const leaked: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of String(chunk).split('\n').filter(Boolean)) {
      logged++;
      if (line.includes(MARK)) leaked.push(line);
    }
    done();
  },
});

// The hostile traffic here is thousands of requests without a valid token from one address: the
// failed-authentication limit (security-auth-failures.test.ts) would refuse most of it.
const gateway = useGateway(
  { tenantLimits: { operationsPerSecond: 1_000_000, maxConnections: 1000, maxSubscriptions: 1000 }, authFailuresPerMinute: 1_000_000 },
  pino({ level: 'debug', base: { service: 'jobgate' } }, sink),
);
const tenant = useTestTenant(gateway);

async function scrape(): Promise<Sample[]> {
  const response = await fetch(gateway.metricsUrl);
  expect(response.status).toBe(200);
  const text = await response.text();
  expect(text).not.toContain(MARK);
  return parseSamples(text);
}

/** Runs `count` requests, `concurrency` at a time; returns how many answered with each status. */
async function flood(count: number, request: (n: number) => Promise<PlainResponse>, concurrency = 8): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const response = await request(next++);
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      }
    }),
  );
  return statuses;
}

const routeCount = (samples: Sample[], route: string, status?: string) =>
  sumOf(samples, 'jobgate_http_request_duration_seconds_count', status ? { route, status } : { route });

/** Long query strings: each one that reached a label used to be held as long as the process lived. */
const PAD = 'p'.repeat(6_000);
const SIZES = { unauthenticated: 2_000, unauthenticatedGet: 500, authenticated: 1_500, errors: 500, elsewhere: 300 };

/** Unique URLs, query strings, headers, operation names and aliases; with and without a token. Numbered from `first`. */
async function hostileTraffic(first: number): Promise<Record<string, Map<number, number>>> {
  const json = { 'content-type': 'application/json' };
  const auth = { ...json, authorization: `Bearer ${tenant.token}` };
  const at = (n: number) => first + n;
  return {
    unauthenticated: await flood(SIZES.unauthenticated, (n) =>
      plainRequest(`${gateway.graphqlUrl}?access_token=${MARK}&n=${at(n)}&pad=${PAD}`, {
        method: 'POST',
        headers: { ...json, 'x-secret': MARK },
        body: JSON.stringify({ query: `query Op${at(n)}($s: String!) { queue(name: $s) { name } }`, operationName: `Op${at(n)}`, variables: { s: MARK } }),
      }),
    ),
    unauthenticatedGet: await flood(SIZES.unauthenticatedGet, (n) =>
      plainRequest(
        `${gateway.graphqlUrl}?${new URLSearchParams({ query: `query Get${at(n)} { viewer { tokenId } }`, operationName: `Get${at(n)}`, variables: JSON.stringify({ s: MARK }) })}`,
        {
          headers: { 'x-graphql-yoga-csrf': '1' },
        },
      ),
    ),
    authenticated: await flood(SIZES.authenticated, (n) =>
      plainRequest(`${gateway.graphqlUrl}?trace=${MARK}&n=${at(n)}&pad=${PAD}`, {
        method: 'POST',
        headers: { ...auth, 'x-secret': MARK },
        body: JSON.stringify({
          query: `query Op${at(n)}($s: String!) { a${at(n)}: queue(name: $s) { name } }`,
          operationName: `Op${at(n)}`,
          variables: { s: MARK },
        }),
      }),
    ),
    // Errors at a path of the client's choosing (aliases).
    errors: await flood(SIZES.errors, (n) =>
      plainRequest(`${gateway.graphqlUrl}?n=${at(n)}&pad=${PAD}`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ query: `query Bad${at(n)} { e${at(n)}: job(queue: "q", id: "not-an-id") { id } }` }),
      }),
    ),
    elsewhere: await flood(SIZES.elsewhere, (n) => plainRequest(`${gateway.url}/nowhere/${at(n)}?${MARK}=${at(n)}`)),
    health: await flood(SIZES.elsewhere, () => plainRequest(`${gateway.url}/health`)),
    dashboard: await flood(SIZES.elsewhere, (n) => plainRequest(`${gateway.url}/dashboard/queues/${MARK}${at(n)}?${MARK}=${at(n)}`)),
  };
}

describe('metrics under hostile traffic', () => {
  it('keeps every label set bounded, publishes no query-string text, counts routes right and holds little memory', async () => {
    // A first round grows the heap and the allocator's arenas to what such traffic needs; the
    // second must then cost next to nothing more. (Unbounded labels took this process past
    // 1.5 GB here, and /metrics failed with a 500.)
    await hostileTraffic(0);
    const before = await scrape();
    const memoryBefore = settledMemory();
    const statuses = await hostileTraffic(1_000_000);
    const memoryAfter = settledMemory();
    const after = await scrape();
    expect(memoryAfter.heap - memoryBefore.heap).toBeLessThan(20);
    // RSS also moves with the allocator's arenas, which a loaded machine grows further; labels
    // that grew with the traffic took it past 1 GB.
    expect(memoryAfter.rss - memoryBefore.rss).toBeLessThan(300);

    expect(Object.fromEntries(Object.entries(statuses).map(([kind, counts]) => [kind, Object.fromEntries(counts)]))).toEqual({
      unauthenticated: { 401: SIZES.unauthenticated },
      unauthenticatedGet: { 401: SIZES.unauthenticatedGet },
      authenticated: { 200: SIZES.authenticated },
      errors: { 200: SIZES.errors },
      elsewhere: { 404: SIZES.elsewhere },
      health: { 200: SIZES.elsewhere },
      dashboard: { 200: SIZES.elsewhere },
    });

    // Every request is counted under its route and status class.
    const delta = (route: string, status?: string) => routeCount(after, route, status) - routeCount(before, route, status);
    expect(delta('/graphql', '4xx')).toBe(SIZES.unauthenticated + SIZES.unauthenticatedGet);
    expect(delta('/graphql', '2xx')).toBe(SIZES.authenticated + SIZES.errors);
    expect(delta('other', '4xx')).toBe(SIZES.elsewhere);
    expect(delta('/health', '2xx')).toBe(SIZES.elsewhere);
    expect(delta('/dashboard', '2xx')).toBe(SIZES.elsewhere);
    // The scrape before this one.
    expect(delta('/metrics')).toBe(1);

    // No label takes more than a handful of values, and the second round added no series.
    for (const [name, byLabel] of labelValues(after)) {
      for (const [label, values] of byLabel) {
        expect({ name, label, values: values.size }).toEqual({ name, label, values: Math.min(values.size, 30) });
        for (const value of values) expect(value).not.toMatch(/^(Op|Get|Bad|a|e)\d+$/);
      }
    }
    expect(after.length - before.length).toBeLessThan(20);

    // Nor does any of it reach a log line (the gateway logs at debug here).
    expect(logged).toBeGreaterThan(10_000);
    expect(leaked).toEqual([]);
  }, 300_000);
});

describe('who may read /metrics', () => {
  it('serves metrics on the loopback metrics listener, not on the API port', async () => {
    expect(new URL(gateway.metricsUrl).hostname).toBe('127.0.0.1');
    expect((await fetch(gateway.metricsUrl)).status).toBe(200);
    expect((await fetch(`${gateway.url}/metrics`)).status).toBe(404);
    expect((await fetch(new URL('/graphql', gateway.metricsUrl))).status).toBe(404);
  });

  it('with a metrics token, serves them on the API port too, and only with that token', async () => {
    const guarded = await startGateway({ metricsToken: 'metrics-token-0123456789' });
    try {
      const withToken = { headers: { authorization: 'Bearer metrics-token-0123456789' } };
      expect((await fetch(`${guarded.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${guarded.url}/metrics`, { headers: { authorization: 'Bearer metrics-token-0123456788' } })).status).toBe(401);
      expect((await fetch(`${guarded.url}/metrics`, withToken)).status).toBe(200);
      expect((await fetch(guarded.metricsUrl)).status).toBe(401);
      expect((await fetch(guarded.metricsUrl, withToken)).status).toBe(200);
    } finally {
      await guarded.stop();
    }
  });
});
