import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from './http-guards.ts';

function clientError(message: string, code: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code, http: { status: 400 } } });
}

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
          if (error instanceof SyntaxError) throw clientError('"variables" and "extensions" must be JSON', 'BAD_REQUEST');
          // Its multipart parser reports a malformed form without a status (200).
          if (error instanceof GraphQLError && !error.extensions.http) throw clientError(error.message, 'BAD_REQUEST');
          throw error;
        }
        if (!(params instanceof Response) && jsonDepthExceeds(params, maxDepth)) {
          throw clientError(`request JSON is nested deeper than ${maxDepth} levels`, 'BAD_USER_INPUT');
        }
        return params;
      });
    },
  };
}
