/**
 * Malformed input, over graphql-ws and HTTP, generated from a seeded
 * pseudo-random generator (set JOBGATE_FUZZ_SEED to replay a run). For every
 * input the gateway must answer with a documented error or close code, keep
 * serving a healthy tenant meanwhile, and write nothing for the input: the
 * fuzzing tenant's pg-boss rows are the same before and after.
 *
 * graphql-ws close codes: 4400 bad message, 4401 subscribe before ack, 4408
 * no connection_init in time, 4409 duplicate operation id, 4429 second
 * connection_init; WebSocket (RFC 6455): 1007 a text frame that is not UTF-8,
 * 1009 a frame over `maxPayloadBytes`. HTTP: 413 over `maxBodyBytes`, 400 for
 * a body that is not a GraphQL request.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createClient, type Client } from 'graphql-ws';
import pg from 'pg';
import { httpGraphql, wsExecute } from '../support/clients.ts';
import { fuzzSeed, RawSocket, Rng, type RawMessage } from '../support/fuzz.ts';
import { createTestTenant, startGateway, testDatabaseUrl, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { BossTables } from '../support/jobs.ts';
import { CREATE_QUEUE, SEND_JOB } from '../support/operations.ts';
import { recordingWebSocket, sleep, waitUntil, type SocketLog } from '../support/processes.ts';
import { collect } from '../support/subscriptions.ts';

const SEED = fuzzSeed();
const MAX_PAYLOAD = 64 * 1024;
const MAX_BODY = 64 * 1024;
const WS_ITERATIONS = 320;
const HTTP_ITERATIONS = 160;
const CONCURRENCY = 8;
/** The error codes the API documents for bad input; never INTERNAL_SERVER_ERROR. */
const DOCUMENTED_CODES = new Set([
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'NOT_FOUND',
  'RATE_LIMITED',
  'PAYLOAD_TOO_LARGE',
]);

let gateway: TestGateway;
let fuzzer: TestTenant;
let healthy: TestTenant;
let pool: pg.Pool;
let tables: BossTables;

beforeAll(async () => {
  gateway = await startGateway({ maxPayloadBytes: MAX_PAYLOAD, maxBodyBytes: MAX_BODY, connectionInitTimeoutMs: 1_000 });
  [fuzzer, healthy] = await Promise.all([createTestTenant(gateway), createTestTenant(gateway)]);
  pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 2 });
  tables = new BossTables(pool);
  const create = 'mutation($name: String!) { createQueue(name: $name) { name } }';
  for (const [tenant, name] of [
    [fuzzer, 'fuzz'],
    [healthy, 'healthy'],
  ] as const) {
    const { body } = await httpGraphql(gateway.graphqlUrl, tenant.token, create, { name });
    if (body.errors) throw new Error(JSON.stringify(body.errors));
  }
});

afterAll(async () => {
  await pool.end();
  await gateway.stop();
});

// ---- inputs ----

const INVALID_NAMES = [
  '',
  '/',
  'a/',
  '/a',
  'a//b',
  '_a',
  '-a',
  '.a',
  'a b',
  'a\u0000b',
  'é',
  'x\ud800y',
  'a'.repeat(101),
  '__pgboss__x',
  '../x',
  'a/../b',
  'a\nb',
  'ä/ö',
  '\u202ejob',
];
const INVALID_CRONS = [
  '61 * * * *',
  '* 25 * * *',
  '* * 32 * *',
  '* * * 13 *',
  '* * * * 8',
  '',
  ' ',
  '*/0 * * * *',
  'every minute',
  '@never',
  '* * * * * * * *',
  'a b c d e',
  '1-0 * * * *',
  '0 0 30 2 *',
  '%',
  '99999999999 * * * *',
];
const INVALID_UTF8 = [
  Buffer.from([0xff]),
  Buffer.from([0xc3, 0x28]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]),
  Buffer.from([0xe2, 0x82]),
  Buffer.from([0xc0, 0xaf]),
];

const SCHEDULE = 'mutation($queue: String!, $cron: String!, $data: JSON) { scheduleJob(queue: $queue, cron: $cron, data: $data) { key } }';
const EVENTS = 'subscription($queue: String) { jobEvents(queue: $queue) { type jobId } }';

