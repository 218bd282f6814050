import { randomUUID } from 'node:crypto';
import type { ExecutionArgs, GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { Server } from 'node:http';
import { WebSocketServer } from 'ws';
import { tokenFromConnectionParams, type Viewer } from '../auth/authenticate.ts';
import { createContext } from '../graphql/context.ts';
import type { Services } from '../services.ts';
import { GRAPHQL_PATH, type Yoga } from './yoga.ts';

type OperationResult = ReturnType<ReturnType<Yoga['getEnveloped']>['execute']>;

/** Yoga's enveloped execute/subscribe travel to graphql-ws in `rootValue`. */
interface EnvelopedRoot {
  execute(args: ExecutionArgs): OperationResult;
  subscribe(args: ExecutionArgs): OperationResult;
}

export interface GatewayWebSockets {
  server: WebSocketServer;
  /** Closes every socket with 1001 and stops accepting new ones. */
  close(): Promise<void>;
}

export function attachGraphqlWs(httpServer: Server, yoga: Yoga, services: Services): GatewayWebSockets {
  const server = new WebSocketServer({
    server: httpServer,
    path: GRAPHQL_PATH,
    maxPayload: services.config.maxPayloadBytes,
  });

  const disposable = useServer<Record<string, unknown> | undefined, { viewer: Viewer; connectionId: string }>(
    {
      // Returning false closes the socket with 4403 before `connection_ack`.
      onConnect: async (ctx) => {
        const viewer = await services.authenticator.authenticate(tokenFromConnectionParams(ctx.connectionParams));
        if (!viewer) return false;
        ctx.extra.viewer = viewer;
        ctx.extra.connectionId = randomUUID();
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        const { viewer, connectionId } = ctx.extra;
        if (!viewer || !connectionId) return undefined;
        const enveloped = yoga.getEnveloped({
          req: ctx.extra.request,
          jobgate: createContext(services, viewer, connectionId),
        });
        let document;
        try {
          document = enveloped.parse(payload.query);
        } catch (error) {
          return [error as GraphQLError];
        }
        const errors = enveloped.validate(enveloped.schema, document);
        if (errors.length) return errors;
        const root: EnvelopedRoot = { execute: enveloped.execute, subscribe: enveloped.subscribe };
        return {
          schema: enveloped.schema,
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
    12_000,
  );

  return {
    server,
    async close() {
      for (const socket of server.clients) socket.close(1001, 'Going away');
      await disposable.dispose();
    },
  };
}
