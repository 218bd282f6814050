/**
 * Steady traffic for the fault tests: a producer sending over HTTP, workers
 * and event subscribers on raw graphql-ws sockets that never reconnect (so a
 * test can tell that a fault did not cost them their sockets), and a probe
 * that records every change of `/ready`.
 */
import { createClient, type Client } from 'graphql-ws';
import { SEND_JOBS } from './operations.ts';
import { readyStatus, recordingWebSocket, sleep, type SocketLog } from './processes.ts';

const WORK =
  'subscription($queues: [String!]!, $concurrency: Int) { workAssigned(queues: $queues, concurrency: $concurrency) { id queue retryCount lease data } }';
const COMPLETE = 'mutation($queue: String!, $id: ID!) { completeJob(queue: $queue, id: $id) { id } }';
const EVENTS = 'subscription($queue: String, $jobId: ID) { jobEvents(queue: $queue, jobId: $jobId) { type jobId retryCount } }';

interface GraphqlError {
  message: string;
  extensions?: { code?: string };
}

/** A graphql-ws client on one socket that is never replaced: a close ends it. */
export function singleSocketClient(wsUrl: string, token: string, sockets: SocketLog): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: recordingWebSocket(sockets),
    connectionParams: { token },
    lazy: false,
    retryAttempts: 0,
    keepAlive: 5_000,
    // A close is recorded in `sockets`; graphql-ws would print it on the console.
    onNonLazyError: () => {},
  });
}

/** One operation over `client`: its data, or the first error's code (`TRANSPORT` when the socket failed). */
export function execute<T>(client: Client, query: string, variables: Record<string, unknown>): Promise<{ data?: T; code?: string; message?: string }> {
  return new Promise((resolve) => {
    let outcome: { data?: T; code?: string; message?: string } | undefined;
    client.subscribe<T>(
      { query, variables },
      {
        next: (result) => {
          const error = (result.errors as GraphqlError[] | undefined)?.[0];
          outcome = error ? { code: error.extensions?.code ?? 'UNKNOWN', message: error.message } : { data: result.data as T };
        },
        error: (error) => resolve({ code: 'TRANSPORT', message: String((error as { reason?: string }).reason ?? error) }),
        complete: () => resolve(outcome ?? { code: 'NO_RESULT' }),
      },
    );
  });
}

export interface Producer {
  /** Ids acknowledged by the gateway, with the time of the acknowledgement. */
  readonly acknowledged: Map<string, number>;
  /** Requests that failed: their error code (or `NETWORK`) and how long they took. */
  readonly failures: { code: string; ms: number; at: number }[];
  stop(): Promise<void>;
}

