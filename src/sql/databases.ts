import type { QuotedIdentifier } from './identifiers.ts';

export const createDatabase = (name: QuotedIdentifier): string => `CREATE DATABASE ${name}`;

/** Drops the database, ending the connections still open to it. */
export const dropDatabase = (name: QuotedIdentifier): string => `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`;