interface Operation {
  query: string;
  variables?: Record<string, unknown>;
  /** Variables as JSON text, for values too deep to stringify here. */
  rawVariables?: string;
  /** Codes this input must be answered with; undefined: any documented one (or none, for graphql-js coercion errors). */
  codes?: readonly string[];
}

/** JSON nested `levels` deep, arrays and objects mixed (at most 6 bytes a level, so 10,000 levels fit 64 KiB). */
function deepJson(rng: Rng, levels: number): string {
  let open = '';
  let close = '';
  for (let i = 0; i < levels; i++) {
    if (rng.bool()) {
      open += '[';
      close = ']' + close;
    } else {
      open += '{"k":';
      close = '}' + close;
    }
  }
  return `${open}1${close}`;
}

/** A GraphQL document whose argument is a list literal nested `levels` deep (two tokens a level). */
function deepLiteralQuery(levels: number): string {
  return `mutation { sendJob(queue: "fuzz", data: ${'['.repeat(levels)}1${']'.repeat(levels)}) { id } }`;
}

/** Operations that are well-formed messages but wrong: each must fail as a whole. */
function badOperation(rng: Rng): Operation {
  switch (rng.int(0, 9)) {
    case 0:
      return { query: SEND_JOB, variables: rng.bool() ? { queue: rng.pick([123, true, {}, [], null, 1.5]), data: {} } : { queue: 'fuzz', data: null } };
    case 1:
      return { query: SEND_JOB, variables: { queue: 'fuzz', data: rng.pick(['text', 5, true, 0]) }, codes: ['BAD_USER_INPUT'] };
    case 2:
      return {
        query: SEND_JOB,
        variables: {
          queue: 'fuzz',
          data: {},
          options: rng.pick([
            { priority: 'high' },
            { startAfter: 'not a date' },
            { retryLimit: 1.5 },
            { expireInSeconds: 2 ** 40 },
            { unknownOption: 1 },
            { delaySeconds: '5' },
          ]),
        },
      };
    case 3:
      return {
        query: SEND_JOB,
        variables: {
          queue: 'fuzz',
          data: {},
          options: rng.pick([
            { delaySeconds: -5 },
            { retryLimit: -1 },
            { expireInSeconds: 0 },
            { id: 'not-a-uuid' },
            { heartbeatSeconds: 1 },
            { singletonKey: '' },
          ]),
        },
        codes: ['BAD_USER_INPUT'],
      };
    case 4:
      return { query: CREATE_QUEUE, variables: { name: 'fuzz-q', options: rng.pick([{ policy: 'NOPE' }, { retryLimit: 'x' }, { partition: 'yes' }]) } };
    case 5:
      return { query: CREATE_QUEUE, variables: { name: rng.pick(INVALID_NAMES) }, codes: ['BAD_USER_INPUT'] };
    case 6:
      return {
        query: SEND_JOB,
        variables: { queue: rng.pick(INVALID_NAMES) + (rng.bool() ? '' : rng.string(rng.int(1, 8), 'ab\u00e9\u4e2d/ ')), data: {} },
        codes: ['BAD_USER_INPUT'],
      };
    case 7:
      return {
        query: SCHEDULE,
        variables: { queue: 'fuzz', cron: rng.bool() ? rng.pick(INVALID_CRONS) : rng.string(rng.int(1, 20), 'xyz!?%&~'), data: {} },
        codes: ['BAD_USER_INPUT'],
      };
    case 8:
      return {
        query: 'mutation($queue: String!, $ids: [ID!]!) { cancelJobs(queue: $queue, ids: $ids) { affected } }',
        variables: { queue: 'fuzz', ids: rng.pick([[null], [{}], [[]], [true, 'x'], null]) },
      };
    default:
      return { query: SEND_JOB, variables: { queue: 'fuzz' }, rawVariables: `{"queue":"fuzz","data":${deepJson(rng, 10_000)}}`, codes: ['BAD_USER_INPUT'] };
  }
}

/** Random GraphQL-ish token soup. */
function garbageQuery(rng: Rng): string {
  const tokens = [
    '{',
    '}',
    '(',
    ')',
    '$x',
    ':',
    '!',
    '...',
    'query',
    'mutation',
    'subscription',
    'sendJob',
    'viewer',
    '"x"',
    '123',
    '@',
    '#',
    '[',
    ']',
    '=',
    '|',
    '&',
    '"""',
    '\\u0000',
    '\u00e9',
  ];
  return Array.from({ length: rng.int(0, 40) }, () => rng.pick(tokens)).join(rng.pick([' ', '', '\n']));
}

