import { JOB_STATES, type JobState } from '../tenant/job-record.ts';
import { isPositionPart, positionOf, type EventPosition } from './event-position.ts';

export const JOB_EVENT_TYPES = ['CREATED', 'ACTIVE', 'COMPLETED', 'FAILED', 'CANCELLED', 'RETRY', 'DELETED', 'PROGRESS', 'READY', 'UPDATED'] as const;
export type JobEventType = (typeof JOB_EVENT_TYPES)[number];

/** A state change as it arrives from PostgreSQL: the qualified pg-boss queue name. */
export interface RawJobEvent {
  type: JobEventType;
  /** `<tenantId>/<queue>` */
  name: string;
  jobId: string;
  state: JobState;
  retryCount: number;
  at: Date;
  /** What the holder reported, for PROGRESS. */
  progress?: unknown;
  /** Its place in the job-event log; absent from lines written by an older trigger. */
  position?: EventPosition;
}

const STATE_EVENT: Record<JobState, JobEventType> = {
  created: 'CREATED',
  retry: 'RETRY',
  active: 'ACTIVE',
  completed: 'COMPLETED',
  cancelled: 'CANCELLED',
  failed: 'FAILED',
};

export const FINAL_STATES: ReadonlySet<JobState> = new Set(['completed', 'cancelled', 'failed']);

export function eventTypeForState(state: JobState): JobEventType {
  return STATE_EVENT[state];
}

/** Trigger ops that are no state change: R, a flow's job released by its last parent; M, a waiting job edited (updateJob, upsertJob). */
const SAME_STATE_EVENT: Record<string, JobEventType> = { R: 'READY', M: 'UPDATED' };

/**
 * Parses one NOTIFY line written by the job trigger (or a progress report, op P);
 * null for anything else. Lines are `op, state, queue, job id, retry count,
 * progress, tx, seq`; the progress field is empty but for op P, and an older
 * trigger wrote no position (nor, but for op P, a progress field).
 */
export function parseJobEvent(payload: string, at: Date): RawJobEvent | null {
  const [op, state, name, jobId, retryCount, progress, tx, seq] = payload.split('\t');
  return jobEventOf(op, state, name, jobId, Number(retryCount ?? 0), at, op === 'P' ? progress : undefined, positionOf(tx, seq));
}

/** A NOTIFY line's position, without parsing the rest. */
export function positionOfLine(line: string): EventPosition | undefined {
  const fields = line.split('\t');
  return positionOf(fields[6], fields[7]);
}

/** A NOTIFY line's seq (its last field) as a number, without parsing the rest; a sequence does not reach 2^53. */
export function seqOfLine(line: string): number | undefined {
  const seq = line.slice(line.lastIndexOf('\t') + 1);
  return isPositionPart(seq) ? Number(seq) : undefined;
}

/** A NOTIFY line's qualified queue name (its third field), without parsing the rest. */
export function queueOfLine(line: string): string | undefined {
  const first = line.indexOf('\t');
  const second = first < 0 ? -1 : line.indexOf('\t', first + 1);
  const third = second < 0 ? -1 : line.indexOf('\t', second + 1);
  return third < 0 ? undefined : line.slice(second + 1, third);
}

/**
 * The event of a trigger op and a job's fields, whether from a NOTIFY line or
 * a log row; null for an unknown op or state. `progress`: JSON text (op P).
 */
export function jobEventOf(
  op: string | undefined,
  state: string | undefined,
  name: string | undefined,
  jobId: string | undefined,
  retryCount: number,
  at: Date,
  progress: string | undefined,
  position: EventPosition | undefined,
): RawJobEvent | null {
  if (!op || !state || !name || !jobId || !(JOB_STATES as readonly string[]).includes(state)) return null;
  const jobState = state as JobState;
  const placed = position ? { position } : {};
  if (op === 'P') {
    if (progress === undefined) return null;
    return { type: 'PROGRESS', name, jobId, state: jobState, retryCount, at, progress: JSON.parse(progress) as unknown, ...placed };
  }
  const type = op === 'D' ? 'DELETED' : op === 'I' || op === 'U' ? eventTypeForState(jobState) : (SAME_STATE_EVENT[op] ?? null);
  if (!type) return null;
  return { type, name, jobId, state: jobState, retryCount, at, ...placed };
}
