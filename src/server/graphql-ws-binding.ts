import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { CloseCode, handleProtocols, makeServer, type ConnectionInitMessage, type Disposable, type ServerOptions } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../logger.ts';
import { KeepAlive } from './keep-alive.ts';

/**
 * What a connection's graphql-ws handlers get besides their own fields: the
 * socket and what the upgrade request told. The request itself (headers and
 * all) is not kept for the connection's life.
 */
export interface SocketExtra {
  readonly socket: WebSocket;
  /** The upgraded TCP socket. */
  readonly tcpSocket: Socket;
  /** The client's address, as `clientAddress` reads it from the upgrade request. */
  readonly address: string;
}

/**
 * graphql-ws's protocol on a `ws` server, as graphql-ws's own `useServer`
 * serves it, but lighter per connection: one keep-alive timer for all sockets,
 * the upgrade request dropped once read, and socket and handler errors in the
 * log (at debug for a client's bad frames, which ws has already closed the
 * socket for) rather than on console.error, where any client could flood it.
 */
export function serveGraphqlWs<P extends ConnectionInitMessage['payload'], E extends Record<PropertyKey, unknown>>(
  options: ServerOptions<P, SocketExtra & Partial<E>>,
  wss: WebSocketServer,
  keepAliveMs: number,
  addressOf: (request: IncomingMessage) => string,
  logger: Logger,
): Disposable {
  const server = makeServer(options);
  const keepAlive = new KeepAlive(keepAliveMs);
  wss.options.handleProtocols = handleProtocols;
  wss.once('error', (error) => {
    logger.error({ err: error }, 'websocket server error');
    for (const client of wss.clients) client.close(CloseCode.InternalServerError, 'Internal server error');
  });
  wss.on('connection', (socket, request) => {
    socket.on('error', (error) => logger.debug({ err: error }, 'websocket protocol error from a client'));
    keepAlive.add(socket);
    const extra: SocketExtra = { socket, tcpSocket: request.socket, address: addressOf(request) };
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (error) => (error ? reject(error) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', (data) => {
            // A Buffer: the server's sockets keep ws's default binaryType.
            handle((data as Buffer).toString()).catch((error: unknown) => {
              logger.error({ err: error }, 'graphql-ws message handling failed');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            });
          }),
      },
      extra as SocketExtra & Partial<E>,
    );
    socket.once('close', (code, reason) => {
      keepAlive.remove(socket);
      void closed(code, String(reason));
    });
  });
  return {
    dispose: async () => {
      keepAlive.stop();
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) => wss.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
