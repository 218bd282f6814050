import pg from 'pg';
import type { Logger } from '../logger.ts';

type ConnectCallback = Parameters<pg.Pool['connect']>[0];

/**
 * A client checked out of a pool has no 'error' listener (pg-pool takes its
 * idle one off until the client comes back), and node-postgres emits 'error'
 * on a client whose connection breaks: unheard, that ends the process. This
 * listens while the client is out and, should it break, releases it with the
 * error, so the pool discards it instead of handing it out again.
 */
function guardCheckedOut(client: pg.PoolClient): pg.PoolClient {
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken ??= error;
  };
  client.on('error', onError);
  const release = client.release;
  client.release = (error?: Error | boolean) => {
    client.removeListener('error', onError);
    release(error || broken);
  };
  return client;
}

/** A pool whose checked-out clients survive their connection breaking (see `guardCheckedOut`). */
export class GatewayPool extends pg.Pool {
  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
    // pool.query checks out with a callback and listens for errors itself.
    if (callback) return super.connect(callback);
    return super.connect().then(guardCheckedOut);
  }
}

/** What to log of a driver error: pg-pool attaches the whole client to it. */
export function loggableError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const { code } = error as { code?: unknown };
  return { type: error.name, message: error.message, code, stack: error.stack };
}

export interface PoolSettings {
  connectionString: string;
  applicationName: string;
  max: number;
  /** Bounds both a new connection and the wait for a free one: an outage fails fast. */
  connectionTimeoutMillis: number;
  types?: pg.CustomTypesConfig | undefined;
  /** Connections are recycled after this many uses (statements prepared on them do not pile up). */
  maxUses?: number | undefined;
}

/**
 * One of the gateway's pools: guarded checkouts, bounded waits, TCP keep-alive,
 * idle errors logged. No startup options: a pooler such as PgBouncer refuses
 * them; session settings are made per transaction (SET LOCAL).
 */
export function createPool(settings: PoolSettings, logger: Logger): GatewayPool {
  const pool = new GatewayPool({
    connectionString: settings.connectionString,
    application_name: settings.applicationName,
    max: settings.max,
    connectionTimeoutMillis: settings.connectionTimeoutMillis,
    keepAlive: true,
    ...(settings.types ? { types: settings.types } : {}),
    ...(settings.maxUses ? { maxUses: settings.maxUses } : {}),
  });
  pool.on('error', (error) => logger.warn({ err: loggableError(error), pool: settings.applicationName }, 'idle pool connection failed'));
  return pool;
}
