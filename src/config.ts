import path from 'node:path';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  /** PostgreSQL connection string; when absent the gateway runs an embedded PostgreSQL. */
  databaseUrl: string | undefined;
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
  /** Largest accepted HTTP body and WebSocket frame, in bytes. */
  maxPayloadBytes: number;
  /** Seconds a stopping gateway waits for in-flight work. */
  shutdownGraceSeconds: number;
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

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: path.resolve(env.JOBGATE_DATA_DIR || '.jobgate'),
    host: env.HOST || '0.0.0.0',
    port: integer(env, 'PORT', 4000),
    logLevel: logLevel(env.LOG_LEVEL),
    bossSchema: env.PGBOSS_SCHEMA || 'pgboss',
    migrateOnStart: boolean(env.JOBGATE_MIGRATE_ON_START, true),
    maxJobDataBytes: integer(env, 'JOBGATE_MAX_JOB_DATA_BYTES', 256 * 1024, 2),
    maxBatchSize: integer(env, 'JOBGATE_MAX_BATCH_SIZE', 1000, 1),
    maxPayloadBytes: integer(env, 'JOBGATE_MAX_PAYLOAD_BYTES', 8 * 1024 * 1024, 1024),
    shutdownGraceSeconds: integer(env, 'JOBGATE_SHUTDOWN_GRACE_SECONDS', 10),
  };
}
