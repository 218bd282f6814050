import type pg from 'pg';
import type { Db } from 'pg-boss';
import type { Logger } from '../logger.ts';
import { beatInstance, markInstanceStopped, registerInstance, removeDeadInstances } from '../sql/instances.ts';
import { rowsOf, type SqlPlan } from '../sql/plan.ts';
import type { FailBack, Leases } from './leases.ts';

export interface LivenessOptions {
  /** Not heard from for this long, an instance is dead (each instance's own value is in its row). */
  deadAfterSeconds: number;
  /** For a job that cannot go back as it was (see `FailBack`). */
  failBack: FailBack;
  /** This instance was found dead by another and its holds taken back: re-check those it keeps in memory. */
  onRevived: () => void;
}

/**
 * Each instance's row in `gateway_instance`, refreshed four times per
 * `deadAfterSeconds`; on the same beat it takes back the jobs held through
 * instances that stopped refreshing theirs (a kill -9, a host lost, a pause
 * longer than their timeout). Times are the database's, so clocks need not
 * agree. An instance only judges others once its own beat has been steady for
 * a whole timeout: after an outage of PostgreSQL, or a pause of its own,
 * every row looks stale until its instance has had a chance to beat.
 */
export class InstanceLiveness {
  readonly #pool: pg.Pool;
  readonly #leases: Leases;
  readonly #id: string;
  readonly #options: LivenessOptions;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;
  /** Since when (monotonic ms) every beat has succeeded on time; undefined after a miss. */
  #steadySince: number | undefined;
  #lastBeat = 0;

  constructor(pool: pg.Pool, leases: Leases, instanceId: string, logger: Logger, options: LivenessOptions) {
    this.#pool = pool;
    this.#leases = leases;
    this.#id = instanceId;
    this.#logger = logger.child({ component: 'instance-liveness' });
    this.#options = options;
  }

  #query(plan: SqlPlan): Promise<pg.QueryResult> {
    return this.#pool.query(plan.text, plan.values);
  }

  get #intervalMs(): number {
    return (this.#options.deadAfterSeconds * 1000) / 4;
  }

  async start(): Promise<void> {
    await this.#register();
    this.#lastBeat = performance.now();
    this.#steadySince = this.#lastBeat;
    this.#timer = setInterval(() => {
      this.#beating ??= this.#beat().finally(() => (this.#beating = undefined));
    }, this.#intervalMs).unref();
  }

  /** Stops beating and marks the instance dead, so others take back at once whatever it leaves held. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#beating;
    await this.#query(markInstanceStopped(this.#id)).catch((error: unknown) => {
      this.#logger.warn({ err: error }, 'could not mark this instance stopped');
    });
  }

  async #register(): Promise<void> {
    await this.#query(registerInstance(this.#id, this.#options.deadAfterSeconds));
  }

  async #beat(): Promise<void> {
    const now = performance.now();
    // A beat that comes late (this process was paused, or PostgreSQL was away) starts the count again.
    if (now - this.#lastBeat > this.#options.deadAfterSeconds * 1000) this.#steadySince = undefined;
    try {
      const { rowCount } = await this.#query(beatInstance(this.#id));
      if (rowCount === 0) {
        await this.#register();
        this.#logger.warn('this instance was found dead by another, which took back its jobs; carrying on with the rest');
        this.#options.onRevived();
      }
      this.#lastBeat = performance.now();
      this.#steadySince ??= this.#lastBeat;
    } catch (error) {
      this.#steadySince = undefined;
      this.#logger.warn({ err: error }, 'instance heartbeat failed');
      return;
    }
    if (this.#lastBeat - this.#steadySince < this.#options.deadAfterSeconds * 1000) return;
    try {
      const { instances, jobs } = await this.#leases.takeBackDead((db) => this.#findDead(db), this.#options.failBack);
      if (instances.length) this.#logger.warn({ instances, jobs }, 'took back the jobs of dead gateway instances');
    } catch (error) {
      this.#logger.warn({ err: error }, 'could not take back the jobs of dead instances');
    }
  }

  /** Removes the rows of dead instances (and their worker sessions); returns their ids. */
  async #findDead(db: Db): Promise<string[]> {
    return (await rowsOf<{ id: string }>(db, removeDeadInstances(this.#id))).map((row) => row.id);
  }
}
