import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { wsClient, wsExecute } from '../support/clients.ts';
import { createTestTenant, startGateway, useTestClient, type TestGateway, type TestTenant } from '../support/gateway.ts';

// One nesting limit (1,000 levels, counting the request's parameters object)
// for every media type a request may come in, refused as the client's error.

const SEND = 'mutation($d: JSON) { sendJob(queue: "deep", data: $d) { id } }';

let gateway: TestGateway;
let tenant: TestTenant;
const sql = useTestClient();
const nodeEnv = process.env.NODE_ENV;

beforeAll(async () => {
  // Yoga's development mode would put stack traces in masked errors.
  process.env.NODE_ENV = 'development';
  gateway = await startGateway();
  tenant = await createTestTenant(gateway);
});

afterAll(async () => {
  process.env.NODE_ENV = nodeEnv;
  await gateway.stop();
});

/** `levels` arrays inside each other, as JSON text. */
const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
/** Parameters whose JSON nests `1 + 1 + levels` deep: the parameters, `variables`, then `d`. */
const variablesJson = (levels: number) => `{"d":${nested(levels)}}`;

type Send = (query: string, variablesJson: string) => Promise<Response>;

const auth = () => ({ authorization: `Bearer ${tenant.token}` });

const MEDIA_TYPES: Record<string, Send> = {
  'application/json': (query, variables) =>
    fetch(gateway.graphqlUrl, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: `{"query":${JSON.stringify(query)},"variables":${variables}}`,
    }),
  'application/x-www-form-urlencoded': (query, variables) =>
    fetch(gateway.graphqlUrl, { method: 'POST', headers: auth(), body: new URLSearchParams({ query, variables }) }),
  'multipart/form-data': (query, variables) => {
    const form = new FormData();
    form.set('operations', `{"query":${JSON.stringify(query)},"variables":${variables}}`);
    form.set('map', '{}');
    return fetch(gateway.graphqlUrl, { method: 'POST', headers: auth(), body: form });
  },
  // GET runs no mutation: an undeclared variable is parsed all the same.
  'GET query string': (_query, variables) =>
    fetch(`${gateway.graphqlUrl}?${new URLSearchParams({ query: '{ viewer { tokenId } }', variables })}`, { headers: auth() }),
};

async function jobsStored(): Promise<number> {
  const { rows } = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1', [`${tenant.tenant.id}/deep`]);
  return rows[0]!.n;
}

interface Answer {
  status: number;
  text: string;
  code: string | undefined;
}

async function answer(response: Promise<Response>): Promise<Answer> {
  const settled = await response;
  const text = await settled.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code;
  } catch {
    code = undefined;
  }
  return { status: settled.status, text, code };
}

describe('nesting limits on every media type', () => {
  it.each(Object.keys(MEDIA_TYPES))('%s: refuses parameters nested too deep with BAD_USER_INPUT (400), stores nothing, shows no stack', async (type) => {
    const send = MEDIA_TYPES[type]!;
    const before = await jobsStored();
    // The query string of a GET cannot hold 100,000 levels (16 KiB of headers).
    const depths = type.startsWith('GET') ? [999, 2_000] : [999, 2_000, 100_000];
    for (const levels of depths) {
      const refused = await answer(send(SEND, variablesJson(levels)));
      expect({ levels, status: refused.status, code: refused.code }).toEqual({ levels, status: 400, code: 'BAD_USER_INPUT' });
      expect(refused.text).not.toMatch(/stack|\n\s+at /);
    }
    expect(await jobsStored()).toBe(before);
  });

  it.each(Object.keys(MEDIA_TYPES))('%s: accepts parameters exactly at the limit', async (type) => {
    const accepted = await answer(MEDIA_TYPES[type]!(SEND, variablesJson(998)));
    expect({ status: accepted.status, text: accepted.text }).toEqual({ status: 200, text: expect.stringMatching(/"data":\{"(sendJob|viewer)":\{/) });
  });

  it('answers variables that are not JSON with a client error, never INTERNAL_SERVER_ERROR', async () => {
    for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data', 'GET query string']) {
      const malformed = await answer(MEDIA_TYPES[type]!(SEND, '{"d": nope'));
      expect({ type, status: malformed.status }).toEqual({ type, status: 400 });
      expect(malformed.code).not.toBe('INTERNAL_SERVER_ERROR');
      expect(malformed.text).not.toMatch(/stack|\n\s+at /);
    }
  });
});

describe('the status of a failed request, by media type (docs/api.md)', () => {
  it.each([
    ['application/graphql-response+json', { parse: 400, validation: 400, notJson: 400 }],
    ['application/json', { parse: 200, validation: 200, notJson: 400 }],
  ])('%s', async (accept, expected) => {
    const post = (body: string) =>
      fetch(gateway.graphqlUrl, { method: 'POST', headers: { ...auth(), accept, 'content-type': 'application/json' }, body }).then(async (response) => {
        await response.text();
        return response.status;
      });
    expect({
      parse: await post('{"query":"{ viewer "}'),
      validation: await post('{"query":"{ nothingHere }"}'),
      notJson: await post('{"query":'),
    }).toEqual(expected);
  });
});

describe('nesting limits over graphql-ws', () => {
  it('keeps refusing variables nested deeper than 1,000 levels', async () => {
    const client = wsClient(gateway.wsUrl, { token: tenant.token });
    try {
      // graphql-ws answers a refused subscribe with an `error` message.
      const refused = await wsExecute(client, SEND, JSON.parse(variablesJson(1_500)) as Record<string, unknown>).catch((errors: unknown) => errors);
      expect(refused).toEqual([expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } })]);
    } finally {
      await client.dispose();
    }
  });
});
