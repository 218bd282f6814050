/** An identifier as SQL text, double-quoted (`"pgboss"`): the one place a name is escaped for SQL. */
export const quoteIdentifier = (identifier: string): string => `"${identifier.replaceAll('"', '""')}"`;
