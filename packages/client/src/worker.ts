import { createClient, type Client } from 'graphql-ws/client';
import WebSocket from 'ws';
import { asJobgateError, JobgateError } from './errors.ts';
import type { TypedDocumentString } from './generated/documents/graphql.ts';
import { LeaseDeadline } from './lease-deadline.ts';
import { withRetries } from './settle-retries.ts';
import { backgroundTimeout, nextTurn } from './timers.ts';
import {
  CompleteJobDocument,
  CompleteJobsDocument,
  FailJobDocument,
  PauseWorkDocument,
  ReportProgressDocument,
  TouchJobDocument,
  WorkAssignedDocument,
} from './worker-operations.ts';

export interface WorkerJob<TData = unknown> {
  id: string;
  queue: string;
  data: TData;
  retryCount: number;
  retryLimit: number;
  expireInSeconds: number;
  heartbeatSeconds: number | null;
  groupId: string | null;
  groupTier: string | null;
  /**
   * This attempt's lease: with it, another process (any connection or HTTP
   * request with a WORK token of the tenant) may settle the job. Keep it secret.
   */
  lease: string | null;
}

export interface JobContext {
  /** Aborted when the worker stops before the handler finished. */
  signal: AbortSignal;
  /** Sends a heartbeat by hand; sent automatically for queues with `heartbeatSeconds`. */
  touch(): Promise<void>;
  /** Reports how far the job got (any JSON value, a few KiB at most): `jobEvents` subscribers see a PROGRESS event. */
  progress(value: unknown): Promise<void>;
  /**
   * The job was handed to another process with its `lease`, which settles it
   * (e.g. `createProducer().complete(queue, id, lease, output)`): this worker
   * neither completes nor fails it when the handler returns or throws.
   */
  handOff(): void;
}

/** At most this many jobs of one `groupId` active at once, across every worker of the tenant (pg-boss group concurrency). */
export interface GroupConcurrency {
  default: number;
  /** Limits by `groupTier`. */
  tiers?: Record<string, number>;
}

/** Returns the job's output (JSON object or array; anything else is wrapped as `{ result }`), or throws to fail it. */
export type JobHandler<TData> = (job: WorkerJob<TData>, context: JobContext) => unknown;

export interface WorkerOptions<TData> {
  /** The gateway's graphql-ws endpoint, e.g. ws://localhost:4000/graphql */
  url: string;
  token: string;
  queues: string[];
  /** Jobs worked at once (default 1). */
  concurrency?: number;
  handler: JobHandler<TData>;
  /** Settlement failures, handler errors and connection problems that do not stop the worker. */
  onError?: (error: unknown, job?: WorkerJob<TData>) => void;
  /** Reconnect back-off bounds (default 250 ms … 15 s, with jitter). */
  reconnect?: { minDelayMs?: number; maxDelayMs?: number };
  /** How long stop() waits for running handlers, and for settlements retried through an outage, before giving up on them (default 30 s). */
  stopTimeoutMs?: number;
  /** A WebSocket implementation (default: the `ws` package). */
  webSocketImpl?: unknown;
  /** Most job ids per completeJobs call (default 100; keep it within the gateway's JOBGATE_MAX_BATCH_SIZE). */
  completionBatchSize?: number;
  /** Caps the jobs of one group in flight across all of the tenant's workers of these queues. */
  groupConcurrency?: GroupConcurrency;
}

/** A job this worker holds: the socket it came on (by count of sockets closed before it) and when its hold goes stale. */
interface Hold {
  socket: number;
  deadline: LeaseDeadline;
}

interface CompletionBatch {
  pending: { id: string; hold: Hold }[];
  inFlight: boolean;
  scheduled: boolean;
}

export interface Worker {
  /** Jobs being worked right now. */
  readonly running: number;
  /** Settles once the worker stopped, or rejects with what stopped it (a refused token, an invalid queue name). */
  readonly done: Promise<void>;
  /** Stops taking work, lets running jobs finish and settle, then disconnects. */
  stop(): Promise<void>;
}

/** Close codes after which reconnecting cannot help. */
const FATAL_CLOSE_CODES = new Set([4400, 4401, 4403, 4406, 4409]);

/** An error a handler may throw to fail a job with a structured error. */
export class JobFailure extends Error {
  readonly details: object;
  constructor(message: string, details: object = {}) {
    super(message);
    this.details = details;
  }
}

function toGroupInput(limits: GroupConcurrency | undefined) {
  if (!limits) return null;
  return { default: limits.default, tiers: Object.entries(limits.tiers ?? {}).map(([tier, limit]) => ({ tier, limit })) };
}

function toOutput(result: unknown): object | null {
  if (result === undefined || result === null) return null;
  return typeof result === 'object' ? result : { result };
}