// ---- checking answers ----

function codesOf(errors: unknown): (string | undefined)[] {
  return Array.isArray(errors) ? errors.map((error) => (error as { extensions?: { code?: string } })?.extensions?.code) : [];
}

/** Problems with the answer to one failed operation (an `error` message, or a result with errors and no data). */
function checkFailure(label: string, errors: unknown, data: unknown, operation: Pick<Operation, 'codes'>): string[] {
  const problems: string[] = [];
  const codes = codesOf(errors);
  if (codes.length === 0) problems.push(`${label}: expected errors, got ${JSON.stringify({ errors, data }).slice(0, 300)}`);
  for (const code of codes) {
    if (operation.codes ? !operation.codes.includes(code ?? '') : code !== undefined && !DOCUMENTED_CODES.has(code)) {
      problems.push(`${label}: error code ${code} (expected ${operation.codes?.join('|') ?? 'a documented code'}): ${JSON.stringify(errors).slice(0, 300)}`);
    }
  }
  const values = data && typeof data === 'object' ? Object.values(data) : [];
  if (values.some((value) => value !== null)) problems.push(`${label}: a failed operation returned data ${JSON.stringify(data).slice(0, 200)}`);
  return problems;
}

async function expectClose(socket: RawSocket, label: string, codes: readonly number[], timeoutMs = 5_000): Promise<string[]> {
  const code = await socket.closeCodeWithin(timeoutMs);
  if (code === null) {
    socket.terminate();
    return [`${label}: still open after ${timeoutMs} ms, expected close ${codes.join('|')}`];
  }
  return codes.includes(code) ? [] : [`${label}: closed with ${code} (${(await socket.closed).reason}), expected ${codes.join('|')}`];
}

/** The request of an operation as JSON text (`{ query, variables }`). */
function requestJson(operation: Operation): string {
  return `{"query":${JSON.stringify(operation.query)},"variables":${operation.rawVariables ?? JSON.stringify(operation.variables ?? {})}}`;
}

/** Subscribes with `payload` (an object, or JSON text), and waits for its answer. */
async function answerTo(socket: RawSocket, id: string, payload: Record<string, unknown> | string): Promise<RawMessage> {
  if (typeof payload === 'string') socket.sendText(`{"type":"subscribe","id":${JSON.stringify(id)},"payload":${payload}}`);
  else socket.sendJson({ type: 'subscribe', id, payload });
  return socket.waitFor((message) => message.id === id && (message.type === 'error' || message.type === 'next'), 15_000);
}

async function alive(socket: RawSocket, label: string): Promise<string[]> {
  try {
    await socket.assertAlive();
    return [];
  } catch (error) {
    return [`${label}: connection unusable afterwards: ${String(error)}`];
  } finally {
    socket.close();
  }
}

// ---- graphql-ws cases ----

type Case = (rng: Rng, label: string) => Promise<string[]>;

const ws = () => RawSocket.open(gateway.wsUrl);
const authed = () => RawSocket.authenticated(gateway.wsUrl, fuzzer.token);
const maybeAuthed = (rng: Rng) => (rng.bool() ? authed() : ws());

