import type { Socket } from 'node:net';
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
const transports = new WeakMap<WebSocket, Socket>();
/** Sockets corked in this turn, uncorked together once its microtasks are done. */
let corked: Socket[] = [];

/**
 * Messages sent to `webSocket` in one turn of the event loop leave in one
 * write of its TCP socket (corked until the turn's microtasks are done):
 * a subscription's burst of events costs one system call, not one a message.
 */
export function coalesceWrites(webSocket: WebSocket, socket: Socket): void {
  transports.set(webSocket, socket);
}

function uncorkAll(): void {
  const sockets = corked;
  corked = [];
  for (const socket of sockets) socket.uncork();
}

function corkForThisTurn(webSocket: WebSocket): void {
  const socket = transports.get(webSocket);
  if (!socket || socket.writableCorked > 0) return;
  socket.cork();
  if (corked.push(socket) === 1) process.nextTick(uncorkAll);
}

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
      corkForThisTurn(this);
      if (typeof optionsOrWritten === 'object') super.send(data, optionsOrWritten, written);
      else super.send(data, callback);
    }
  };
}
