import { getArgumentValues, getVariableValues, Kind, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Gauge } from 'prom-client';
import type { Context } from '../graphql/context.ts';
import { operationOf } from './operation-plugins.ts';
import type { Outbound, SlowConsumerLimit } from './outbound.ts';

type SubscribeHook = NonNullable<Plugin<Context>['onSubscribe']>;
type SubscribeFunction = Parameters<SubscribeHook>[0]['subscribeFn'];
type SubscribeArgs = Parameters<SubscribeFunction>[0];

/** Root subscription fields whose events are the same for every subscriber with the same document, variables and viewer. */
const SHAREABLE_FIELDS = new Set(['jobEvents']);
/** Arguments that, when given, start a subscription of its own (jobEvents(jobId) first yields the job's final state; `after` replays). */
const UNSHAREABLE_ARGUMENTS = new Set(['jobId', 'after']);

const documentIds = new WeakMap<DocumentNode, number>();
let nextDocumentId = 0;

/**
 * Subscriptions that would execute every event identically (same tenant,
 * scopes, document and variables once coerced, defaults applied) get one
 * key; the rest get null. Whether an argument such as `jobId` is given is
 * decided on the field's resolved arguments, as its resolver will see them:
 * a literal, a variable or a variable's default value alike.
 */
export function shareKey(args: SubscribeArgs, context: Context): string | null {
  // Envelop types these `any`.
  const document = args.document as DocumentNode;
  const schema = args.schema as GraphQLSchema;
  const operationName = args.operationName as string | null | undefined;
  const operation = operationOf(document, operationName);
  if (operation?.operation !== 'subscription' || operation.selectionSet.selections.length !== 1) return null;
  const field = operation.selectionSet.selections[0]!;
  if (field.kind !== Kind.FIELD || !SHAREABLE_FIELDS.has(field.name.value) || field.directives?.length) return null;
  const definition = schema.getSubscriptionType()?.getFields()[field.name.value];
  // Variables that do not coerce: the subscriber's own execution reports it.
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], (args.variableValues ?? {}) as Record<string, unknown>);
  if (!definition || coerced.errors) return null;
  const resolved = getArgumentValues(definition, field, coerced.variableValues);
  if ([...UNSHAREABLE_ARGUMENTS].some((name) => resolved[name] !== undefined && resolved[name] !== null)) return null;
  let documentId = documentIds.get(document);
  if (documentId === undefined) documentIds.set(document, (documentId = nextDocumentId++));
  // An EventSource resuming: its Last-Event-ID replays like `after`.
  if (context.lastEventId !== null) return null;
  const { viewer } = context;
  const variables = JSON.stringify(coerced.variableValues.coerced);
  return [documentId, operationName ?? '', viewer.tenant.id, [...viewer.scopes].sort().join(','), variables].join('\n');
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** A result as it goes to members: serialized once when members can take it as written bytes. */
interface SharedResult {
  result: ExecutionResult;
  /** The `payload` of graphql-ws's `next` message; null when it carries errors (those go through the plugins of each member). */
  json: string | null;
  /** Its size as JSON (UTF-16 units, near enough to bytes): what it holds while it waits for a member. */
  size: number;
}

type WriteNext = (payloadJson: string, written: () => void) => boolean;

/**
 * One subscriber of a shared stream. While nothing of its own is in flight,
 * an event goes straight to its socket as bytes serialized once for all
 * members; otherwise (an error result, or no socket: HTTP) it is yielded to
 * graphql-ws like any subscription's result, and later events queue behind it
 * so the order holds. Either way at most `bufferSize` events, and the
 * outbound's bytes (its queue and its connection's unwritten bytes), wait for
 * a subscriber; past either it is dropped as a slow consumer.
 */
