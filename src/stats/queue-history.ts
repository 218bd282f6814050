import type { PgBoss } from 'pg-boss';
import { badInput } from '../errors.ts';
import { queueHistory } from '../sql/history.ts';
import type { QuotedIdentifier } from '../sql/identifiers.ts';
import { runPlan } from '../sql/plan.ts';
import { QueueNamespace } from '../tenant/names.ts';

/** One interval of a queue's recent history. */
export interface QueueHistoryPoint {
  /** Start of the interval. */
  at: Date;
  /** Jobs created in the interval. */
  created: number;
  /** Jobs that completed in the interval (and are still stored). */
  completed: number;
  /** Jobs that failed for good in the interval (retries exhausted). */
  failed: number;
  cancelled: number;
  /** Waiting jobs (created or retry, deferred included) at the end of the interval. */
  queued: number;
  /** Active jobs at the end of the interval. */
  active: number;
}

export interface QueueHistoryOptions {
  /** How far back, in minutes (1-1440). */
  minutes: number;
  /** Length of one interval in seconds (10-3600). */
  intervalSeconds: number;
}

export const MAX_HISTORY_MINUTES = 1440;
export const MAX_HISTORY_POINTS = 1440;

/**
 * Per-interval throughput and depth of one of a tenant's queues, computed
 * from the timestamps pg-boss keeps on each job row (created_on, started_on,
 * completed_on). Depth at the end of each interval is rewound from the
 * current counts, so one pass over the jobs touched in the window is enough
 * however many jobs wait in the queue. Jobs pg-boss has already removed
 * (retention, deletion) no longer count; a job waiting for a retry counts as
 * waiting since it was created.
 */
export class QueueHistory {
  readonly #boss: PgBoss;
  readonly #schema: QuotedIdentifier;
  readonly #names: QueueNamespace;

  constructor(boss: PgBoss, schema: QuotedIdentifier, tenantId: string) {
    this.#boss = boss;
    this.#schema = schema;
    this.#names = new QueueNamespace(tenantId);
  }

  /** Oldest interval first; the last one contains now. All zeros for a queue that does not exist. */
  async load(queue: string, options: QueueHistoryOptions): Promise<QueueHistoryPoint[]> {
    const qualified = this.#names.qualify(queue);
    const { minutes, intervalSeconds } = options;
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_HISTORY_MINUTES) {
      throw badInput(`"minutes" must be 1-${MAX_HISTORY_MINUTES}`, { argument: 'minutes' });
    }
    if (!Number.isInteger(intervalSeconds) || intervalSeconds < 10 || intervalSeconds > 3600) {
      throw badInput('"intervalSeconds" must be 10-3600', { argument: 'intervalSeconds' });
    }
    const points = Math.ceil((minutes * 60) / intervalSeconds);
    if (points > MAX_HISTORY_POINTS) {
      throw badInput(`at most ${MAX_HISTORY_POINTS} intervals; raise "intervalSeconds"`, { argument: 'intervalSeconds' });
    }
    const { rows } = await runPlan(this.#boss.getDb(), queueHistory(this.#schema, qualified, intervalSeconds, points));
    return (rows as QueueHistoryPoint[]).map((row) => ({ ...row, at: new Date(row.at) }));
  }
}
