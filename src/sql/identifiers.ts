declare const quoted: unique symbol;

/** A name already quoted for SQL by `quoteIdentifier`: the only kind the plans in this folder accept for a schema. */
export type QuotedIdentifier = string & { readonly [quoted]: true };

/** An identifier as SQL text, double-quoted (`"pgboss"`): the one place a name is escaped for SQL. */
export const quoteIdentifier = (identifier: string): QuotedIdentifier => `"${identifier.replaceAll('"', '""')}"` as QuotedIdentifier;
