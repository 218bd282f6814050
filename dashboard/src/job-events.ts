import { useEffect, useState } from 'react';
import { useClient, type OperationResult } from 'urql';
import { errorMessage } from './client.ts';
import type { LiveEvent } from './follow.ts';
import type { DashboardJobEventHistoryQuery } from './generated/graphql.ts';
import { graphql } from './generated/index.ts';
import { useLive } from './live.tsx';

const JobEventHistory = graphql(`
  query DashboardJobEventHistory($queue: String!, $jobId: ID!, $after: String, $first: Int) {
    jobEventHistory(queue: $queue, jobId: $jobId, after: $after, first: $first) {
      nodes {
        type
        queue
        jobId
        state
        retryCount
        at
        cursor
      }
      pageInfo {
        endCursor
        hasNextPage
      }
    }
  }
`);

const PAGE_SIZE = 200;
/** How many of a job's events are kept (the latest): a job reporting progress may have many. */
const MAX_EVENTS = 2_000;

export interface JobEvents {
  /** Oldest first. */
  events: readonly LiveEvent[];
  /** Older events left out past MAX_EVENTS. */
  omitted: number;
  loading: boolean;
  error: string | null;
}

function keepLatest(state: JobEvents, more: readonly LiveEvent[]): JobEvents {
  const all = [...state.events, ...more];
  const cut = Math.max(0, all.length - MAX_EVENTS);
  return { ...state, events: cut ? all.slice(cut) : all, omitted: state.omitted + cut };
}

/**
 * One job's events: its history from the job-event log, page by page, then
 * live from where the history ended, resumed across drops of the socket. A
 * history too old to resume from is read again.
 */
export function useJobEvents(queue: string, jobId: string): JobEvents {
  const client = useClient();
  const live = useLive();
  const [state, setState] = useState<JobEvents>({ events: [], omitted: 0, loading: true, error: null });

  useEffect(() => {
    let current = true;
    let stopFollowing = () => {};
    const load = async () => {
      setState({ events: [], omitted: 0, loading: true, error: null });
      let after: string | null = null;
      for (;;) {
        const result: OperationResult<DashboardJobEventHistoryQuery> = await client
          .query(JobEventHistory, { queue, jobId, after, first: PAGE_SIZE }, { requestPolicy: 'network-only' })
          .toPromise();
        if (!current) return;
        const page = result.data?.jobEventHistory;
        if (!page) {
          setState((previous) => ({ ...previous, loading: false, error: result.error ? errorMessage(result.error) : 'no history' }));
          return;
        }
        setState((previous) => keepLatest(previous, page.nodes));
        after = page.pageInfo.endCursor ?? null;
        if (!page.pageInfo.hasNextPage) break;
      }
      setState((previous) => ({ ...previous, loading: false }));
      stopFollowing = live.follow({ queue, jobId }, after, {
        event: (event) => setState((previous) => keepLatest(previous, [event])),
        // The stream always has a cursor: nothing is missed on a reconnect.
        missed: () => {},
        failed: (code, message) => {
          if (!current) return;
          if (code === 'CURSOR_EXPIRED') void load();
          else setState((previous) => ({ ...previous, error: `Live updates of the timeline stopped: ${message}` }));
        },
      });
    };
    void load();
    return () => {
      current = false;
      stopFollowing();
    };
  }, [client, live.follow, queue, jobId]);

  return state;
}
