import { JOB_STATES, type JobState } from '../tenant/job-record.ts';

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

/** Parses one NOTIFY line written by the job trigger (or a progress report, op P); null for anything else. */
export function parseJobEvent(payload: string, at: Date): RawJobEvent | null {
  const [op, state, name, jobId, retryCount, progress] = payload.split('\t');
  if (!op || !state || !name || !jobId || !(JOB_STATES as readonly string[]).includes(state)) return null;
  const jobState = state as JobState;
  if (op === 'P') {
    if (progress === undefined) return null;
    return { type: 'PROGRESS', name, jobId, state: jobState, retryCount: Number(retryCount ?? 0), at, progress: JSON.parse(progress) as unknown };
  }
  const type = op === 'D' ? 'DELETED' : op === 'I' || op === 'U' ? eventTypeForState(jobState) : (SAME_STATE_EVENT[op] ?? null);
  if (!type) return null;
  return { type, name, jobId, state: jobState, retryCount: Number(retryCount ?? 0), at };
}
