import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { clientError, type ErrorCode } from '../errors.ts';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from './http-guards.ts';

const refused = (code: ErrorCode, message: string) => clientError(code, message, { http: { status: 400 } });

/**
 * The same limits on a request's parameters whatever carried them: a JSON
 * body (also gauged as it streams, see withBodyLimit), a form, multipart or
 * a GET's query string. Parameters nested deeper than `maxDepth` (counting
 * the parameters object itself, as the JSON body's gauge does) are refused
 * before anything recursive touches them; `variables` or `extensions` that
 * are not JSON are the client's error, not an unexpected one.
 */
export function useRequestParamsLimits(maxDepth = MAX_JSON_DEPTH): Plugin {
  return {
    onRequestParse({ requestParser, setRequestParser }) {
      if (!requestParser) return;
      setRequestParser(async (request) => {
        let params;
        try {
          params = await requestParser(request);
        } catch (error) {
          // Yoga's form and query-string parsers JSON.parse `variables` and `extensions` as they are.
          if (error instanceof SyntaxError) throw refused('BAD_REQUEST', '"variables" and "extensions" must be JSON');
          // Its multipart parser reports a malformed form without a status (200).
          if (error instanceof GraphQLError && !error.extensions.http) throw refused('BAD_REQUEST', error.message);
          throw error;
        }
        if (!(params instanceof Response) && jsonDepthExceeds(params, maxDepth)) {
          throw refused('BAD_USER_INPUT', `request JSON is nested deeper than ${maxDepth} levels`);
        }
        return params;
      });
    },
  };
}
