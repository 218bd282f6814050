import type { SendOptions } from 'pg-boss';
import { badInput } from '../errors.ts';
import type { QueueNamespace } from './names.ts';

/** Per-job options a tenant may pass to sendJob, sendJobs and scheduleJob. */
export interface JobSendOptions {
  id?: string | undefined;
  priority?: number | undefined;
  startAfter?: Date | undefined;
  delaySeconds?: number | undefined;
  retryLimit?: number | undefined;
  retryDelay?: number | undefined;
  retryBackoff?: boolean | undefined;
  retryDelayMax?: number | undefined;
  expireInSeconds?: number | undefined;
  heartbeatSeconds?: number | undefined;
  singletonKey?: string | undefined;
  singletonSeconds?: number | undefined;
  singletonNextSlot?: boolean | undefined;
  throttleSeconds?: number | undefined;
  debounceSeconds?: number | undefined;
  deadLetter?: string | undefined;
  retentionSeconds?: number | undefined;
  deleteAfterSeconds?: number | undefined;
  groupId?: string | undefined;
  groupTier?: string | undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string): boolean => UUID.test(value);

const MAX_KEY_LENGTH = 255;

function nonNegative(value: number | undefined, argument: string, min = 0): void {
  if (value !== undefined && (!Number.isInteger(value) || value < min)) {
    throw badInput(`"${argument}" must be an integer ≥ ${min}`, { argument });
  }
}

/** NUL and lone UTF-16 surrogates: PostgreSQL text and jsonb cannot hold them. */
// eslint-disable-next-line no-control-regex -- NUL is what this looks for
const UNSTORABLE_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** The same in JSON text (escaped by JSON.stringify), after an even run of backslashes. */
const UNSTORABLE_JSON = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

export function shortText(value: string | undefined, argument: string): void {
  if (value !== undefined && (value.length === 0 || value.length > MAX_KEY_LENGTH || UNSTORABLE_TEXT.test(value))) {
    throw badInput(`"${argument}" must be 1-${MAX_KEY_LENGTH} characters, without NUL or unpaired surrogates`, { argument });
  }
}

/** Job data: a JSON object or array of at most `maxBytes` bytes as JSON. */
export function assertJobPayload(value: unknown, maxBytes: number, argument = 'data'): object {
  if (value === null || typeof value !== 'object') {
    throw badInput(`"${argument}" must be a JSON object or array`, { argument });
  }
  const json = JSON.stringify(value);
  // Both escapes start with \u; most payloads hold none, and a string of n UTF-16 units is at most 3n bytes.
  if (json.includes('\\u') && UNSTORABLE_JSON.test(json)) {
    throw badInput(`"${argument}" contains a NUL character or an unpaired surrogate, which cannot be stored`, { argument });
  }
  if (json.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > maxBytes) {
      throw badInput(`"${argument}" is ${bytes} bytes of JSON; the limit is ${maxBytes}`, { argument, limit: maxBytes });
    }
  }
  return value;
}

/** Validates tenant options and turns them into pg-boss send options inside the tenant's namespace. */
export function toBossSendOptions(names: QueueNamespace, options: JobSendOptions = {}): SendOptions {
  const o = options;
  if (o.startAfter !== undefined && o.delaySeconds !== undefined) {
    throw badInput('pass either "startAfter" or "delaySeconds", not both', { argument: 'options' });
  }
  const windows = [o.singletonSeconds, o.throttleSeconds, o.debounceSeconds].filter((v) => v !== undefined);
  if (windows.length > 1) {
    throw badInput('pass at most one of "singletonSeconds", "throttleSeconds" and "debounceSeconds"', { argument: 'options' });
  }
  if (o.id !== undefined && !isUuid(o.id)) throw badInput('"id" must be a UUID', { argument: 'id' });
  if (o.groupTier !== undefined && o.groupId === undefined) {
    throw badInput('"groupTier" needs "groupId"', { argument: 'groupTier' });
  }
  nonNegative(o.delaySeconds, 'delaySeconds');
  nonNegative(o.retryLimit, 'retryLimit');
  nonNegative(o.retryDelay, 'retryDelay');
  nonNegative(o.retryDelayMax, 'retryDelayMax');
  nonNegative(o.expireInSeconds, 'expireInSeconds', 1);
  nonNegative(o.heartbeatSeconds, 'heartbeatSeconds', 10);
  nonNegative(o.singletonSeconds, 'singletonSeconds', 1);
  nonNegative(o.throttleSeconds, 'throttleSeconds', 1);
  nonNegative(o.debounceSeconds, 'debounceSeconds', 1);
  nonNegative(o.retentionSeconds, 'retentionSeconds', 1);
  nonNegative(o.deleteAfterSeconds, 'deleteAfterSeconds');
  shortText(o.singletonKey, 'singletonKey');
  shortText(o.groupId, 'groupId');
  shortText(o.groupTier, 'groupTier');

  const send: SendOptions = {};
  if (o.id !== undefined) send.id = o.id;
  if (o.priority !== undefined) send.priority = o.priority;
  if (o.startAfter !== undefined) send.startAfter = o.startAfter;
  if (o.delaySeconds !== undefined) send.startAfter = o.delaySeconds;
  if (o.retryLimit !== undefined) send.retryLimit = o.retryLimit;
  if (o.retryDelay !== undefined) send.retryDelay = o.retryDelay;
  if (o.retryBackoff !== undefined) send.retryBackoff = o.retryBackoff;
  if (o.retryDelayMax !== undefined) send.retryDelayMax = o.retryDelayMax;
  if (o.expireInSeconds !== undefined) send.expireInSeconds = o.expireInSeconds;
  if (o.heartbeatSeconds !== undefined) send.heartbeatSeconds = o.heartbeatSeconds;
  if (o.singletonKey !== undefined) send.singletonKey = o.singletonKey;
  if (o.singletonSeconds !== undefined) send.singletonSeconds = o.singletonSeconds;
  if (o.singletonNextSlot !== undefined) send.singletonNextSlot = o.singletonNextSlot;
  if (o.throttleSeconds !== undefined) send.singletonSeconds = o.throttleSeconds;
  if (o.debounceSeconds !== undefined) {
    send.singletonSeconds = o.debounceSeconds;
    send.singletonNextSlot = true;
  }
  if (o.deadLetter !== undefined) send.deadLetter = names.qualify(o.deadLetter, 'deadLetter');
  if (o.retentionSeconds !== undefined) send.retentionSeconds = o.retentionSeconds;
  if (o.deleteAfterSeconds !== undefined) send.deleteAfterSeconds = o.deleteAfterSeconds;
  if (o.groupId !== undefined) send.group = o.groupTier === undefined ? { id: o.groupId } : { id: o.groupId, tier: o.groupTier };
  return send;
}

/** The tenant's view of stored send options (schedules): dead-letter names without the prefix. */
export function fromBossSendOptions(names: QueueNamespace, options: SendOptions | undefined): Record<string, unknown> {
  const { db: _db, deadLetter, ...rest } = options ?? {};
  return deadLetter === undefined ? rest : { ...rest, deadLetter: names.unqualify(deadLetter) };
}