const WS_CASES: Record<string, { weight: number; run: Case }> = {
  randomBytesAsText: {
    weight: 3,
    run: async (rng, label) => {
      const socket = await maybeAuthed(rng);
      socket.sendText(rng.bytes(rng.int(1, 300)));
      return expectClose(socket, label, [1007, 4400]);
    },
  },
  invalidJson: {
    weight: 3,
    run: async (rng, label) => {
      const socket = await maybeAuthed(rng);
      let text = rng.string(rng.int(1, 80), '{}[]":,abc 123\\\tnul');
      if (rng.bool()) text = JSON.stringify({ type: 'subscribe', id: '1', payload: { query: '{ viewer { scopes } }' } }).slice(0, rng.int(1, 60));
      socket.sendText(text);
      return expectClose(socket, label, [4400]);
    },
  },
  wrongShape: {
    weight: 4,
    run: async (rng, label) => {
      const socket = await maybeAuthed(rng);
      const query = '{ viewer { scopes } }';
      const shapes: unknown[] = [
        rng.json(),
        [rng.json()],
        rng.int(-5, 5),
        'subscribe',
        null,
        { id: '1', payload: { query } },
        { type: rng.pick([5, null, '', true, {}, []]) },
        { type: 'subscribe', id: rng.pick([5, null, '', {}, []]), payload: { query } },
        { type: 'subscribe', id: '1', payload: rng.pick([null, 'q', 5, []]) },
        { type: 'subscribe', id: '1', payload: { query: rng.pick([5, null, {}, []]) } },
        { type: 'subscribe', id: '1', payload: { query, variables: rng.pick(['v', 5, true, []]) } },
        { type: 'subscribe', id: '1', payload: { query, operationName: rng.pick([5, {}, [], true]) } },
        { type: 'connection_init', payload: rng.pick(['s', 5, true, []]) },
        { type: 'ping', payload: rng.pick(['s', 5, [], true]) },
        { type: 'complete' },
        { type: 'complete', id: rng.pick([5, '', null]) },
      ];
      const shape = rng.pick(shapes);
      // A random object must not turn into a valid message by chance.
      if (shape && typeof shape === 'object' && !Array.isArray(shape) && shapes.indexOf(shape) === 0) delete (shape as Record<string, unknown>).type;
      socket.sendText(JSON.stringify(shape));
      return expectClose(socket, `${label} ${JSON.stringify(shape).slice(0, 80)}`, [4400]);
    },
  },
  unknownType: {
    weight: 2,
    run: async (rng, label) => {
      const socket = await maybeAuthed(rng);
      let type = rng.pick([
        'hello',
        'start',
        'stop',
        'connection_terminate',
        'data',
        'ka',
        'SUBSCRIBE',
        rng.string(rng.int(1, 12), 'abcdefghijklmnopqrstuvwxyz_'),
      ]);
      if (['connection_init', 'connection_ack', 'ping', 'pong', 'subscribe', 'next', 'error', 'complete'].includes(type)) type += '_';
      socket.sendJson({ type, id: '1', payload: {} });
      return expectClose(socket, `${label} ${type}`, [4400]);
    },
  },
  serverOnlyType: {
    weight: 2,
    run: async (rng, label) => {
      const socket = await maybeAuthed(rng);
      const message = rng.pick([
        { type: 'connection_ack' },
        { type: 'next', id: '1', payload: { data: {} } },
        { type: 'error', id: '1', payload: [{ message: 'x' }] },
      ]);
      socket.sendJson(message);
      // Well-formed, but only a server may send these: graphql-ws itself throws on them and
      // closes with 4500 (and writes to console.error), where 4400 would be the fitting code.
      return expectClose(socket, `${label} ${message.type}`, [4400, 4500]);
    },
  },
  subscribeBeforeInit: {
    weight: 2,
    run: async (rng, label) => {
      const socket = await ws();
      socket.sendJson({
        type: 'subscribe',
        id: rng.string(rng.int(1, 8), 'abc123'),
        payload: { query: rng.pick(['{ viewer { scopes } }', SEND_JOB, EVENTS]), variables: { queue: 'fuzz', data: {} } },
      });
      return expectClose(socket, label, [4401]);
    },
  },
  duplicateInit: {
    weight: 1,
    run: async (rng, label) => {
      const socket = await authed();
      socket.sendJson({ type: 'connection_init', payload: rng.bool() ? { token: fuzzer.token } : {} });
      return expectClose(socket, label, [4429]);
    },
  },
  duplicateId: {
    weight: 2,
    run: async (rng, label) => {
      const socket = await authed();
      const id = rng.string(rng.int(1, 6), 'xyz789');
      socket.sendJson({ type: 'subscribe', id, payload: { query: EVENTS, variables: { queue: 'fuzz' } } });
      socket.sendJson({ type: 'subscribe', id, payload: { query: rng.pick([EVENTS, '{ viewer { scopes } }']), variables: { queue: 'fuzz' } } });
      return expectClose(socket, label, [4409]);
    },
  },
  binaryFrame: {
    weight: 2,
    run: async (rng, label) => {
      const socket = await maybeAuthed(rng);
      socket.sendBinary(rng.bytes(rng.int(1, 300)));
      return expectClose(socket, label, [4400]);
    },
  },
  oversizeFrame: {
    weight: 2,
    run: async (rng, label) => {
      const socket = await maybeAuthed(rng);
      const size = MAX_PAYLOAD + rng.int(1, 20_000);
      const frame = JSON.stringify({
        type: 'subscribe',
        id: '1',
        payload: { query: SEND_JOB, variables: { queue: 'fuzz', data: { blob: 'x'.repeat(size) } } },
      });
      if (rng.bool()) socket.sendText(frame);
      else socket.sendBinary(Buffer.from(frame));
      return expectClose(socket, label, [1009]);
    },
  },
  invalidUtf8Text: {
    weight: 2,
    run: async (rng, label) => {
      const socket = await maybeAuthed(rng);
      const [head, tail] = rng.bool()
        ? ['{"type":"subscribe","id":"1","payload":{"query":"mutation { createQueue(name: \\"q', '\\") { name } }"}}']
        : ['{"type":"subscribe","id":"1","payload":{"query":"mutation($n: String!) { createQueue(name: $n) { name } }","variables":{"n":"q', '"}}}'];
      socket.sendText(Buffer.concat([Buffer.from(head), rng.pick(INVALID_UTF8), Buffer.from(tail)]));
      return expectClose(socket, label, [1007]);
    },
  },
  noInit: {
    weight: 1,
    run: async (_rng, label) => expectClose(await ws(), label, [4408], 5_000),
  },
  badOperation: {
    weight: 8,
    run: async (rng, label) => {
      const socket = await authed();
      const operation = badOperation(rng);
      const answer = await answerTo(socket, 'op', requestJson(operation));
      const errors = answer.type === 'error' ? answer.payload : answer.payload?.errors;
      const problems = checkFailure(
        `${label} ${JSON.stringify(operation.variables ?? {}).slice(0, 120)}`,
        errors,
        answer.type === 'next' ? answer.payload?.data : null,
        operation,
      );
      return [...problems, ...(await alive(socket, label))];
    },
  },
  garbageQuery: {
    weight: 3,
    run: async (rng, label) => {
      const socket = await authed();
      const query = garbageQuery(rng);
      const answer = await answerTo(socket, 'g', { query });
      const errors = answer.type === 'error' ? answer.payload : answer.payload?.errors;
      return [
        ...checkFailure(`${label} ${JSON.stringify(query).slice(0, 80)}`, errors, answer.type === 'next' ? answer.payload?.data : null, {}),
        ...(await alive(socket, label)),
      ];
    },
  },
  deepLiteral: {
    weight: 2,
    run: async (rng, label) => {
      const socket = await authed();
      const answer = await answerTo(socket, 'deep', { query: deepLiteralQuery(rng.int(2_300, 2_450)) });
      const errors = answer.type === 'error' ? answer.payload : answer.payload?.errors;
      return [...checkFailure(label, errors, answer.type === 'next' ? answer.payload?.data : null, {}), ...(await alive(socket, label))];
    },
  },
  tooManyTokens: {
    weight: 1,
    run: async (rng, label) => {
      const socket = await authed();
      const answer = await answerTo(socket, 't', { query: `{ ${'viewer { scopes } '.repeat(rng.int(1_300, 3_000))} }` });
      const errors = answer.type === 'error' ? answer.payload : answer.payload?.errors;
      return [...checkFailure(label, errors, answer.type === 'next' ? answer.payload?.data : null, {}), ...(await alive(socket, label))];
    },
  },
  unknownComplete: {
    weight: 1,
    run: async (rng, label) => {
      const socket = await authed();
      socket.sendJson({ type: 'complete', id: rng.string(rng.int(1, 10), 'abc') });
      return alive(socket, label);
    },
  },
};

