import SchemaBuilder, { type ArgBuilder, type InputFieldBuilder } from '@pothos/core';
import ComplexityPlugin, { ComplexityErrorKind } from '@pothos/plugin-complexity';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { clientError } from '../errors.ts';
import type { Context } from './context.ts';

export interface AuthScopes {
  publish: boolean;
  read: boolean;
  work: boolean;
  admin: boolean;
}

export interface SchemaTypes {
  Context: Context;
  AuthScopes: AuthScopes;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string | number };
    JSON: { Input: unknown; Output: unknown };
  };
}

export type InputFields = InputFieldBuilder<PothosSchemaTypes.ExtendDefaultTypes<SchemaTypes>, 'InputObject'>;
/** `t.arg` of any field, for arguments shared by several fields. */
export type Args = ArgBuilder<PothosSchemaTypes.ExtendDefaultTypes<SchemaTypes>>;

export const builder = new SchemaBuilder<SchemaTypes>({
  plugins: [ScopeAuthPlugin, ComplexityPlugin],
  complexity: {
    limit: (context) => context.queryLimits,
    defaultComplexity: 1,
    defaultListMultiplier: 10,
    complexityError: (kind, result) => {
      const measure = kind.toLowerCase() as 'depth' | 'breadth' | 'complexity';
      const limit = { depth: result.maxDepth, breadth: result.maxBreadth, complexity: result.maxComplexity }[measure];
      // Cost counts requested list sizes and batch inputs: over it, nothing has touched the database.
      return clientError(
        kind === ComplexityErrorKind.Complexity ? 'QUERY_TOO_COMPLEX' : 'BAD_USER_INPUT',
        `Operation too large: ${measure === 'complexity' ? 'cost' : measure} ${result[measure]} exceeds the limit of ${limit}`,
        {
          reason: `QUERY_${kind.toUpperCase()}`,
          ...result,
        },
      );
    },
  },
  defaultFieldNullability: false,
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (context) => ({
      publish: context.viewer.scopes.has('PUBLISH'),
      read: context.viewer.scopes.has('READ'),
      work: context.viewer.scopes.has('WORK'),
      admin: context.viewer.scopes.has('ADMIN'),
    }),
    unauthorizedError: (_parent, _context, info) => clientError('FORBIDDEN', `The token's scopes do not allow ${info.parentType.name}.${info.fieldName}`),
  },
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
