import { setMaxListeners } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import {
  createSourceEventStream,
  executeSubscriptionEvent,
  mapSourceToResponseEvent,
  validateSubscriptionArgs,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';
import { DatabaseShareRefused, type TenantDatabaseShare } from '../auth/tenant-database-share.ts';
import type { TenantLimiter } from '../auth/tenant-limiter.ts';
import { clientError } from '../errors.ts';
import type { Context } from '../graphql/context.ts';
import type { GatewayMetrics } from './metrics.ts';
import { isPushSubscription } from './push-fields.ts';
import { cursorOf, setEventId } from './sse-event-ids.ts';

/** What the transports add to the context: Yoga's fetch Request and node request over HTTP, the upgraded socket over graphql-ws. */
type TransportContext = Context & { request?: Request; req?: IncomingMessage; socket?: Socket };

/** An answer no one will read: its client went away while it waited for a slot. */
const UNREAD: ExecutionResult = {};

const socketClosed = new WeakMap<Socket, AbortSignal>();

/** Aborts when the socket closes: one listener per socket, however many of its operations wait. */
function closedSignal(socket: Socket): AbortSignal {
  let signal = socketClosed.get(socket);
  if (signal) return signal;
  const controller = new AbortController();
  setMaxListeners(Infinity, controller.signal);
  if (socket.destroyed) controller.abort();
  else socket.once('close', () => controller.abort());
  socketClosed.set(socket, (signal = controller.signal));
  return signal;
}

/** Aborts once the operation's client is gone: the HTTP request ended, or the WebSocket closed. */
function clientGone(context: TransportContext): AbortSignal | undefined {
  if (context.request) return context.request.signal;
  const socket = context.req?.socket ?? context.socket;
  return socket ? closedSignal(socket) : undefined;
}

/** The result stream of a subscription; ending it also ends an event's wait for a slot. */
function endingWaits(results: AsyncGenerator<ExecutionResult, void, void>, ended: AbortController): AsyncGenerator<ExecutionResult, void, void> {
  const end = () => ended.abort();
  const stream: AsyncGenerator<ExecutionResult, void, void> = {
    next: () => results.next(),
    return: (value) => (end(), results.return(value)),
    throw: (error) => (end(), results.throw(error)),
    [Symbol.asyncIterator]: () => stream,
    [Symbol.asyncDispose]: async () => {
      await stream.return(undefined);
    },
  };
  return stream;
}

/**
 * The database work of one operation in one of its tenant's slots (see
 * TenantDatabaseShare): a query's or mutation's execution; a subscription's
 * start and each of its events, never the time in between. Settlements and
 * subscription events wait however long it takes; the rest are refused
 * (RATE_LIMITED, limit `database`) when too many of the tenant's wait or a
 * wait exceeds its bound.
 */
export class OperationDatabaseShare {
  readonly #share: TenantDatabaseShare;
  readonly #limiter: TenantLimiter;
  readonly #metrics: GatewayMetrics;

  constructor(share: TenantDatabaseShare, limiter: TenantLimiter, metrics: GatewayMetrics) {
    this.#share = share;
    this.#limiter = limiter;
    this.#metrics = metrics;
  }

  /** Runs `work` in a slot; a refusal or a client gone mid-wait is its result instead. */
  async run<T>(context: Context, refusable: boolean, work: () => T | Promise<T>): Promise<T | ExecutionResult> {
    const tenant = context.viewer.tenant;
    // As many may wait as the tenant's operation rate admits in one burst.
    const maxWaiting = this.#limiter.limitsFor(tenant).operationsPerSecond * 2;
    const signal = clientGone(context);
    let release;
    try {
      release = await this.#share.acquire(tenant.id, { refusable, maxWaiting, signal });
    } catch (error) {
      if (!(error instanceof DatabaseShareRefused)) return UNREAD;
      this.#metrics.rateLimited.inc({ tenant: tenant.id, limit: 'database' });
      return { errors: [clientError('RATE_LIMITED', error.message, { limit: 'database', reason: error.reason, http: { status: 429 } })] };
    }
    try {
      return await work();
    } finally {
      release();
    }
  }

  /** A subscribe function: the stream starts in a slot, and each event is executed in one. */
  async subscribe(args: ExecutionArgs): Promise<AsyncGenerator<ExecutionResult, void, void> | ExecutionResult> {
    const context = args.contextValue as Context;
    const validated = validateSubscriptionArgs(args);
    if (!('schema' in validated)) return { errors: validated };
    const source = await this.run(context, true, () => createSourceEventStream(validated));
    if (!(Symbol.asyncIterator in source)) return source;
    // Pushes of jobs resolve from memory what is already held for the worker: no slot per event.
    if (isPushSubscription(validated.operation)) return mapSourceToResponseEvent(validated, source);
    const tenantId = context.viewer.tenant.id;
    const ended = new AbortController();
    const executeEvent = (event: typeof validated) =>
      this.#share
        .run(tenantId, { refusable: false, maxWaiting: Infinity, signal: ended.signal }, async () => {
          const result = await executeSubscriptionEvent(event);
          const cursor = cursorOf(event.rootValue);
          if (cursor !== undefined) setEventId(result, cursor);
          return result;
        })
        .catch((error: unknown) => {
          if (ended.signal.aborted) return UNREAD;
          throw error;
        });
    return endingWaits(mapSourceToResponseEvent(validated, source, executeEvent), ended);
  }
}