function weightedPick<T>(rng: Rng, table: Record<string, { weight: number; run: T }>): [string, T] {
  const entries = Object.entries(table);
  let roll = rng.next() * entries.reduce((sum, [, entry]) => sum + entry.weight, 0);
  for (const [name, entry] of entries) {
    roll -= entry.weight;
    if (roll < 0) return [name, entry.run];
  }
  const [name, entry] = entries[entries.length - 1]!;
  return [name, entry.run];
}

/** Runs `iterations` cases `CONCURRENCY` at a time; each case has its own generator, so a case replays alone. */
async function runCases<T extends (rng: Rng, label: string) => Promise<string[]>>(
  prefix: string,
  iterations: number,
  table: Record<string, { weight: number; run: T }>,
): Promise<{ problems: string[]; counts: Record<string, number> }> {
  const problems: string[] = [];
  const counts: Record<string, number> = {};
  let next = 0;
  const lane = async () => {
    while (next < iterations) {
      const index = next++;
      const rng = new Rng(SEED ^ Math.imul(index + 1, 0x9e3779b1));
      const [name, run] = weightedPick(rng, table);
      counts[name] = (counts[name] ?? 0) + 1;
      const label = `${prefix} #${index} ${name} (seed ${SEED})`;
      try {
        problems.push(...(await run(rng, label)));
      } catch (error) {
        problems.push(`${label}: ${String(error)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  return { problems, counts };
}

// ---- the healthy neighbour ----

interface Healthy {
  stop(): Promise<{ failures: string[]; sent: string[]; closes: number[]; createdEvents: () => Set<string>; client: Client }>;
}

/** Another tenant's traffic during the fuzzing: HTTP sends, graphql-ws queries and a live jobEvents subscription. */
async function startHealthyTraffic(): Promise<Healthy> {
  const sockets: SocketLog = { opened: 0, closes: [] };
  const client = createClient({ url: gateway.wsUrl, webSocketImpl: recordingWebSocket(sockets), connectionParams: { token: healthy.token }, retryAttempts: 0 });
  const events = collect<{ jobEvents: { type: string; jobId: string } }>(client, EVENTS, { queue: 'healthy' });
  const createdEvents = () => new Set(events.results.filter((r) => r.data?.jobEvents.type === 'CREATED').map((r) => r.data!.jobEvents.jobId));
  // The subscription is live once it sees a job sent after it.
  const probe = await httpGraphql<{ sendJob: { id: string } }>(gateway.graphqlUrl, healthy.token, SEND_JOB, { queue: 'healthy', data: { probe: true } });
  const probeId = probe.body.data!.sendJob.id;
  await waitUntil(
    'the healthy subscription to go live',
    async () => {
      if (createdEvents().has(probeId)) return true;
      const again = await httpGraphql<{ sendJob: { id: string } }>(gateway.graphqlUrl, healthy.token, SEND_JOB, { queue: 'healthy', data: { probe: true } });
      await sleep(100);
      return createdEvents().has(again.body.data!.sendJob.id);
    },
    10_000,
  );
  const failures: string[] = [];
  const sent: string[] = [];
  let stopped = false;
  const loop = (async () => {
    for (let i = 0; !stopped; i++) {
      try {
        if (i % 2 === 0) {
          const { status, body } = await httpGraphql<{ sendJob: { id: string } }>(gateway.graphqlUrl, healthy.token, SEND_JOB, {
            queue: 'healthy',
            data: { i },
          });
          if (status !== 200 || body.errors || !body.data?.sendJob?.id) failures.push(`sendJob #${i}: ${status} ${JSON.stringify(body)}`);
          else sent.push(body.data.sendJob.id);
        } else {
          const result = await wsExecute<{ viewer: { tenant: { id: string } } }>(client, '{ viewer { tenant { id } } }');
          if (result.errors || result.data?.viewer.tenant.id !== healthy.tenant.id) failures.push(`viewer #${i}: ${JSON.stringify(result)}`);
        }
      } catch (error) {
        failures.push(`#${i}: ${String(error)}`);
      }
      await sleep(25);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { failures, sent, closes: sockets.closes, createdEvents, client };
    },
  };
}

