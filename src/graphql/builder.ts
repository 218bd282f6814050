import SchemaBuilder, { type InputFieldBuilder } from '@pothos/core';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError } from 'graphql';
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

export const builder = new SchemaBuilder<SchemaTypes>({
  plugins: [ScopeAuthPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (context) => ({
      publish: context.viewer.scopes.has('PUBLISH'),
      read: context.viewer.scopes.has('READ'),
      work: context.viewer.scopes.has('WORK'),
      admin: context.viewer.scopes.has('ADMIN'),
    }),
    unauthorizedError: (_parent, _context, info) =>
      new GraphQLError(`The token's scopes do not allow ${info.parentType.name}.${info.fieldName}`, {
        extensions: { code: 'FORBIDDEN' },
      }),
  },
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
