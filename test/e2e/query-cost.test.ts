import { describe, expect, it } from '@jest/globals';
import { httpGraphql } from '../support/clients.ts';
import { useGateway, useTestTenant } from '../support/gateway.ts';

const gateway = useGateway();
const tenant = useTestTenant(gateway);

const page = (alias: string, first: number) => `${alias}: jobs(queue: "no-such-queue", first: ${first}) { nodes { id data output } }`;

describe('query cost, with the default limits', () => {
  it('counts the page sizes asked for: many large pages are refused before any database work, with the cost and the limit', async () => {
    const { status, body } = await httpGraphql(gateway.graphqlUrl, tenant.token, `{ ${page('a', 500)} ${page('b', 500)} }`);
    expect(status).toBe(200);
    const error = body.errors?.[0];
    expect(error?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', reason: 'QUERY_COMPLEXITY', maxComplexity: 5000 });
    expect((error?.extensions as { complexity: number }).complexity).toBeGreaterThan(5000);
    expect(error?.message).toMatch(/cost \d+ exceeds the limit of 5000/);
    // Refused as a whole: neither page was read.
    expect(body.data ?? null).toBeNull();
    expect(body.errors).toHaveLength(1);
  });

  it('lets the pages a client usually asks for through', async () => {
    const { body } = await httpGraphql(gateway.graphqlUrl, tenant.token, `{ ${page('a', 50)} ${page('b', 50)} }`);
    expect(body).toEqual({ data: { a: { nodes: [] }, b: { nodes: [] } } });
  });

  it('counts the lists of the pg-boss operations: findJobs pages, job dependencies, topics, published jobs, flows', async () => {
    const refused = async (query: string, variables?: Record<string, unknown>) => {
      const { body } = await httpGraphql(gateway.graphqlUrl, tenant.token, query, variables);
      // Nothing resolved: a nullable root field is null, a non-null one nulls the whole answer.
      const resolved = Object.values(body.data ?? {}).filter((value) => value !== null);
      expect({ query, code: body.errors?.[0]?.extensions?.code, resolved }).toEqual({ query, code: 'QUERY_TOO_COMPLEX', resolved: [] });
    };
    const found = (alias: string, first: number) => `${alias}: findJobs(queue: "no-such-queue", first: ${first}) { nodes { id data output } }`;
    await refused(`{ ${found('a', 500)} ${found('b', 500)} }`);
    await refused(
      '{ job(queue: "q", id: "01234567-89ab-7def-8123-456789abcdef") { dependencies(first: 500) { data output } dependents(first: 500) { data output } } }',
    );
    await refused(
      `{ ${['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r'].map((a) => `${a}: topics { name queues }`).join(' ')} ${page('z', 500)} }`,
    );
    await refused('mutation { publish(topic: "t", data: {}) { data output dependencies(first: 500) { id } } }');
    const jobs = Array.from({ length: 1_000 }, (_, i) => ({ ref: `r${i}`, queue: 'q', data: {}, dependsOn: i ? ['r0'] : [] }));
    await refused('mutation($jobs: [FlowJobInput!]!) { sendFlow(jobs: $jobs) { ref id queue job { data output } } }', { jobs });

    const { body } = await httpGraphql(
      gateway.graphqlUrl,
      tenant.token,
      `{ ${found('a', 50)} topics { name queues } previewSchedule(cron: "0 0 1 1 *", count: 3)
         job(queue: "q", id: "01234567-89ab-7def-8123-456789abcdef") { dependencies { id } dependents { id } } }`,
    );
    expect(body.errors).toBeUndefined();
    expect(body.data).toMatchObject({ a: { nodes: [] }, topics: [], job: null });
  });

  it('counts batch inputs: a batch command over its cost together with a large page is refused', async () => {
    const ids = Array.from({ length: 1_000 }, () => '01234567-89ab-7def-8123-456789abcdef');
    const { body } = await httpGraphql(
      gateway.graphqlUrl,
      tenant.token,
      'mutation($ids: [ID!]!) { a: cancelJobs(queue: "q", ids: $ids) { affected } b: resumeJobs(queue: "q", ids: $ids) { affected } c: retryJobs(queue: "q", ids: $ids) { affected } d: deleteJobs(queue: "q", ids: $ids) { affected } e: cancelJobs(queue: "q", ids: $ids) { affected } f: cancelJobs(queue: "q", ids: $ids) { affected } }',
      { ids },
    );
    expect(body.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });
});