/** Runs `fuzz` next to healthy traffic, then checks the neighbour was served throughout and the fuzzer wrote nothing. */
async function fuzzBeside(fuzz: () => Promise<{ problems: string[]; counts: Record<string, number> }>, cases: readonly string[]): Promise<void> {
  const before = await tables.countUnder(`${fuzzer.tenant.id}/`);
  const neighbour = await startHealthyTraffic();
  const outcome = await fuzz().finally(() => neighbour.stop());
  const traffic = await neighbour.stop();
  const sentDuring = traffic.sent.length;
  try {
    // Still served after the fuzzing, on the same connection and over HTTP.
    const after = await wsExecute<{ viewer: { tenant: { id: string } } }>(traffic.client, '{ viewer { tenant { id } } }');
    expect(after.data?.viewer.tenant.id).toBe(healthy.tenant.id);
    const last = await httpGraphql<{ sendJob: { id: string } }>(gateway.graphqlUrl, healthy.token, SEND_JOB, { queue: 'healthy', data: { last: true } });
    expect(last.status).toBe(200);
    traffic.sent.push(last.body.data!.sendJob.id);
    await waitUntil('a CREATED event for every healthy send', () => traffic.sent.every((id) => traffic.createdEvents().has(id)), 10_000).catch(() => {});
    expect(outcome.problems).toEqual([]);
    expect(Object.keys(outcome.counts).sort()).toEqual([...cases].sort());
    expect(traffic.failures).toEqual([]);
    expect(sentDuring).toBeGreaterThanOrEqual(3);
    expect(traffic.sent.filter((id) => !traffic.createdEvents().has(id))).toEqual([]);
    expect(traffic.closes).toEqual([]);
    // Nothing partial: the fuzzing tenant's rows are exactly as before.
    expect(await tables.countUnder(`${fuzzer.tenant.id}/`)).toEqual(before);
    const ready = await fetch(`${gateway.url}/ready`);
    expect(ready.status).toBe(200);
  } finally {
    await traffic.client.dispose();
  }
}