/** `sendJobs` of `batch` jobs every `intervalMs` over HTTP, one request at a time. */
export function startProducer(graphqlUrl: string, token: string, queue: string, { batch = 5, intervalMs = 50 } = {}): Producer {
  const acknowledged = new Map<string, number>();
  const failures: Producer['failures'] = [];
  let stopped = false;
  let n = 0;
  const loop = (async () => {
    while (!stopped) {
      const started = Date.now();
      const jobs = Array.from({ length: batch }, () => ({ data: { n: n++ } }));
      try {
        const response = await fetch(graphqlUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: SEND_JOBS, variables: { queue, jobs } }),
          signal: AbortSignal.timeout(20_000),
        });
        const body = (await response.json()) as { data?: { sendJobs?: string[] } | null; errors?: GraphqlError[] };
        const ids = body.data?.sendJobs;
        if (response.status === 200 && ids && !body.errors) for (const id of ids) acknowledged.set(id, Date.now());
        else failures.push({ code: body.errors?.[0]?.extensions?.code ?? String(response.status), ms: Date.now() - started, at: started });
      } catch (error) {
        failures.push({ code: (error as Error).name === 'TimeoutError' ? 'TIMEOUT' : 'NETWORK', ms: Date.now() - started, at: started });
      }
      await sleep(intervalMs);
    }
  })();
  return {
    acknowledged,
    failures,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

export interface RawWorker {
  readonly sockets: SocketLog;
  /** Every push, in order of arrival. */
  readonly pushes: { id: string; retryCount: number; lease: string | null; at: number }[];
  /** Completions the gateway acknowledged, per job. */
  readonly completed: Map<string, number>;
  /** Jobs whose completion was refused with CONFLICT (the attempt had moved on). */
  readonly conflicts: string[];
  /** Errors of completions that were retried, by code. */
  readonly retriedCodes: Map<string, number>;
  /** Jobs pushed and not yet settled. */
  readonly inHand: number;
  /** The subscription ended (it should not). */
  readonly ended: string | undefined;
  /** Settle what is in hand without waiting for the work (`workMs`) to end. */
  release(): void;
  dispose(): Promise<void>;
}

export interface RawWorkerOptions {
  wsUrl: string;
  token: string;
  queue: string;
  concurrency: number;
  /** How long each job takes; `hold` keeps it until `release()`. */
  workMs: number | 'hold';
}

/**
 * A worker as the worker protocol asks: completes each pushed job on its own
 * socket and retries a completion that failed for any reason but CONFLICT
 * (an outage is SERVICE_UNAVAILABLE), until the gateway answers.
 */
export function startRawWorker(options: RawWorkerOptions): RawWorker {
  const sockets: SocketLog = { opened: 0, closes: [] };
  const client = singleSocketClient(options.wsUrl, options.token, sockets);
  const pushes: RawWorker['pushes'] = [];
  const completed = new Map<string, number>();
  const conflicts: string[] = [];
  const retriedCodes = new Map<string, number>();
  let inHand = 0;
  let ended: string | undefined;
  let disposed = false;
  let releaseAll: () => void = () => {};
  let released = new Promise<void>((resolve) => (releaseAll = resolve));

  const complete = async (id: string) => {
    const deadline = Date.now() + 60_000;
    while (!disposed && Date.now() < deadline) {
      const result = await execute<{ completeJob: { id: string } }>(client, COMPLETE, { queue: options.queue, id });
      if (result.data) {
        completed.set(id, (completed.get(id) ?? 0) + 1);
        return;
      }
      if (result.code === 'CONFLICT') {
        conflicts.push(id);
        return;
      }
      retriedCodes.set(result.code!, (retriedCodes.get(result.code!) ?? 0) + 1);
      await sleep(200);
    }
  };

  client.subscribe<{ workAssigned: { id: string; retryCount: number; lease: string | null } }>(
    { query: WORK, variables: { queues: [options.queue], concurrency: options.concurrency } },
    {
      next: (result) => {
        const job = result.data?.workAssigned;
        if (!job) {
          ended = `error: ${JSON.stringify(result.errors)}`;
          return;
        }
        pushes.push({ id: job.id, retryCount: job.retryCount, lease: job.lease, at: Date.now() });
        inHand++;
        void (async () => {
          await (options.workMs === 'hold' ? released : Promise.race([sleep(options.workMs), released]));
          await complete(job.id);
          inHand--;
        })();
      },
      error: (error) => (ended = `error: ${String((error as { code?: number }).code ?? error)}`),
      complete: () => (ended ??= 'complete'),
    },
  );

  return {
    sockets,
    pushes,
    completed,
    conflicts,
    retriedCodes,
    get inHand() {
      return inHand;
    },
    get ended() {
      return ended;
    },
    release() {
      releaseAll();
      released = new Promise<void>((resolve) => (releaseAll = resolve));
    },
    async dispose() {
      disposed = true;
      releaseAll();
      await client.dispose();
    },
  };
}

export interface EventWatcher {
  readonly sockets: SocketLog;
  readonly events: { type: string; jobId: string; retryCount: number; at: number }[];
  readonly ended: string | undefined;
  dispose(): Promise<void>;
}

/** A `jobEvents` subscriber on one socket that is never replaced. */
export function startEventWatcher(wsUrl: string, token: string, filter: { queue?: string; jobId?: string }): EventWatcher {
  const sockets: SocketLog = { opened: 0, closes: [] };
  const client = singleSocketClient(wsUrl, token, sockets);
  const events: EventWatcher['events'] = [];
  let ended: string | undefined;
  client.subscribe<{ jobEvents: { type: string; jobId: string; retryCount: number } }>(
    { query: EVENTS, variables: filter },
    {
      next: (result) => {
        const event = result.data?.jobEvents;
        if (event) events.push({ ...event, at: Date.now() });
        else ended = `error: ${JSON.stringify(result.errors)}`;
      },
      error: (error) => (ended = `error: ${String((error as { code?: number }).code ?? error)}`),
      complete: () => (ended ??= 'complete'),
    },
  );
  return {
    sockets,
    events,
    get ended() {
      return ended;
    },
    dispose: () => client.dispose() as Promise<void>,
  };
}

export interface ReadyProbe {
  /** Every change of `/ready`'s status (0: no answer), with its time. */
  readonly changes: { status: number; at: number }[];
  readonly status: number;
  stop(): Promise<void>;
}

/** Polls `/ready` every `intervalMs` and records each change. */
export function probeReady(url: string, intervalMs = 100): ReadyProbe {
  const changes: ReadyProbe['changes'] = [];
  let stopped = false;
  let status = -1;
  const loop = (async () => {
    while (!stopped) {
      const next = await readyStatus(url, 3_000);
      if (next !== status) changes.push({ status: (status = next), at: Date.now() });
      await sleep(intervalMs);
    }
  })();
  return {
    changes,
    get status() {
      return status;
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
