import { executeSync, getOperationAST, Kind, parse, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';

const INTROSPECTION_FIELDS = new Set(['__schema', '__type', '__typename']);

/** Whether the operation to run is a query made only of introspection fields at its root. */
export function isIntrospectionOnly(document: DocumentNode, operationName: string | null | undefined): boolean {
  const operation = getOperationAST(document, operationName);
  return (
    operation?.operation === 'query' &&
    operation.selectionSet.selections.every((selection) => selection.kind === Kind.FIELD && INTROSPECTION_FIELDS.has(selection.name.value))
  );
}

/**
 * Answers an introspection-only query that carries no Authorization header
 * (GraphiQL's schema request on page load, codegen, IDE plugins), while
 * introspection is enabled. It reveals the schema, which the repository
 * publishes anyway, and nothing of any tenant: no context is built, no
 * resolver of the schema runs, and graphql's own rules bound its depth
 * (MaxIntrospectionDepthRule) as the token limit bounds its size. Anything
 * else without a token still gets 401.
 */
export function useAnonymousIntrospection(schema: GraphQLSchema, maxTokens: number): Plugin {
  return {
    onParams({ params, request, setResult }) {
      if (request.headers.has('authorization') || typeof params.query !== 'string') return;
      let document: DocumentNode;
      try {
        document = parse(params.query, { maxTokens });
      } catch {
        // Not ours to answer: the usual path reports it (401 without a token).
        return;
      }
      if (!isIntrospectionOnly(document, params.operationName)) return;
      const errors = validate(schema, document);
      setResult(errors.length ? { errors } : executeSync({ schema, document, operationName: params.operationName, variableValues: params.variables }));
    },
  };
}
