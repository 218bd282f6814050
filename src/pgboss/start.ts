import { PgBoss } from 'pg-boss';
import { loggableError } from '../db/pools.ts';
import type { Logger } from '../logger.ts';

export interface BossOptions {
  databaseUrl: string;
  schema: string;
  logger: Logger;
  /** Maintenance and cron scheduling; off for one-shot commands. */
  supervise?: boolean;
  /** How often expiry and heartbeat failures are checked (pg-boss default 60). */
  monitorIntervalSeconds?: number;
  /** Bounds a new connection and the wait for a free one (an outage fails fast). */
  connectionTimeoutMillis?: number;
}

/** Starts pg-boss, creating or migrating its schema when needed. */
export async function startBoss({
  databaseUrl,
  schema,
  logger,
  supervise = true,
  monitorIntervalSeconds = 60,
  connectionTimeoutMillis = 5_000,
}: BossOptions): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString: databaseUrl,
    schema,
    application_name: 'jobgate',
    supervise,
    schedule: supervise,
    superviseIntervalSeconds: monitorIntervalSeconds,
    monitorIntervalSeconds,
    max: 10,
    connectionTimeoutMillis,
    // The gateway registers no OpenTelemetry SDK, so pg-boss's spans and instruments would all be
    // no-ops; off, pg-boss stops building their attributes on every send, fetch and settlement.
    openTelemetry: { enabled: false },
  });
  boss.on('error', (error) => logger.error({ err: loggableError(error) }, 'pg-boss error'));
  boss.on('warning', (warning) => logger.warn({ warning }, 'pg-boss warning'));
  await boss.start();
  return boss;
}
