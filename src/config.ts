import path from 'node:path';
import { plainAddress } from './server/client-address.ts';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  /** PostgreSQL connection string; when absent the gateway runs an embedded PostgreSQL. */
  databaseUrl: string | undefined;
  /**
   * Pooled mode: `databaseUrl` is a transaction-pooling PgBouncer (or the
   * like), and this reaches PostgreSQL itself (or a session pool) for what
   * needs a session of its own: the LISTEN connection and migrations. Nothing
   * is prepared then on `databaseUrl`'s connections.
   */
  databaseDirectUrl: string | undefined;
  /** Where the embedded PostgreSQL keeps its data. */
  dataDir: string;
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  logLevel: LogLevel;
  /** pg-boss schema name. */
  bossSchema: string;
  /** Apply Prisma migrations and pg-boss schema on start. */
  migrateOnStart: boolean;
  /** Largest accepted job `data`, in bytes of JSON. */
  maxJobDataBytes: number;
  /** Largest `sendJobs` batch and id list of batch commands. */
  maxBatchSize: number;
  /** Queues a tenant may have, and schedules (QUOTA_EXCEEDED past them). */
  tenantMaxQueues: number;
  tenantMaxSchedules: number;
  /** Largest `reportProgress` value, in bytes of JSON (it travels in a NOTIFY, 8,000 bytes at most). */
  maxProgressBytes: number;
  /** Largest accepted HTTP body and WebSocket frame, in bytes. */
  maxPayloadBytes: number;
  /** Seconds a stopping gateway waits for in-flight work. */
  shutdownGraceSeconds: number;
  /** Largest accepted HTTP request body, in bytes. */
  maxBodyBytes: number;
  /** Largest JSON of one result (an answer, a subscription event), in bytes; past it, RESPONSE_TOO_LARGE. */
  maxResponseBytes: number;
  /** Query limits, per operation, over HTTP and graphql-ws alike. */
  queryLimits: { depth: number; breadth: number; complexity: number; tokens: number };
  introspection: boolean;
  /** Serve GraphiQL at GET /graphql to browsers (by default, when introspection is on). */
  graphiql: boolean;
  /** Browser origins allowed to open WebSockets besides the gateway's own; `*` allows any. */
  allowedOrigins: readonly string[];
  /**
   * Origins whose cross-origin HTTP requests are allowed with credentials; empty (or `*`):
   * any origin may call, without credentials (tokens travel in a header, not in cookies).
   */
  corsOrigins: readonly string[];
  /** A request's headers must arrive within this long (slow-loris). */
  headersTimeoutMs: number;
  /** A whole request, headers and body, must arrive within this long. */
  requestTimeoutMs: number;
  /** Connections that have not (yet) carried a valid token; past this, the oldest is dropped. */
  maxUnauthenticatedConnections: number;
  /** Failed authentications per client address and minute (token bucket, burst as large, per instance); past it, 429 / close 4429. */
  authFailuresPerMinute: number;
  /** Proxies whose X-Forwarded-For names the client address (for the failed-authentication limit); none by default. */
  trustedProxies: ReadonlySet<string>;
  /** graphql-ws: close a socket that sends no connection_init within this long. */
  connectionInitTimeoutMs: number;
  keepAliveMs: number;
  /** Events held for one subscriber that is not reading; past this its socket is closed (slow consumer). */
  eventBufferSize: number;
  /** Hours the job-event log keeps an event at least (dropped a whole UTC day at a time). */
  eventRetentionHours: number;
  /** Bytes waiting to be written to one subscriber's connection; past this it is dropped (slow consumer). */
  maxBufferedBytes: number;
  /** Per-tenant defaults; each tenant may override them (stored with the tenant). */
  tenantLimits: TenantLimits;
  /**
   * Whether the default operation rate is a quota (refused once spent) rather
   * than a fair share (refused only while the instance is busy). A tenant's
   * own rate is always a quota.
   */
  defaultRateIsQuota: boolean;
  /**
   * Operations of one tenant whose database work runs at once on an instance;
   * the rest wait their turn (at most the database connect timeout).
   */
  tenantDatabaseConcurrency: number;
  /** pg-boss monitor/supervise cadence: job expiry and heartbeat failures run on it. */
  bossMonitorIntervalSeconds: number;
  /**
   * When set, /metrics needs `Authorization: Bearer <metricsToken>`, and the
   * API port serves it too; otherwise only the metrics listener does.
   */
  metricsToken: string | undefined;
  /** The metrics listener (loopback by default: labels carry tenant ids and queue names). */
  metricsHost: string;
  /** 0 picks a free port (tests). */
  metricsPort: number;
  /**
   * Longest wait for a PostgreSQL connection, new or from a pool, in every pool
   * of the process: past it a request fails with SERVICE_UNAVAILABLE.
   */
  databaseConnectTimeoutMs: number;
  /**
   * An instance not heard from for this long is dead: another takes back the
   * jobs its workers held (not a used retry). It beats four times as often.
   */
  instanceDeadAfterSeconds: number;
}

export interface TenantLimits {
  /** Operations per second (token bucket, per gateway instance); burst is twice this. */
  operationsPerSecond: number;
  maxConnections: number;
  maxSubscriptions: number;
}

export class ConfigError extends Error {}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  }
  return value;
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function logLevel(raw: string | undefined): LogLevel {
  if (raw === undefined || raw === '') return 'info';
  const level = LOG_LEVELS.find((candidate) => candidate === raw);
  if (!level) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
  return level;
}

function boolean(raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'no'].includes(raw)) return false;
  throw new ConfigError(`expected a boolean, got "${raw}"`);
}