function toFailure(error: unknown): object {
  if (error instanceof JobFailure) return { message: error.message, ...error.details };
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { message: String(error) };
}

/**
 * A remote worker: receives jobs pushed by the gateway (`workAssignedBatches`),
 * runs `handler`, and completes or fails them over the same connection.
 * Reconnects with back-off; jobs held when a connection drops are failed
 * back by the gateway and delivered again (at-least-once).
 */
export function createWorker<TData = unknown>(options: WorkerOptions<TData>): Worker {
  const concurrency = options.concurrency ?? 1;
  const minDelay = options.reconnect?.minDelayMs ?? 250;
  const maxDelay = options.reconnect?.maxDelayMs ?? 15_000;
  const report = options.onError ?? ((error: unknown) => console.error('jobgate worker:', error));
  const abort = new AbortController();
  const running = new Set<Promise<void>>();
  const completionBatchSize = options.completionBatchSize ?? 100;
  const completions = new Map<string, CompletionBatch>();
  const completionWaiters: (() => void)[] = [];
  let stopping = false;
  /** Epoch ms: settlements still retrying then are given up (stop's timeout). */
  let stopDeadline = Number.POSITIVE_INFINITY;
  /** Sockets closed so far: a job's hold ends with the socket it came on (the gateway fails it back). */
  let closedSockets = 0;
  let fatal: unknown;
  let finish: () => void = () => {};
  let fail: (error: unknown) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  done.catch(() => {});

  const client: Client = createClient({
    url: options.url,
    webSocketImpl: options.webSocketImpl ?? WebSocket,
    connectionParams: { token: options.token },
    keepAlive: 10_000,
    retryAttempts: Number.POSITIVE_INFINITY,
    retryWait: async (retries) => {
      const delay = Math.min(maxDelay, minDelay * 2 ** retries);
      await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * (delay / 2)));
    },
    shouldRetry: (event) => {
      const code = (event as { code?: number } | null)?.code;
      return !stopping && !(code !== undefined && FATAL_CLOSE_CODES.has(code));
    },
  });

  client.on('closed', () => closedSockets++);

  function holdOf(job: WorkerJob<TData>): Hold {
    return { socket: closedSockets, deadline: new LeaseDeadline(job) };
  }

  /**
   * Epoch ms until which a settlement of `holds` is retried: while any of them
   * may still be good (its socket open, its lease not yet stale), and the
   * worker is not past stop's timeout.
   */
  function settleBy(holds: readonly Hold[]): number {
    const staleAt = Math.max(...holds.map((hold) => (hold.socket === closedSockets ? hold.deadline.staleAt : Number.NEGATIVE_INFINITY)));
    return Math.min(stopDeadline, staleAt);
  }

  function request<TResult, TVariables extends Record<string, unknown>>(
    document: TypedDocumentString<TResult, TVariables>,
    variables: TVariables,
  ): Promise<TResult> {
    return new Promise((resolve, reject) => {
      let data: TResult | undefined;
      client.subscribe<TResult>(
        { query: document.toString(), variables },
        {
          next: (result) => {
            if (result.errors?.length) reject(JobgateError.fromErrors(result.errors));
            else data = result.data as TResult;
          },
          error: (error) => reject(asJobgateError(error)),
          complete: () => (data === undefined ? reject(new Error('no result')) : resolve(data)),
        },
      );
    });
  }

  /**
   * Completions without output are batched per queue: one completeJobs at a
   * time per queue, and whatever completes meanwhile goes in the next one.
   * An idle worker's completion leaves at once (next tick); a busy worker's
   * batches grow with its load instead of costing one round trip each.
   */
  function queueCompletion(queue: string, id: string, hold: Hold): void {
    let batch = completions.get(queue);
    if (!batch) completions.set(queue, (batch = { pending: [], inFlight: false, scheduled: false }));
    batch.pending.push({ id, hold });
    scheduleCompletions(queue, batch);
  }

  function scheduleCompletions(queue: string, batch: CompletionBatch): void {
    if (batch.inFlight || batch.scheduled || batch.pending.length === 0) return;
    batch.scheduled = true;
    nextTurn(() => {
      batch.scheduled = false;
      const taken = batch.pending.splice(0, completionBatchSize);
      const ids = taken.map((completion) => completion.id);
      const holds = taken.map((completion) => completion.hold);
      batch.inFlight = true;
      withRetries(
        () => request(CompleteJobsDocument, { queue, ids }),
        () => settleBy(holds),
      )
        .catch((error: unknown) => report(error))
        .finally(() => {
          batch.inFlight = false;
          if (batch.pending.length) scheduleCompletions(queue, batch);
          else {
            completions.delete(queue);
            if (completions.size === 0) for (const resolve of completionWaiters.splice(0)) resolve();
          }
        });
    });
  }

  /** Resolves once every queued completion has been answered (or `timeoutMs` passed). */
  function completionsSettled(timeoutMs: number): Promise<void> {
    if (completions.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      completionWaiters.push(resolve);
      backgroundTimeout(resolve, timeoutMs);
    });
  }

  async function work(job: WorkerJob<TData>): Promise<void> {
    const hold = holdOf(job);
    const settleDeadline = () => settleBy([hold]);
    const touchUntil = async (giveUpAt: () => number) => {
      await withRetries(() => request(TouchJobDocument, { queue: job.queue, id: job.id }), giveUpAt);
      hold.deadline.touched();
    };
    const touch = () => touchUntil(settleDeadline);
    const progress = async (value: unknown) => {
      await withRetries(() => request(ReportProgressDocument, { queue: job.queue, id: job.id, progress: value }), settleDeadline);
    };
    // One automatic heartbeat at a time (one retrying through an outage is not joined by the next),
    // and none retried once the handler is done: the settlement then speaks for the job.
    let beating = false;
    let beatsOver = false;
    const beat = () => {
      if (beating) return;
      beating = true;
      touchUntil(() => (beatsOver ? Number.NEGATIVE_INFINITY : settleDeadline()))
        .catch((error: unknown) => {
          if (!beatsOver) report(error, job);
        })
        .finally(() => (beating = false));
    };
    const heartbeat = job.heartbeatSeconds ? setInterval(beat, (job.heartbeatSeconds * 1000) / 2) : undefined;
    const stopBeats = () => {
      beatsOver = true;
      clearInterval(heartbeat);
    };
    let handedOff = false;
    const handOff = () => {
      handedOff = true;
      stopBeats();
    };
    try {
      let output: object | null;
      try {
        output = toOutput(await options.handler(job, { signal: abort.signal, touch, progress, handOff }));
      } catch (error) {
        stopBeats();
        if (!handedOff) await withRetries(() => request(FailJobDocument, { queue: job.queue, id: job.id, error: toFailure(error) }), settleDeadline);
        return;
      }
      stopBeats();
      if (handedOff) return;
      if (output === null) queueCompletion(job.queue, job.id, hold);
      else await withRetries(() => request(CompleteJobDocument, { queue: job.queue, id: job.id, output }), settleDeadline);
    } catch (error) {
      // Typically CONFLICT (the connection dropped and the job moved on), or a retryable
      // answer still coming when the hold went stale or stop's timeout passed.
      report(error, job);
    } finally {
      stopBeats();
    }
  }

  function subscribe(attempt = 0): void {
    if (stopping) return;
    client.subscribe(
      { query: WorkAssignedDocument.toString(), variables: { queues: options.queues, concurrency, groupConcurrency: toGroupInput(options.groupConcurrency) } },
      {
        next: (result) => {
          if (result.errors?.length) {
            fatal = JobgateError.fromErrors(result.errors);
            report(fatal);
            return;
          }
          for (const assigned of (result.data?.workAssignedBatches ?? []) as WorkerJob<TData>[]) {
            const task = work(assigned).finally(() => running.delete(task));
            running.add(task);
          }
        },
        error: (error) => {
          if (stopping) return;
          const reason = asJobgateError(error);
          fatal = reason;
          void shutdown().then(() => fail(reason));
        },
        complete: () => {
          if (stopping) return;
          if (fatal) {
            const error = fatal;
            void shutdown().then(() => fail(error));
            return;
          }
          // The gateway ended the subscription (e.g. it is restarting): subscribe again.
          backgroundTimeout(() => subscribe(attempt + 1), Math.min(maxDelay, minDelay * 2 ** attempt));
        },
      },
    );
  }

  async function shutdown(): Promise<void> {
    if (stopping) return;
    stopping = true;
    const stopTimeoutMs = options.stopTimeoutMs ?? 30_000;
    stopDeadline = Date.now() + stopTimeoutMs;
    await request(PauseWorkDocument, {}).catch(() => {});
    const timeout = new Promise<void>((resolve) => backgroundTimeout(resolve, stopTimeoutMs));
    await Promise.race([Promise.all([...running]), timeout]);
    abort.abort();
    await Promise.all([...running]);
    // Let batched completions go out, and their answers come back (retried up to stop's timeout), before the socket closes.
    await completionsSettled(Math.max(5_000, stopDeadline - Date.now()));
    stopDeadline = Number.NEGATIVE_INFINITY;
    await client.dispose();
  }

  subscribe();

  return {
    get running() {
      return running.size;
    },
    done,
    stop: async () => {
      await shutdown();
      finish();
    },
  };
}
