import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, useReadinessCheck, type YogaServerInstance } from 'graphql-yoga';
import { tokenFromAuthorization } from '../auth/authenticate.ts';
import { unauthenticated } from '../errors.ts';
import { createContext, type Context } from '../graphql/context.ts';
import { schema } from '../graphql/schema.ts';
import type { Services } from '../services.ts';
import { useAnonymousIntrospection } from './anonymous-introspection.ts';
import { corsPolicy } from './cors.ts';
import { createMaskError } from './database-errors.ts';
import { requestViewer } from './http-auth.ts';
import type { HttpSubscriptions } from './http-subscriptions.ts';
import type { GatewayMetrics } from './metrics.ts';
import { useMultipartSubscriptions } from './multipart-subscriptions.ts';
import { OperationDatabaseShare } from './operation-database-share.ts';
import { useMaxTokens, useTenantOperations } from './operation-plugins.ts';
import { NO_OUTBOUND, responseOutbound } from './outbound.ts';
import { useRequestParamsLimits } from './request-params.ts';
import { useResponseSizeLimit } from './response-size.ts';
import { useSharedSubscriptions } from './shared-subscriptions.ts';
import { useSseEventIds } from './sse-event-ids.ts';
import { useSseSingleConnectionRefusal } from './sse-single-connection.ts';
import { useUnservedStreams } from './unserved-streams.ts';
import { GRAPHQL_PATH } from './yoga-routes.ts';

export { GRAPHQL_PATH };
const REQUEST_ID = /^[\w.:-]{1,64}$/;

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

/** `httpSubscriptions`: where subscriptions over HTTP are registered, so that revoking their token ends them. */
export function createGatewayYoga(services: Services, metrics: GatewayMetrics, isReady: () => Promise<boolean>, httpSubscriptions: HttpSubscriptions): Yoga {
  const { config } = services;
  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    healthCheckEndpoint: '/health',
    landingPage: false,
    // Never the development mode's stack traces and original messages, whatever NODE_ENV says.
    maskedErrors: { maskError: createMaskError(services.logger), isDev: false },
    cors: corsPolicy(config.corsOrigins),
    // withBodyLimit refuses larger bodies first (PAYLOAD_TOO_LARGE); Yoga's own default (25 MB) would cap a larger setting.
    maxRequestBodySize: config.maxBodyBytes,
    logging: services.logger.child({ component: 'yoga' }),
    // SSE carries the Headers editor's Authorization (GraphiQL's WebSocket client sends an
    // empty connection_init); headers are not kept in localStorage, where a token would outlive the tab.
    graphiql: config.graphiql ? { subscriptionsProtocol: 'SSE', shouldPersistHeaders: false, title: 'Jobgate' } : false,
    // Served from the npm package, not a CDN: GraphiQL works without internet access.
    renderGraphiQL,
    context: async (initial): Promise<Context> => {
      if (initial.jobgate) return initial.jobgate;
      // Over HTTP, withAuthentication has authenticated the request before its body was read.
      const viewer =
        requestViewer(initial.req) ?? (await services.authenticator.authenticate(tokenFromAuthorization(initial.request.headers.get('authorization'))));
      if (!viewer) throw unauthenticated();
      const requested = initial.request.headers.get('x-request-id');
      const tenant = viewer.tenant.id;
      const outbound = initial.res
        ? responseOutbound(initial.res, config.maxBufferedBytes, (limit) => {
            services.logger.warn({ tenant, limit }, 'dropping a slow consumer');
            metrics.slowConsumers.inc({ tenant, limit });
          })
        : NO_OUTBOUND;
      const requestId = requested && REQUEST_ID.test(requested) ? requested : randomUUID();
      return createContext(services, viewer, null, outbound, requestId, initial.request.headers.get('last-event-id'));
    },
    plugins: [
      useReadinessCheck({ endpoint: '/ready', check: async () => isReady() }),
      // Refuse "simple" cross-site requests (no preflight). An Authorization header
      // forces a preflight, so urql's GET queries with a bearer token pass.
      useCSRFPrevention({ requestHeaders: ['authorization', 'x-graphql-yoga-csrf', 'apollo-require-preflight'] }),
      useSseSingleConnectionRefusal(GRAPHQL_PATH),
      useRequestParamsLimits(),
      useMaxTokens(config.queryLimits.tokens),
      // Before the tenant plugin: its error counts see the replacement.
      useResponseSizeLimit(config.maxResponseBytes),
      useTenantOperations(services.limiter, metrics, new OperationDatabaseShare(services.databaseShare, services.limiter, metrics)),
      httpSubscriptions.plugin(),
      // After admission: each subscriber is admitted and counted before it shares an execution.
      useSharedSubscriptions(config.eventBufferSize, metrics.subscriptionStreams),
      usePrometheus({
        registry: metrics.registry,
        endpoint: false,
        metrics: {
          // The schema deprecates nothing, and finding deprecated fields walks every result (every subscription event too).
          graphql_envelop_deprecated_field: false,
          // A quantile summary costs far more per observation than the duration histogram it repeats.
          graphql_envelop_request_time_summary: false,
          // Parsing and validation are answered from Yoga's cache and the context is built in
          // microseconds: three histograms per operation that would only ever read zero.
          graphql_envelop_phase_parse: false,
          graphql_envelop_phase_validate: false,
          graphql_envelop_phase_context: false,
        },
        // Anything a client can vary without end (URLs, operation names, aliases in error paths)
        // would make a series per request. jobgate_http_request_duration_seconds has the status class.
        labels: { url: false, operationName: false, path: false, statusCode: false },
      }),
      // GraphiQL loads the schema before any token is typed (the docs panel).
      ...(config.introspection ? [useAnonymousIntrospection(schema, config.queryLimits.tokens)] : [useDisableIntrospection()]),
      useMultipartSubscriptions(),
      useSseEventIds(),
      // Last: it sees which result processor the others chose.
      useUnservedStreams(),
    ],
  });
}
