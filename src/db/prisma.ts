import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.ts';
import type { Logger } from '../logger.ts';
import { loggableError } from './pools.ts';

export type { PrismaClient };

export interface PrismaOptions {
  /** Bounds a new connection and the wait for a free one (an outage fails fast). */
  connectionTimeoutMillis?: number;
  /** Where broken connections are reported (the adapter discards them either way). */
  logger?: Logger;
}

export function createPrisma(databaseUrl: string, { connectionTimeoutMillis = 5_000, logger }: PrismaOptions = {}): PrismaClient {
  const report = (error: Error) => logger?.warn({ err: loggableError(error), pool: 'prisma' }, 'database connection failed');
  const adapter = new PrismaPg(
    { connectionString: databaseUrl, max: 5, connectionTimeoutMillis, keepAlive: true },
    { onPoolError: report, onConnectionError: report },
  );
  return new PrismaClient({ adapter });
}
