import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { Connection, LiveStatus } from './client.ts';
import { followEvents, type FollowHandlers, type LiveEvent } from './follow.ts';
import { throttle } from './throttle.ts';

export type { LiveEvent } from './follow.ts';

// One jobEvents subscription for the whole dashboard (the tenant's every
// queue). Views listen to it and refetch what they show, throttled: the
// gateway pushes, nothing polls. After a drop it resumes from its last event,
// so views refetch from the events of the drop, not all at once.

/** Codes a resumed stream fails with when its cursor cannot be resumed from: it starts again from now. */
const UNRESUMABLE = new Set(['CURSOR_EXPIRED', 'BAD_USER_INPUT']);

type Listener = (event: LiveEvent) => void;

interface LiveValue {
  status: LiveStatus;
  /** Bumped when events may have been missed (a drop the stream could not resume from), so views refetch. */
  epoch: number;
  listen(listener: Listener): () => void;
  /** A stream of its own (one job's, for its timeline) after `after`, resumed across drops like the dashboard's. */
  follow(filter: { queue?: string; jobId?: string }, after: string | null, on: FollowHandlers): () => void;
}

const LiveContext = createContext<LiveValue | null>(null);

export function LiveProvider({ connection, enabled, status, children }: { connection: Connection; enabled: boolean; status: LiveStatus; children: ReactNode }) {
  const listeners = useRef(new Set<Listener>());
  const [epoch, setEpoch] = useState(0);

  useEffect(() => {
    if (!enabled) return;
    let stop = () => {};
    const start = (after: string | null) => {
      let last = after;
      stop = followEvents(connection, {}, after, {
        event: (event) => {
          last = event.cursor;
          for (const listener of listeners.current) listener(event);
        },
        missed: () => setEpoch((value) => value + 1),
        failed: (code) => {
          // A cursor the gateway no longer resumes from: start again from now, and views refetch.
          if (last === null || code === undefined || !UNRESUMABLE.has(code)) return;
          setEpoch((value) => value + 1);
          start(null);
        },
      });
    };
    start(null);
    return () => stop();
  }, [connection, enabled]);

  const listen = useCallback((listener: Listener) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);
  const follow = useCallback<LiveValue['follow']>((filter, after, on) => followEvents(connection, filter, after, on), [connection]);
  const value = useMemo<LiveValue>(() => ({ status: enabled ? status : 'offline', epoch, listen, follow }), [enabled, status, epoch, listen, follow]);
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

export function useLive(): LiveValue {
  const value = useContext(LiveContext);
  if (!value) throw new Error('useLive outside LiveProvider');
  return value;
}

/**
 * Calls `onEvent` for each matching event at once, and `refresh` for matching
 * events at most once per `intervalMs` (and whenever events may have been missed).
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
