import type { QueueNamespace } from '../tenant/names.ts';
import type { EventCursors } from './event-cursors.ts';
import type { EventPosition } from './event-position.ts';
import type { JobEventType, RawJobEvent } from './job-event.ts';

/** A job event as its tenant sees it. */
export interface JobEventView {
  type: JobEventType;
  queue: string;
  jobId: string;
  state: RawJobEvent['state'];
  retryCount: number;
  at: Date;
  progress: unknown;
  /** Where the stream resumes after this event, sealed for the tenant. */
  cursor: string;
}

/** The tenant's id, from its queue namespace. */
export function tenantIdOf(names: QueueNamespace): string {
  return names.prefix.slice(0, -1);
}

/** How an event at `position` looks to the tenant of `names`; null for another tenant's. */
export function viewOf(event: RawJobEvent, position: EventPosition, names: QueueNamespace, cursors: EventCursors): JobEventView | null {
  const queue = names.unqualify(event.name);
  if (queue === null) return null;
  const cursor = cursors.seal(tenantIdOf(names), position);
  return {
    type: event.type,
    queue,
    jobId: event.jobId,
    state: event.state,
    retryCount: event.retryCount,
    at: event.at,
    progress: event.progress ?? null,
    cursor,
  };
}