describe(`malformed input (seed ${SEED})`, () => {
  it('graphql-ws: random and malformed frames are closed with documented codes or answered with errors', async () => {
    // The gateway logs through its own (here silent) logger; graphql-ws writes to console.error.
    const consoleErrors: string[] = [];
    const spy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void consoleErrors.push(args.map(String).join(' ')));
    try {
      await fuzzBeside(() => runCases('ws', WS_ITERATIONS, WS_CASES), Object.keys(WS_CASES));
    } finally {
      spy.mockRestore();
    }
    // Only the known graphql-ws case above: no internal error, no socket error on stderr.
    expect(consoleErrors.filter((line) => !/Unexpected message of type (connection_ack|next|error) received/.test(line))).toEqual([]);
  }, 60_000);

  it('HTTP: malformed, oversized and invalid bodies get 4xx or documented GraphQL errors', async () => {
    await fuzzBeside(() => runCases('http', HTTP_ITERATIONS, HTTP_CASES), Object.keys(HTTP_CASES));
  }, 60_000);

  // Known bug, outside this suite's remit (src/server/operation-plugins.ts, useMaxTokens): graphql-js
  // parses recursively, so a literal nested ~2,400 levels deep (within the 5,000-token limit)
  // overflows the stack while Yoga parses it: HTTP 500 INTERNAL_SERVER_ERROR, logged as an error.
  // graphql-ws answers the same document with GRAPHQL_PARSE_FAILED (src/server/ws.ts). Remove
  // `.failing` once the parse function wraps RangeError in a GraphQL syntax error.
  it('HTTP: a document nested too deeply to parse is a 400 with a documented code', async () => {
    const response = await rawPost(Buffer.from(JSON.stringify({ query: deepLiteralQuery(2_400) })));
    expect(response.status).toBe(400);
    expect(checkHttpFailure('deep literal', response, {}, [400])).toEqual([]);
  });
});

// ---- HTTP cases ----

interface RawResponse {
  status: number;
  body: string;
}