class Member implements AsyncIterableIterator<ExecutionResult> {
  readonly #stream: SharedStream;
  readonly #bufferSize: number;
  readonly #writeNext: WriteNext | null;
  readonly #outbound: Outbound;
  /** Without `json`: an HTTP member's queue would otherwise keep each event twice. */
  readonly #backlog: Omit<SharedResult, 'json'>[] = [];
  readonly #written = () => {
    this.#unwritten--;
  };
  #unwritten = 0;
  #backlogSize = 0;
  /** A result was handed to graphql-ws, which asks for the next one only after sending it. */
  #yielded = false;
  #waiting: ((result: IteratorResult<ExecutionResult, undefined>) => void) | null = null;
  #failWaiting: ((error: unknown) => void) | null = null;
  #ended = false;
  #error: { error: unknown } | null = null;

  constructor(stream: SharedStream, bufferSize: number, writeNext: WriteNext | null, outbound: Outbound) {
    this.#stream = stream;
    this.#bufferSize = bufferSize;
    this.#writeNext = writeNext;
    this.#outbound = outbound;
  }

  push(shared: SharedResult): void {
    if (this.#ended) return;
    // Not reading: an error would never reach it.
    if (this.#unwritten + this.#backlog.length >= this.#bufferSize) return this.overflow('events');
    if (this.#backlogSize + this.#outbound.bufferedBytes() > this.#outbound.maxBufferedBytes) return this.overflow('bytes');
    if (shared.json !== null && this.#writeNext && !this.#yielded && this.#backlog.length === 0) {
      this.#unwritten++;
      if (!this.#writeNext(shared.json, this.#written)) this.#unwritten--;
    } else if (this.#waiting) {
      const resolve = this.#waiting;
      this.#waiting = this.#failWaiting = null;
      this.#yielded = true;
      resolve({ done: false, value: shared.result });
    } else {
      this.#backlog.push({ result: shared.result, size: shared.size });
      this.#backlogSize += shared.size;
    }
  }

  /** Ends the stream for this member and drops its connection as a slow consumer. */
  overflow(limit: SlowConsumerLimit): void {
    this.#leave();
    this.#outbound.drop(limit);
  }

  /** The shared stream ended (or failed): what is queued is still delivered. */
  end(error?: { error: unknown }): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error ?? null;
    if (!this.#waiting) return;
    const [resolve, reject] = [this.#waiting, this.#failWaiting];
    this.#waiting = this.#failWaiting = null;
    if (this.#error) reject?.(this.#takeError());
    else resolve(DONE);
  }

  #takeError(): unknown {
    const { error } = this.#error!;
    this.#error = null;
    return error;
  }

  #leave(): void {
    if (!this.#ended) this.#stream.leave(this);
    this.end();
    this.#backlog.length = 0;
    this.#backlogSize = 0;
  }

  next(): Promise<IteratorResult<ExecutionResult, undefined>> {
    this.#yielded = false;
    const queued = this.#backlog.shift();
    if (queued) {
      this.#yielded = true;
      this.#backlogSize -= queued.size;
      return Promise.resolve({ done: false, value: queued.result });
    }
    if (this.#error) return Promise.reject(this.#takeError());
    if (this.#ended) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => {
      this.#waiting = resolve;
      this.#failWaiting = reject;
    });
  }

  return(): Promise<IteratorResult<ExecutionResult, undefined>> {
    this.#leave();
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** One executed subscription whose results go to every member. */
class SharedStream {
  readonly #source: AsyncIterator<ExecutionResult>;
  readonly #onClose: () => void;
  readonly #members = new Set<Member>();
  #pumping = false;
  closed = false;

  constructor(source: AsyncIterator<ExecutionResult>, onClose: () => void) {
    this.#source = source;
    this.#onClose = onClose;
  }

  join(bufferSize: number, writeNext: WriteNext | null, outbound: Outbound): Member {
    const member = new Member(this, bufferSize, writeNext, outbound);
    this.#members.add(member);
    if (!this.#pumping) {
      this.#pumping = true;
      void this.#pump();
    }
    return member;
  }

  /** Every member is dropped as a slow consumer. */
  overflow(): void {
    for (const member of [...this.#members]) member.overflow('events');
  }

  leave(member: Member): void {
    this.#members.delete(member);
    if (this.#members.size === 0) this.#close();
  }

  #close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#onClose();
    // A pending next() then resolves done and the pump stops.
    this.#source.return?.().catch(() => {});
  }

  async #pump(): Promise<void> {
    let failure: { error: unknown } | undefined;
    try {
      for (;;) {
        const next = await this.#source.next();
        if (next.done || this.closed) break;
        const json = next.value.errors ? null : JSON.stringify(next.value);
        const shared: SharedResult = { result: next.value, json, size: (json ?? JSON.stringify(next.value)).length };
        for (const member of this.#members) member.push(shared);
      }
    } catch (error) {
      failure = { error };
    }
    this.#close();
    for (const member of this.#members) member.end(failure);
    this.#members.clear();
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<ExecutionResult> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/**
 * Subscribers with the same share key (see `shareKey`) share one execution:
 * each event is resolved once (one `job` lookup), serialized once, and
 * written to each subscriber's socket. Admission, limits and metrics still
 * run per subscriber (plugins before this one), and results with errors
 * still pass each subscriber's plugins; each subscriber is dropped as a slow
 * consumer once `bufferSize` of its events, or more bytes than its outbound
 * allows, wait.
 */
export function useSharedSubscriptions(bufferSize: number, streamsGauge: Gauge<'tenant'>): Plugin<Context> {
  const streams = new Map<string, Promise<SharedStream | null>>();

  const subscribe = (
    key: string,
    args: SubscribeArgs,
    subscribeFn: SubscribeFunction,
    context: Context,
  ): Promise<AsyncIterable<ExecutionResult> | ExecutionResult> => {
    const { connection, outbound } = context;
    const writeNext = connection ? connection.sendNext : null;
    const existing = streams.get(key);
    if (existing) {
      // Joiners wait for the stream the first subscriber is starting; if it did not start one, they try themselves.
      return existing.then((stream) => (stream && !stream.closed ? stream.join(bufferSize, writeNext, outbound) : subscribe(key, args, subscribeFn, context)));
    }
    const labels = { tenant: context.viewer.tenant.id };
    const openStream = (result: AsyncIterable<ExecutionResult>) => {
      streamsGauge.inc(labels);
      return (opened = new SharedStream(result[Symbol.asyncIterator](), () => {
        streamsGauge.dec(labels);
        if (streams.get(key) === starting) streams.delete(key);
      }));
    };
    // Events pile up before the stream only while resolving them lags behind: every member would
    // have lagged alike, so every member is cut (the creator's connection alone would be).
    let opened: SharedStream | null = null;
    const contextValue: Context = { ...context, events: context.events.withOverflow(() => opened?.overflow()) };
    // Envelop types a subscribe function's result `any`.
    const started = Promise.resolve().then(() => subscribeFn({ ...args, contextValue }) as Promise<AsyncIterable<ExecutionResult> | ExecutionResult>);
    const starting: Promise<SharedStream | null> = started.then(
      (result) => (isAsyncIterable(result) ? openStream(result) : null),
      () => null,
    );
    streams.set(key, starting);
    return starting.then<AsyncIterable<ExecutionResult> | ExecutionResult>((stream) => {
      if (stream) return stream.join(bufferSize, writeNext, outbound);
      if (streams.get(key) === starting) streams.delete(key);
      // Refused (an error result) or threw: this subscriber gets what its own subscribe gave.
      return started;
    });
  };

  return {
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      const key = shareKey(args, args.contextValue);
      if (key !== null) setSubscribeFn((subscribeArgs) => subscribe(key, subscribeArgs, subscribeFn, args.contextValue));
    },
  };
}
