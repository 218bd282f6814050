import type { ServerResponse } from 'node:http';

/** Which bound a slow consumer went past: events held for it, or bytes waiting to be written to it. */
export type SlowConsumerLimit = 'events' | 'bytes';

/**
 * The connection a subscriber's messages leave by, as the slow-consumer
 * bounds see it. Read once per message, so every member costs O(1).
 */
export interface Outbound {
  /** `JOBGATE_MAX_BUFFERED_BYTES`: with more than this waiting, the subscriber is dropped. */
  readonly maxBufferedBytes: number;
  /** Bytes given to the connection that the kernel has not taken yet. */
  bufferedBytes(): number;
  /** Drops the connection of a subscriber too slow to keep up. */
  drop(limit: SlowConsumerLimit): void;
}

/** Nowhere to write (an operation run without a connection): never over a bound. */
export const NO_OUTBOUND: Outbound = { maxBufferedBytes: Infinity, bufferedBytes: () => 0, drop: () => {} };

/**
 * An HTTP response (server-sent events, multipart): what it and its socket
 * hold unwritten, and dropping it destroys its connection. Its client is not
 * reading, so a last event or closing delimiter would never reach it.
 */
export function responseOutbound(res: ServerResponse, maxBufferedBytes: number, dropped: (limit: SlowConsumerLimit) => void): Outbound {
  return {
    maxBufferedBytes,
    bufferedBytes: () => res.writableLength,
    drop(limit) {
      if (res.destroyed) return;
      dropped(limit);
      res.destroy();
    },
  };
}