/** POSTs exactly these bytes (optionally in chunks without Content-Length) and reads the answer. */
function rawPost(body: Buffer, options: { chunked?: boolean; contentType?: string } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(gateway.graphqlUrl);
    const headers: http.OutgoingHttpHeaders = {
      'content-type': options.contentType ?? 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${fuzzer.token}`,
    };
    if (!options.chunked) headers['content-length'] = body.length;
    const request = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    // The server may answer 413 and close before the whole body is written.
    request.on('error', (error) => reject(error));
    if (options.chunked) {
      let offset = 0;
      const writeMore = () => {
        while (offset < body.length) {
          const chunk = body.subarray(offset, offset + 8_192);
          offset += chunk.length;
          if (!request.write(chunk)) {
            request.once('drain', writeMore);
            return;
          }
        }
        request.end();
      };
      writeMore();
    } else request.end(body);
  });
}

function parseBody(response: RawResponse): { data?: unknown; errors?: unknown[] } | null {
  try {
    return JSON.parse(response.body) as { data?: unknown; errors?: unknown[] };
  } catch {
    return null;
  }
}

function checkHttpFailure(label: string, response: RawResponse, operation: Pick<Operation, 'codes'>, statuses: readonly number[] = [200, 400]): string[] {
  const body = parseBody(response);
  const problems: string[] = [];
  if (!statuses.includes(response.status))
    problems.push(`${label}: status ${response.status} (expected ${statuses.join('|')}): ${response.body.slice(0, 300)}`);
  if (!body) return [...problems, `${label}: body is not JSON: ${response.body.slice(0, 200)}`];
  return [...problems, ...checkFailure(label, body.errors, body.data ?? null, operation)];
}

const HTTP_CASES: Record<string, { weight: number; run: Case }> = {
  badOperation: {
    weight: 8,
    run: async (rng, label) => {
      const operation = badOperation(rng);
      const response = await rawPost(Buffer.from(requestJson(operation)));
      return checkHttpFailure(`${label} ${JSON.stringify(operation.variables ?? {}).slice(0, 120)}`, response, operation);
    },
  },
  invalidUtf8InName: {
    weight: 3,
    run: async (rng, label) => {
      const bad = rng.pick(INVALID_UTF8);
      const body = rng.bool()
        ? Buffer.concat([Buffer.from('{"query":"mutation { createQueue(name: \\"q'), bad, Buffer.from('\\") { name } }"}')])
        : Buffer.concat([Buffer.from(`{"query":${JSON.stringify(SEND_JOB)},"variables":{"queue":"q`), bad, Buffer.from('","data":{}}}')]);
      return checkHttpFailure(label, await rawPost(body), { codes: ['BAD_USER_INPUT'] }, [200]);
    },
  },
  invalidJson: {
    weight: 2,
    run: async (rng, label) => {
      const text = rng.bool()
        ? rng.string(rng.int(1, 80), '{}[]":,abc 123\\\tnul')
        : JSON.stringify({ query: SEND_JOB, variables: { queue: 'fuzz', data: {} } }).slice(0, rng.int(1, 60));
      return checkHttpFailure(label, await rawPost(Buffer.from(text)), { codes: ['BAD_REQUEST'] }, [400]);
    },
  },
  randomBytes: {
    weight: 2,
    run: async (rng, label) => checkHttpFailure(label, await rawPost(rng.bytes(rng.int(1, 2_000))), { codes: ['BAD_REQUEST'] }, [400]),
  },
  wrongShape: {
    weight: 2,
    run: async (rng, label) => {
      const shape = rng.pick<unknown>([
        rng.json(),
        [{ query: SEND_JOB }],
        { query: rng.pick([5, null, {}, []]) },
        { query: SEND_JOB, variables: rng.pick(['v', 5, [], true]) },
        { variables: {} },
        { query: SEND_JOB, operationName: rng.pick([5, {}, []]) },
      ]);
      return checkHttpFailure(`${label} ${JSON.stringify(shape).slice(0, 80)}`, await rawPost(Buffer.from(JSON.stringify(shape) ?? 'null')), {}, [400]);
    },
  },
  oversizeBody: {
    weight: 2,
    run: async (rng, label) => {
      const body = Buffer.from(JSON.stringify({ query: SEND_JOB, variables: { queue: 'fuzz', data: { blob: 'x'.repeat(MAX_BODY + rng.int(1, 50_000)) } } }));
      const chunked = rng.bool();
      let response: RawResponse;
      try {
        response = await rawPost(body, { chunked });
      } catch (error) {
        // Refused mid-upload: the connection may be cut before the answer is read.
        return chunked && /EPIPE|ECONNRESET/.test(String(error)) ? [] : [`${label}: ${String(error)}`];
      }
      return checkHttpFailure(`${label} chunked=${chunked}`, response, { codes: ['PAYLOAD_TOO_LARGE'] }, [413]);
    },
  },
  deepVariables: {
    weight: 2,
    run: async (rng, label) => {
      const body = Buffer.from(`{"query":${JSON.stringify(SEND_JOB)},"variables":{"queue":"fuzz","data":${deepJson(rng, 10_000)}}}`);
      return checkHttpFailure(label, await rawPost(body, { chunked: rng.bool() }), { codes: ['BAD_USER_INPUT'] });
    },
  },
  garbageQuery: {
    weight: 2,
    run: async (rng, label) => {
      const query = garbageQuery(rng);
      return checkHttpFailure(`${label} ${JSON.stringify(query).slice(0, 80)}`, await rawPost(Buffer.from(JSON.stringify({ query }))), {}, [200, 400]);
    },
  },
};