function list(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

function directUrl(env: NodeJS.ProcessEnv): string | undefined {
  const url = env.DATABASE_DIRECT_URL || undefined;
  if (url && !env.DATABASE_URL) throw new ConfigError('DATABASE_DIRECT_URL is set without DATABASE_URL (the pooled connection string)');
  return url;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const introspection = boolean(env.JOBGATE_INTROSPECTION, true);
  const headersTimeoutMs = integer(env, 'JOBGATE_HEADERS_TIMEOUT_MS', 10_000, 100);
  const requestTimeoutMs = integer(env, 'JOBGATE_REQUEST_TIMEOUT_MS', 30_000, 100);
  // node:http refuses a headers timeout longer than the request timeout.
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError(`JOBGATE_HEADERS_TIMEOUT_MS (${headersTimeoutMs}) must not exceed JOBGATE_REQUEST_TIMEOUT_MS (${requestTimeoutMs})`);
  }
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    databaseDirectUrl: directUrl(env),
    dataDir: path.resolve(env.JOBGATE_DATA_DIR || '.jobgate'),
    host: env.HOST || '0.0.0.0',
    port: integer(env, 'PORT', 4000),
    logLevel: logLevel(env.LOG_LEVEL),
    bossSchema: env.PGBOSS_SCHEMA || 'pgboss',
    migrateOnStart: boolean(env.JOBGATE_MIGRATE_ON_START, true),
    maxJobDataBytes: integer(env, 'JOBGATE_MAX_JOB_DATA_BYTES', 256 * 1024, 2),
    maxBatchSize: integer(env, 'JOBGATE_MAX_BATCH_SIZE', 1000, 1),
    tenantMaxQueues: integer(env, 'JOBGATE_TENANT_MAX_QUEUES', 1000, 1),
    tenantMaxSchedules: integer(env, 'JOBGATE_TENANT_MAX_SCHEDULES', 1000, 1),
    maxProgressBytes: Math.min(integer(env, 'JOBGATE_MAX_PROGRESS_BYTES', 4096, 2), 6000),
    maxPayloadBytes: integer(env, 'JOBGATE_MAX_PAYLOAD_BYTES', 8 * 1024 * 1024, 1024),
    shutdownGraceSeconds: integer(env, 'JOBGATE_SHUTDOWN_GRACE_SECONDS', 10),
    maxBodyBytes: integer(env, 'JOBGATE_MAX_BODY_BYTES', 16 * 1024 * 1024, 1024),
    maxResponseBytes: integer(env, 'JOBGATE_MAX_RESPONSE_BYTES', 16 * 1024 * 1024, 1024),
    queryLimits: {
      depth: integer(env, 'JOBGATE_MAX_QUERY_DEPTH', 10, 1),
      breadth: integer(env, 'JOBGATE_MAX_QUERY_BREADTH', 300, 1),
      complexity: integer(env, 'JOBGATE_MAX_QUERY_COMPLEXITY', 5000, 1),
      tokens: integer(env, 'JOBGATE_MAX_QUERY_TOKENS', 5000, 10),
    },
    introspection,
    graphiql: boolean(env.JOBGATE_GRAPHIQL, introspection),
    allowedOrigins: list(env.JOBGATE_ALLOWED_ORIGINS),
    corsOrigins: list(env.JOBGATE_CORS_ORIGINS),
    headersTimeoutMs,
    requestTimeoutMs,
    maxUnauthenticatedConnections: integer(env, 'JOBGATE_MAX_UNAUTHENTICATED_CONNECTIONS', 1000, 1),
    authFailuresPerMinute: integer(env, 'JOBGATE_AUTH_FAILURES_PER_MINUTE', 60, 1),
    trustedProxies: new Set(list(env.JOBGATE_TRUSTED_PROXIES).map(plainAddress)),
    connectionInitTimeoutMs: integer(env, 'JOBGATE_CONNECTION_INIT_TIMEOUT_MS', 3000, 100),
    keepAliveMs: integer(env, 'JOBGATE_KEEPALIVE_MS', 12_000, 1000),
    eventBufferSize: integer(env, 'JOBGATE_EVENT_BUFFER_SIZE', 10_000, 1),
    eventRetentionHours: integer(env, 'JOBGATE_EVENT_RETENTION_HOURS', 24, 1),
    maxBufferedBytes: integer(env, 'JOBGATE_MAX_BUFFERED_BYTES', 8 * 2 ** 20, 64 * 1024),
    tenantLimits: {
      operationsPerSecond: integer(env, 'JOBGATE_TENANT_OPERATIONS_PER_SECOND', 500, 1),
      maxConnections: integer(env, 'JOBGATE_TENANT_MAX_CONNECTIONS', 1000, 1),
      maxSubscriptions: integer(env, 'JOBGATE_TENANT_MAX_SUBSCRIPTIONS', 5000, 1),
    },
    defaultRateIsQuota: boolean(env.JOBGATE_TENANT_OPERATIONS_QUOTA, false),
    tenantDatabaseConcurrency: integer(env, 'JOBGATE_TENANT_DB_CONCURRENCY', 4, 1),
    bossMonitorIntervalSeconds: integer(env, 'JOBGATE_BOSS_MONITOR_INTERVAL_SECONDS', 60, 1),
    metricsToken: env.JOBGATE_METRICS_TOKEN || undefined,
    metricsHost: env.JOBGATE_METRICS_HOST || '127.0.0.1',
    metricsPort: integer(env, 'JOBGATE_METRICS_PORT', 9464),
    databaseConnectTimeoutMs: integer(env, 'JOBGATE_DATABASE_CONNECT_TIMEOUT_MS', 5_000, 100),
    instanceDeadAfterSeconds: integer(env, 'JOBGATE_INSTANCE_DEAD_AFTER_SECONDS', 20, 2),
  };
}
