import { createYoga, useReadinessCheck, type YogaServerInstance } from 'graphql-yoga';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tokenFromAuthorization } from '../auth/authenticate.ts';
import { unauthenticated } from '../errors.ts';
import { createContext, type Context } from '../graphql/context.ts';
import { schema } from '../graphql/schema.ts';
import type { Services } from '../services.ts';

export const GRAPHQL_PATH = '/graphql';

/**
 * What a transport hands Yoga: HTTP gives `req`/`res`; graphql-ws passes the
 * context it built after authenticating `connection_init`.
 */
export interface ServerContext {
  req?: IncomingMessage;
  res?: ServerResponse;
  jobgate?: Context;
}

export type Yoga = YogaServerInstance<ServerContext, Context>;

export function createGatewayYoga(services: Services, isReady: () => Promise<boolean>): Yoga {
  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    healthCheckEndpoint: '/health',
    landingPage: false,
    logging: services.logger.child({ component: 'yoga' }),
    graphiql: { subscriptionsProtocol: 'WS', title: 'Jobgate' },
    context: async (initial): Promise<Context> => {
      if (initial.jobgate) return initial.jobgate;
      const viewer = await services.authenticator.authenticate(
        tokenFromAuthorization(initial.request.headers.get('authorization')),
      );
      if (!viewer) throw unauthenticated();
      return createContext(services, viewer, null);
    },
    plugins: [
      useReadinessCheck({
        endpoint: '/ready',
        check: async () => isReady(),
      }),
    ],
  });
}
