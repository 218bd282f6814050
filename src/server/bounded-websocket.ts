import { WebSocket } from 'ws';

type Data = Parameters<WebSocket['send']>[0];
type SendOptions = Parameters<WebSocket['send']>[1];
type Written = (error?: Error) => void;

/**
 * A `ws` socket class (for WebSocketServer's `WebSocket` option) that refuses
 * a message while more than `maxBufferedBytes` already wait to be written
 * (`bufferedAmount`: what Node and ws queued and the kernel did not take), and
 * calls `overBuffered` instead. So at most the bound and one message wait for
 * a subscriber, and a single message larger than the bound still goes to a
 * client that keeps up.
 */
export function boundedWebSocket(maxBufferedBytes: number, overBuffered: (socket: WebSocket) => void): typeof WebSocket {
  return class BoundedWebSocket extends WebSocket {
    override send(data: Data, optionsOrWritten?: SendOptions | Written, written?: Written): void {
      const callback = typeof optionsOrWritten === 'function' ? optionsOrWritten : written;
      if (this.readyState === WebSocket.OPEN && this.bufferedAmount > maxBufferedBytes) {
        overBuffered(this);
        // Dropped, as the socket is going: graphql-ws treats a failed write as an internal error.
        if (callback) process.nextTick(callback);
        return;
      }
      if (typeof optionsOrWritten === 'object') super.send(data, optionsOrWritten, written);
      else super.send(data, callback);
    }
  };
}
