import type { IncomingMessage } from 'node:http';
import { tokenFromAuthorization, type Authenticator, type Viewer } from '../auth/authenticate.ts';
import type { AuthenticationFailures } from '../auth/authentication-failures.ts';
import { unauthenticated } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { clientAddress } from './client-address.ts';
import { markAuthenticated } from './connection-gate.ts';
import { corsHeaders, type CorsPolicy } from './cors.ts';
import { isDatabaseUnavailable, serviceUnavailable } from './database-errors.ts';
import { refuse, type RequestHandler } from './http-guards.ts';
import { GRAPHQL_PATHS, pathOf } from './yoga-routes.ts';

const viewers = new WeakMap<IncomingMessage, Viewer>();

/** Who sent an HTTP request, when `withAuthentication` let it through with a token. */
export function requestViewer(req: IncomingMessage | undefined): Viewer | undefined {
  return req && viewers.get(req);
}

export interface AuthenticationOptions {
  /** GraphiQL's page is served without a token. */
  graphiql: boolean;
  /** Introspection is answered without a token (see anonymous-introspection.ts). */
  introspection: boolean;
  cors: CorsPolicy;
  logger: Logger;
  /** Failed authentications per client address: past the limit, 429 before any token is looked up. */
  failures: AuthenticationFailures;
  trustedProxies: ReadonlySet<string>;
}

/** The most a request without any Authorization header may declare: an introspection query is a few KiB. */
export const ANONYMOUS_BODY_LIMIT = 64 * 1024;

/**
 * A request with no Authorization header at all that may be an introspection
 * query (GraphiQL's on page load, codegen's): a POST whose declared length is
 * small. Yoga answers it only if it is introspection; anything else is 401
 * there, once its small body is read.
 */
function mayBeIntrospection(req: IncomingMessage): boolean {
  if (req.headers.authorization !== undefined) return false;
  const length = Number(req.headers['content-length']);
  return req.method === 'POST' && req.headers['transfer-encoding'] === undefined && Number.isInteger(length) && length <= ANONYMOUS_BODY_LIMIT;
}

/** What /graphql answers without a token: CORS preflights, GraphiQL's page when served (Yoga's `shouldRenderGraphiQL`), introspection when on. */
function isPublic(req: IncomingMessage, options: AuthenticationOptions): boolean {
  if (req.method === 'OPTIONS') return true;
  if (options.graphiql && req.method === 'GET' && (req.headers.accept ?? '').includes('text/html')) return true;
  return options.introspection && mayBeIntrospection(req);
}

/**
 * Authenticates every /graphql request from its Authorization header before
 * anything reads its body: without a valid token it is answered 401 at once
 * and its connection closed, so an unauthenticated upload costs next to
 * nothing however large it claims to be. An address past its failed
 * authentications gets 429 without its token being looked up, unless the
 * token was found live in the last seconds (the authenticator's cache); every
 * other would take the lookup the limit saves. Other routes pass untouched.
 */
export function withAuthentication(authenticator: Authenticator, options: AuthenticationOptions, next: RequestHandler): RequestHandler {
  return (req, res) => {
    if (!GRAPHQL_PATHS.has(pathOf(req.url)) || isPublic(req, options)) {
      next(req, res);
      return;
    }
    const admit = (viewer: Viewer) => {
      viewers.set(req, viewer);
      markAuthenticated(req.socket);
      next(req, res);
    };
    const token = tokenFromAuthorization(req.headers.authorization);
    const address = clientAddress(req, options.trustedProxies);
    const retryAfter = options.failures.retryAfterSeconds(address);
    if (retryAfter !== null) {
      // A token found live in the last seconds still passes: telling it costs no lookup.
      const known = authenticator.cached(token);
      if (known) {
        admit(known);
        return;
      }
      refuse(
        res,
        429,
        'RATE_LIMITED',
        'too many failed authentications from this address',
        {
          ...corsHeaders(options.cors, req),
          'retry-after': String(retryAfter),
        },
        { limit: 'authentication' },
      );
      return;
    }
    authenticator.authenticate(token).then(
      (viewer) => {
        if (!viewer) {
          options.failures.failed(address);
          const refused = unauthenticated();
          refuse(res, 401, 'UNAUTHENTICATED', refused.message, { ...corsHeaders(options.cors, req), 'www-authenticate': 'Bearer' });
          return;
        }
        admit(viewer);
      },
      (error: unknown) => {
        if (isDatabaseUnavailable(error)) {
          options.logger.warn({ err: error }, 'database unavailable');
          refuse(res, 503, 'SERVICE_UNAVAILABLE', serviceUnavailable().message, corsHeaders(options.cors, req));
        } else {
          options.logger.error({ err: error }, 'authentication failed');
          refuse(res, 500, 'INTERNAL_SERVER_ERROR', 'Unexpected error.', corsHeaders(options.cors, req));
        }
      },
    );
  };
}
