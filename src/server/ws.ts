import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import { GraphQLError, type DocumentNode, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import { GRAPHQL_TRANSPORT_WS_PROTOCOL, type OperationResult } from 'graphql-ws';
import { WebSocket, WebSocketServer } from 'ws';
import { tokenFromConnectionParams, type Viewer } from '../auth/authenticate.ts';
import { badInput, clientError, errorJson } from '../errors.ts';
import { createContext, type ConnectionHandle } from '../graphql/context.ts';
import type { Services } from '../services.ts';
import { boundedWebSocket, coalesceWrites } from './bounded-websocket.ts';
import { clientAddress } from './client-address.ts';
import { markAuthenticated } from './connection-gate.ts';
import { serveGraphqlWs } from './graphql-ws-binding.ts';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from './http-guards.ts';
import type { GatewayMetrics } from './metrics.ts';
import { chargeUnexecuted } from './operation-plugins.ts';
import type { Outbound, SlowConsumerLimit } from './outbound.ts';
import type { TokenSessions } from './token-sessions.ts';
import { GRAPHQL_PATH, type Yoga } from './yoga.ts';

/** Yoga's enveloped execute/subscribe travel to graphql-ws in `rootValue`. */
interface EnvelopedRoot {
  execute(args: ExecutionArgs): OperationResult;
  subscribe(args: ExecutionArgs): OperationResult;
}

/** Close codes besides graphql-ws's own (4400 bad message, 4403 refused token, 4408 init timeout, 4409, 4500). */
export const CLOSE_TOKEN_REVOKED = 4403;
export const CLOSE_TOO_MANY_CONNECTIONS = 4429;
/** Too many failed authentications from the client's address (the code of the rate limits). */
export const CLOSE_TOO_MANY_REQUESTS = 4429;
/** More than `JOBGATE_MAX_BUFFERED_BYTES` waited to be written to the socket. Not fatal to graphql-ws: it retries with back-off. */
export const CLOSE_SLOW_CONSUMER = 4499;

interface Connection {
  viewer: Viewer;
  connectionId: string;
  release: () => void;
  expiry: NodeJS.Timeout | undefined;
  /** graphql-ws's operations of the socket: null while a query or mutation runs. */
  operations: Record<string, unknown>;
  outbound: Outbound;
}

function returnable(operation: unknown): operation is { return(): Promise<unknown> } {
  return typeof operation === 'object' && operation !== null && 'return' in operation && typeof operation.return === 'function';
}

/** Live sockets: revocation and expiry close them with 4403. */
export interface GatewayWebSockets extends TokenSessions {
  server: WebSocketServer;
  /**
   * Closes every socket with 1001 and stops accepting new ones; first waits up
   * to `answersWithinMs` for queries and mutations under way to answer.
   */
  close(answersWithinMs?: number): Promise<void>;
}

/**
 * Browsers send Origin; other clients do not. Same-origin pages (GraphiQL, the
 * dashboard) and the configured origins may connect; `*` allows any.
 */
export function originAllowed(req: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (!origin || allowed.includes('*') || allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Whether the upgrade offers graphql-ws's subprotocol among the ones it lists. */
export function offersGraphqlTransportWs(req: IncomingMessage): boolean {
  const offered = req.headers['sec-websocket-protocol'] ?? '';
  return offered.split(',').some((protocol) => protocol.trim() === GRAPHQL_TRANSPORT_WS_PROTOCOL);
}

/**
 * Refused at the HTTP level: a client offering only subscriptions-transport-ws's
 * `graphql-ws` (or nothing) would otherwise get 101 and an abrupt close.
 */
const UNSUPPORTED_SUBPROTOCOL_BODY = JSON.stringify({
  errors: [
    errorJson(
      'UNSUPPORTED_SUBPROTOCOL',
      `WebSocket upgrades on ${GRAPHQL_PATH} must offer the ${GRAPHQL_TRANSPORT_WS_PROTOCOL} subprotocol (the graphql-ws library); subscriptions-transport-ws and its graphql-ws subprotocol are not supported`,
    ),
  ],
});

export function attachGraphqlWs(httpServer: Server, yoga: Yoga, services: Services, metrics: GatewayMetrics): GatewayWebSockets {
  const { config, limiter, logger } = services;
  const connections = new Map<WebSocket, Connection>();

  /**
   * Over the event bound the socket is dropped at once (1006), as before the
   * byte bound existed; over the byte bound, the close frame waits behind at
   * most that many bytes: the client learns why if it reads on, and ws
   * destroys the socket if the closing handshake takes over 30 s. Its
   * operations end now, so nothing more is resolved for it meanwhile.
   */
  const dropSlowConsumer = (socket: WebSocket, limit: SlowConsumerLimit) => {
    if (socket.readyState !== WebSocket.OPEN) return;
    const connection = connections.get(socket);
    if (connection) {
      logger.warn({ tenant: connection.viewer.tenant.id, limit }, 'dropping a slow consumer');
      metrics.slowConsumers.inc({ tenant: connection.viewer.tenant.id, limit });
    }
    if (limit === 'events') return socket.terminate();
    socket.close(CLOSE_SLOW_CONSUMER, 'Slow consumer');
    for (const operation of Object.values(connection?.operations ?? {})) if (returnable(operation)) operation.return().catch(() => {});
  };

  const server = new WebSocketServer({
    server: httpServer,
    path: GRAPHQL_PATH,
    maxPayload: config.maxPayloadBytes,
    WebSocket: boundedWebSocket(config.maxBufferedBytes, (socket) => dropSlowConsumer(socket, 'bytes')),
    verifyClient: ({ req }, accept) => {
      if (!originAllowed(req, config.allowedOrigins)) accept(false, 403, 'Origin not allowed');
      else if (!offersGraphqlTransportWs(req)) accept(false, 400, UNSUPPORTED_SUBPROTOCOL_BODY, { 'Content-Type': 'application/json' });
      else accept(true);
    },
  });

  const expiryTimer = (socket: WebSocket, expiresAt: Date | null) => {
    const untilExpiry = expiresAt ? expiresAt.getTime() - Date.now() : null;
    return untilExpiry !== null && untilExpiry < MAX_TIMER_MS
      ? setTimeout(() => socket.close(CLOSE_TOKEN_REVOKED, 'Token expired'), Math.max(0, untilExpiry)).unref()
      : undefined;
  };

  const disconnect = (socket: WebSocket) => {
    const connection = connections.get(socket);
    if (!connection) return;
    connections.delete(socket);
    clearTimeout(connection.expiry);
    connection.release();
    metrics.connections.dec({ tenant: connection.viewer.tenant.id });
  };

  const disposable = serveGraphqlWs<Record<string, unknown> | undefined, { viewer: Viewer; connectionId: string }>(
    {
      connectionInitWaitTimeout: config.connectionInitTimeoutMs,
      // Returning false closes the socket with 4403 before `connection_ack`.
      onConnect: async (ctx) => {
        const socket = ctx.extra.socket;
        // As over HTTP: an address past its failed authentications is refused before any token lookup,
        // unless its token was found live in the last seconds.
        const token = tokenFromConnectionParams(ctx.connectionParams);
        const address = ctx.extra.address;
        const limited = services.authenticationFailures.retryAfterSeconds(address) !== null;
        const viewer = limited ? services.authenticator.cached(token) : await services.authenticator.authenticate(token);
        if (limited && !viewer) {
          socket.close(CLOSE_TOO_MANY_REQUESTS, 'Too many failed authentications');
          return false;
        }
        if (!viewer) {
          services.authenticationFailures.failed(address);
          return false;
        }
        const release = limiter.openConnection(viewer.tenant);
        if (!release) {
          metrics.rateLimited.inc({ tenant: viewer.tenant.id, limit: 'connections' });
          socket.close(CLOSE_TOO_MANY_CONNECTIONS, 'Too many connections for this tenant');
          return false;
        }
        markAuthenticated(ctx.extra.tcpSocket);
        // Flat: randomUUID's string is a rope of ~20 pieces, ~400 B more kept for the connection's life.
        const connectionId = randomBytes(16).toString('hex');
        ctx.extra.viewer = viewer;
        ctx.extra.connectionId = connectionId;
        const outbound: Outbound = {
          maxBufferedBytes: config.maxBufferedBytes,
          bufferedBytes: () => socket.bufferedAmount,
          drop: (limit) => dropSlowConsumer(socket, limit),
        };
        connections.set(socket, { viewer, connectionId, release, expiry: expiryTimer(socket, viewer.expiresAt), operations: ctx.subscriptions, outbound });
        socket.once('close', () => disconnect(socket));
        metrics.connections.inc({ tenant: viewer.tenant.id });
        return true;
      },
      onSubscribe: async (ctx, id, payload) => {
        const { viewer, connectionId } = ctx.extra;
        const connection = connections.get(ctx.extra.socket);
        if (!viewer || !connectionId || !connection) return undefined;
        // Deeper variables would overflow the stack in the resolvers (INTERNAL_SERVER_ERROR).
        if (payload.variables && jsonDepthExceeds(payload.variables, MAX_JSON_DEPTH)) {
          return [badInput(`variables are nested deeper than ${MAX_JSON_DEPTH} levels`)];
        }
        const socket = ctx.extra.socket;
        // graphql-ws's own `next` message, for payloads serialized once for many subscribers (built on first use).
        let nextPrefix: string | undefined;
        // graphql-ws awaits each write, so a subscriber that stops reading backs up into its
        // event buffer; shared streams write without waiting, up to the outbound's byte bound.
        const handle: ConnectionHandle = {
          id: connectionId,
          sendNext: (payloadJson, written) => {
            if (socket.readyState !== WebSocket.OPEN) return false;
            nextPrefix ??= `{"id":${JSON.stringify(id)},"type":"next","payload":`;
            socket.send(nextPrefix + payloadJson + '}', written);
            return true;
          },
        };
        const enveloped = yoga.getEnveloped({
          socket: ctx.extra.tcpSocket,
          jobgate: createContext(services, viewer, handle, connection.outbound, `${connectionId}:${id}`),
        });
        // Envelop types its functions' results `any`.
        const schema = enveloped.schema as GraphQLSchema;
        let document: DocumentNode;
        try {
          document = enveloped.parse(payload.query) as DocumentNode;
        } catch (error) {
          // Syntax errors, too many tokens, too deep (see useMaxTokens); anything else is a bug.
          if (!(error instanceof GraphQLError)) throw error;
          return [chargeUnexecuted(limiter, metrics, viewer.tenant) ?? clientError('GRAPHQL_PARSE_FAILED', error.message)];
        }
        const errors = enveloped.validate(schema, document) as readonly GraphQLError[];
        if (errors.length) {
          const refused = chargeUnexecuted(limiter, metrics, viewer.tenant);
          return refused ? [refused] : errors;
        }
        const root: EnvelopedRoot = { execute: enveloped.execute, subscribe: enveloped.subscribe };
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: root,
        };
      },
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
    },
    server,
    config.keepAliveMs,
    (request) => clientAddress(request, config.trustedProxies),
    logger,
  );

  server.on('connection', (socket, request) => coalesceWrites(socket, request.socket));

  return {
    server,
    endForToken(tokenId, reason) {
      let closed = 0;
      for (const [socket, connection] of connections) {
        if (connection.viewer.tokenId !== tokenId) continue;
        socket.close(CLOSE_TOKEN_REVOKED, reason);
        closed++;
      }
      return closed;
    },
    expireTokenAt(tokenId, expiresAt) {
      for (const [socket, connection] of connections) {
        if (connection.viewer.tokenId !== tokenId) continue;
        clearTimeout(connection.expiry);
        connection.expiry = expiryTimer(socket, expiresAt);
      }
    },
    tokenIds() {
      return [...new Set([...connections.values()].map((connection) => connection.viewer.tokenId))];
    },
    async close(answersWithinMs = 0) {
      const deadline = Date.now() + answersWithinMs;
      const answering = () => [...connections.values()].some((connection) => Object.values(connection.operations).includes(null));
      while (Date.now() < deadline && answering()) await new Promise((resolve) => setTimeout(resolve, 20));
      await disposable.dispose();
    },
  };
}
