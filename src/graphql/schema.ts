import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.ts';
import './schema/index.ts';

export const schema: GraphQLSchema = builder.toSchema();

/** The SDL committed as schema/schema.graphql. */
export function printSortedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema)).trimEnd()}\n`;
}
