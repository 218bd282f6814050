import { createContext, useCallback, useContext, useEffect, useMemo, useRef, type ReactNode } from 'react';
import { useClient } from 'urql';
import type { LiveStatus } from './client.ts';
import type { JobEventType, JobState } from './generated/graphql.ts';
import { graphql } from './generated/index.ts';
import { throttle } from './throttle.ts';

// One jobEvents subscription for the whole dashboard (the tenant's every
// queue). Views listen to it and refetch what they show, throttled: the
// gateway pushes, nothing polls.

const JobEventsSubscription = graphql(`
  subscription DashboardJobEvents {
    jobEvents {
      type
      queue
      jobId
      state
      retryCount
      at
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
}

type Listener = (event: LiveEvent) => void;

interface LiveValue {
  status: LiveStatus;
  /** Bumped on every reconnect: events may have been missed, so views refetch. */
  epoch: number;
  listen(listener: Listener): () => void;
  /** Events of one job seen since the dashboard opened, oldest first. */
  seen(jobId: string): readonly LiveEvent[];
}

const LiveContext = createContext<LiveValue | null>(null);

/** How many jobs' events are remembered for their timelines. */
const REMEMBERED_JOBS = 5_000;
const EVENTS_PER_JOB = 50;

export function LiveProvider({ enabled, status, epoch, children }: { enabled: boolean; status: LiveStatus; epoch: number; children: ReactNode }) {
  const client = useClient();
  const listeners = useRef(new Set<Listener>());
  const history = useRef(new Map<string, LiveEvent[]>());

  useEffect(() => {
    if (!enabled) return;
    const { unsubscribe } = client.subscription(JobEventsSubscription, {}).subscribe((result) => {
      const event = result.data?.jobEvents;
      if (!event) return;
      const log = history.current;
      const events = log.get(event.jobId) ?? [];
      log.delete(event.jobId); // re-insert: the map's order is least recently seen first
      log.set(event.jobId, [...events.slice(-(EVENTS_PER_JOB - 1)), event]);
      if (log.size > REMEMBERED_JOBS) log.delete(log.keys().next().value!);
      for (const listener of listeners.current) listener(event);
    });
    return unsubscribe;
  }, [client, enabled]);

  const listen = useCallback((listener: Listener) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);
  const seen = useCallback((jobId: string) => history.current.get(jobId) ?? [], []);
  const value = useMemo<LiveValue>(() => ({ status: enabled ? status : 'offline', epoch, listen, seen }), [enabled, status, epoch, listen, seen]);
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

export function useLive(): LiveValue {
  const value = useContext(LiveContext);
  if (!value) throw new Error('useLive outside LiveProvider');
  return value;
}

/**
 * Calls `onEvent` for each matching event at once, and `refresh` for matching
 * events at most once per `intervalMs` (and after every reconnect).
 */
export function useLiveRefresh(match: (event: LiveEvent) => boolean, refresh: () => void, intervalMs: number, onEvent?: (event: LiveEvent) => void): void {
  const live = useLive();
  const latest = useRef({ match, refresh, onEvent });
  latest.current = { match, refresh, onEvent };

  useEffect(() => {
    const throttled = throttle(() => latest.current.refresh(), intervalMs);
    const stop = live.listen((event) => {
      if (!latest.current.match(event)) return;
      latest.current.onEvent?.(event);
      throttled();
    });
    return () => {
      stop();
      throttled.cancel();
    };
  }, [live.listen, intervalMs]);

  const firstEpoch = useRef(live.epoch);
  useEffect(() => {
    if (live.epoch !== firstEpoch.current) latest.current.refresh();
  }, [live.epoch]);
}
