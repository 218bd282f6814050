import { stringifyDocument } from 'urql';
import type { Connection } from './client.ts';
import type { DashboardFollowEventsSubscription, JobEventType, JobState } from './generated/graphql.ts';
import { graphql } from './generated/index.ts';

const FollowEvents = graphql(`
  subscription DashboardFollowEvents($queue: String, $jobId: ID, $after: String) {
    jobEvents(queue: $queue, jobId: $jobId, after: $after) {
      type
      queue
      jobId
      state
      retryCount
      at
      cursor
    }
  }
`);

export interface LiveEvent {
  type: JobEventType;
  queue: string;
  jobId: string;
  state: JobState;
  retryCount: number;
  at: string;
  /** Where the stream stands after this event (JobEvent.cursor). */
  cursor: string;
}

export interface FollowHandlers {
  event(event: LiveEvent): void;
  /** The socket reconnected before any event came: those of the drop were missed. */
  missed(): void;
  /** The stream ended with an error (e.g. CURSOR_EXPIRED after a long drop); its code when the gateway gave one. */
  failed(code: string | undefined, message: string): void;
}

interface GatewayError {
  message?: string;
  extensions?: { code?: string };
}

function firstError(error: unknown): GatewayError {
  const first: unknown = Array.isArray(error) ? error[0] : error;
  return typeof first === 'object' && first !== null ? first : {};
}

/**
 * jobEvents after `after` (from now when null), filtered by queue and job,
 * that resumes after the last event delivered whenever the socket drops and
 * reconnects: events of the drop come then, none twice. Returns the stop function.
 */
export function followEvents(connection: Connection, filter: { queue?: string; jobId?: string }, after: string | null, on: FollowHandlers): () => void {
  let cursor = after;
  let ended = false;
  const stopReconnects = connection.onReconnected(() => {
    if (cursor === null) on.missed();
  });
  const fail = (error: unknown) => {
    if (ended) return;
    ended = true;
    stopReconnects();
    const { extensions, message } = firstError(error);
    on.failed(extensions?.code, message ?? 'the live updates stopped');
  };
  const unsubscribe = connection.subscribe<DashboardFollowEventsSubscription>(stringifyDocument(FollowEvents), () => ({ ...filter, after: cursor }), {
    next: (result) => {
      if (ended) return;
      if (result.errors?.length) return fail(result.errors);
      const event = result.data?.jobEvents;
      if (!event) return;
      cursor = event.cursor;
      on.event(event);
    },
    error: fail,
    complete: () => fail(undefined),
  });
  return () => {
    ended = true;
    stopReconnects();
    unsubscribe();
  };
}
