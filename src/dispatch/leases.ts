import type pg from 'pg';
import type { Db, JobAttempt } from 'pg-boss';
import type { PreparedStatements } from '../db/prepared-statements.ts';
import { fetchWithHolds } from '../pgboss/fetch-with-holds.ts';
import { restoreAttemptsSql } from '../pgboss/restore.ts';
import { singleStatementDb } from '../pgboss/single-statement.ts';
import { SqlPrepared, UNKNOWN_PREPARED_STATEMENT } from '../pgboss/sql-prepared.ts';
import { CapturedStatement } from '../pgboss/statement-capture.ts';
import { quoteIdentifier, type QuotedIdentifier } from '../sql/identifiers.ts';
import {
  ASYNC_COMMIT,
  beginReleasingOwnLeases,
  claimLock,
  deleteLeases,
  detachLeases,
  grantLeases,
  inlineGrant,
  liveHolds,
  queuesWithDueJobs,
  lockLeases,
  purgeStaleLeases,
  releaseHeldLeases,
  takeHeldLeases,
  takeLeasesOfInstances,
  upsertNumberedHolds,
  type LeaseGrantRow,
} from '../sql/leases.ts';
import { runPlan, type SqlPlan } from '../sql/plan.ts';
import type { LeaseClaim } from './lease-tokens.ts';

export type LeaseGrant = LeaseGrantRow;

/** How one settle call splits the ids it was given. */
export interface LeaseSplit {
  /** Held by the caller: settled fenced to the attempt it was given. */
  held: JobAttempt[];
  /** Never pushed by workAssigned: anyone with WORK may settle them. */
  unleased: string[];
  /** Held by someone else, or named with a lease that is not the job's current one. */
  conflicts: string[];
  /** Of `held`: settled on a lease, away from the connection that holds the job. */
  viaLease: string[];
}

/**
 * When the gateway itself takes a job back (a drain, a dead instance), the
 * attempt was not the job's fault: the job goes back to the queue as pg-boss's
 * `restore` puts it (state created, started_on cleared, so the next claim does
 * not count a retry), fenced to the attempt that was held. Should a unique
 * rule refuse it (a `short` or `stately` queue already has the key queued),
 * `failBack` fails it instead, a used retry.
 */
export type FailBack = (db: Db, queue: string, attempts: JobAttempt[]) => Promise<void>;

interface TakenHold {
  queue: string;
  id: string;
  retryCount: number;
}

/** Leases presented with a settle, by job id: what each token says, or null for one this gateway never issued. */
export type PresentedLeases = ReadonlyMap<string, LeaseClaim | null>;

const NO_LEASES: PresentedLeases = new Map();
const NO_IDS: ReadonlySet<string> = new Set();

interface LeaseRow {
  holder: string;
  retryCount: number;
  detached: boolean;
}

export interface ClaimOptions {
  /**
   * Fetch and record the holds in one transaction, so one commit (one WAL
   * flush) covers both; the right choice when jobs are expected. Otherwise the
   * fetch runs on its own (one round trip when the queue turns out empty) and
   * the holds are recorded in a second statement.
   */
  transactional: boolean;
  /**
   * Claims of this queue run one at a time on every instance (a transaction
   * lock on the queue's name, taken before the fetch): pg-boss's group limits
   * count active jobs in the fetch's snapshot, so two claims at once could each
   * fill the same group's room. Implies `transactional`.
   */
  serialized?: boolean;
}

type QueryResult = pg.QueryResult<Record<string, unknown>>;

/** Raised by release_held_leases (see its migration) when a hold is not where the caller expected. */
const LEASES_CHANGED = 'JG409';

/** pg-boss's statement cannot be written as EXECUTE with literals: the one-trip settlement does not apply. */
class NotOneTrip extends Error {}

/** Runs `plan` on a pool or a client. */
const query = <R extends pg.QueryResultRow>(on: pg.Pool | pg.PoolClient, plan: SqlPlan) => on.query<R>(plan.text, plan.values);

/** The result of the last statement of a simple-protocol query (an array when it held several). */
function last(result: QueryResult | QueryResult[]): QueryResult {
  return Array.isArray(result) ? result.at(-1)! : result;
}

/**
 * Holds of jobs pushed by `workAssigned`, in PostgreSQL so that every gateway
 * instance agrees on them. A settle locks the leases it reads and runs pg-boss
 * inside the same transaction, so a hold cannot move on halfway.
 */
export class Leases {
  readonly #pool: pg.Pool;
  readonly #claimPool: pg.Pool;
  readonly #statements: PreparedStatements;
  /** The pool's prepared-statement executor, for statements outside a transaction. */
  readonly db: Db;
  /** pg-boss's settle and insert statements, for the one-trip settlement and the send that claims. */
  readonly #sqlPrepared: SqlPrepared;
  /** pg-boss's schema, quoted. */
  readonly #schema: QuotedIdentifier;

  /**
   * `claimPool` runs claims only, with `synchronous_commit` off: a claim's
   * commit does not wait for its WAL flush, which takes a disk flush off the
   * path from a job becoming ready to its push. Should PostgreSQL crash within
   * that moment, the claim is lost as if its worker had died: the job is
   * pushed again (at least once, as ever) and the first holder's settlement
   * gets CONFLICT. Every durable commit after it (a settlement) flushes it.
   * The setting is made per transaction (SET LOCAL), never per session: a
   * connection pooler refuses startup options and shares sessions.
   * With `statements` disabled (transaction pooling), nothing is prepared:
   * neither protocol-level statements nor SQL PREPARE, so the one-trip
   * settlement and the send that claims give way to their general paths.
   */
  constructor(pool: pg.Pool, claimPool: pg.Pool, statements: PreparedStatements, bossSchema: QuotedIdentifier = quoteIdentifier('pgboss')) {
    this.#schema = bossSchema;
    this.#pool = pool;
    this.#claimPool = claimPool;
    this.#statements = statements;
    this.#sqlPrepared = new SqlPrepared({ enabled: statements.enabled });
    this.db = statements.db(pool);
  }

  /** `plan` as a query of the pool's kind: prepared unless statements are disabled. */
  #config(plan: SqlPlan): pg.QueryConfig {
    return this.#statements.config(plan.text, plan.values);
  }

  /** Records (or moves) the holds of freshly fetched jobs, in one statement. */
  async grant(queue: string, grants: readonly LeaseGrant[], db: Db = this.db): Promise<void> {
    if (grants.length === 0) return;
    await runPlan(db, grantLeases(queue, grants));
  }

  /**
   * Fetches jobs with `fetch` and records the holds `assign` decides for them.
   * When the holds cannot be recorded the error propagates; in the
   * transactional mode the fetch is then rolled back as well.
   */
  async claim<J>(queue: string, fetch: (db: Db) => Promise<J[]>, assign: (jobs: J[]) => readonly LeaseGrant[], options: ClaimOptions): Promise<J[]> {
    if (!options.transactional && !options.serialized) {
      // The fetch alone, in one message with its transaction (a fetch with parameters, rare, goes on its
      // own and commits durably), then the holds in a second one.
      const lone: Db = {
        executeSql: async (text, values) =>
          values?.length
            ? this.#claimPool.query(this.#statements.config(text, values))
            : ((await this.#claimPool.query(`BEGIN;\n${ASYNC_COMMIT};\n${text};\nCOMMIT`)) as unknown as QueryResult[]).at(-2)!,
      };
      const jobs = await fetch(lone);
      const grants = jobs.length ? assign(jobs) : [];
      if (grants.length) await this.#claimPool.query(`BEGIN;\n${ASYNC_COMMIT};\n${inlineGrant(queue, grants)};\nCOMMIT`);
      return jobs;
    }
    // BEGIN rides along with pg-boss's fetch (no parameters in the usual case) and COMMIT with the
    // grant: the claim costs two round trips and one commit.
    const client = await this.#claimPool.connect();
    const lock = options.serialized ? `;\n${claimLock(queue)}` : '';
    const begin = `BEGIN;\n${ASYNC_COMMIT}${lock}`;
    let open = false;
    try {
      const db: Db = {
        executeSql: async (text, values) => {
          if (open) return client.query(this.#statements.config(text, values));
          open = true;
          if (values?.length) {
            await client.query(begin);
            return client.query(this.#statements.config(text, values));
          }
          return last(await client.query(`${begin};\n${text}`));
        },
      };
      const jobs = await fetch(db);
      const grants = jobs.length ? assign(jobs) : [];
      if (open) await client.query(grants.length ? `${inlineGrant(queue, grants)};\nCOMMIT` : 'COMMIT');
      open = false;
      return jobs;
    } catch (error) {
      if (open) await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  /** `begin`: BEGIN, possibly followed by a first statement whose result `work` receives. */
  async #transaction<T>(begin: string, work: (client: pg.PoolClient, db: Db, begun: QueryResult) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      const begun = last(await client.query(begin));
      const result = await work(client, this.#statements.db(client), begun);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Runs `settle` in a transaction after locking the leases of `ids`. When it
   * reports ids as finished, their leases are removed in the same transaction.
   * `heldHere`: ids this instance says the caller holds; one without a lease
   * row lost its hold (taken back), so it is a conflict, not anyone's to settle.
   */
  async withLeases<T>(
    queue: string,
    holder: string | null,
    ids: readonly string[],
    settle: (db: Db, split: LeaseSplit) => Promise<{ result: T; finished: readonly string[] }>,
    presented: PresentedLeases = NO_LEASES,
    heldHere: ReadonlySet<string> = NO_IDS,
  ): Promise<{ result: T; finished: readonly string[]; conflicts: string[] }> {
    return this.#transaction('BEGIN', async (client, db) => {
      const { rows } = await client.query<LeaseRow & { id: string }>(this.#config(lockLeases(queue, ids)));
      const split = splitLeases(ids, holder, new Map(rows.map((row) => [row.id, row])), presented, heldHere);
      const { result, finished } = await settle(db, split);
      if (finished.length) await client.query(this.#config(deleteLeases(queue, finished)));
      // Used away from its connection: that connection's close must not fail the job back underneath it.
      const detached = split.viaLease.filter((id) => !finished.includes(id));
      if (detached.length) await client.query(this.#config(detachLeases(queue, detached)));
      return { result, finished, conflicts: split.conflicts };
    });
  }

  /**
   * For settlements that end a hold (complete, fail): the caller's own leases
   * of `ids` are removed up front (one statement both locks and releases
   * them), then `settle` runs in the same transaction. A lease whose attempt
   * did not settle was stale anyway (the job moved on without it). Ids the
   * caller does not hold are locked and classified as in `withLeases`.
   */
  async releasing<T>(
    queue: string,
    holder: string | null,
    ids: readonly string[],
    settle: (db: Db, split: LeaseSplit) => Promise<T>,
    presented: PresentedLeases = NO_LEASES,
    heldHere: ReadonlySet<string> = NO_IDS,
  ): Promise<{ result: T; conflicts: string[] }> {
    return this.#releasing(queue, holder, ids, settle, presented, false, heldHere);
  }

  /**
   * A departing connection's holds, failed back by `settle`: all but those
   * whose lease was used elsewhere (detached), which stay with their job
   * until it is settled on the lease or pg-boss's expiry returns it.
   */
  async releasingForFailBack<T>(
    queue: string,
    holder: string,
    ids: readonly string[],
    settle: (db: Db, split: LeaseSplit) => Promise<T>,
  ): Promise<{ result: T; conflicts: string[] }> {
    return this.#releasing(queue, holder, ids, settle, NO_LEASES, true, NO_IDS);
  }

  async #releasing<T>(
    queue: string,
    holder: string | null,
    ids: readonly string[],
    settle: (db: Db, split: LeaseSplit) => Promise<T>,
    presented: PresentedLeases,
    keepDetached: boolean,
    heldHere: ReadonlySet<string>,
  ): Promise<{ result: T; conflicts: string[] }> {
    // BEGIN travels with the DELETE (values written in): three round trips in all, one commit.
    const begin = holder === null ? 'BEGIN' : beginReleasingOwnLeases(queue, holder, ids, keepDetached);
    return this.#transaction(begin, async (client, db, begun) => {
      const leased = new Map<string, LeaseRow>();
      if (holder !== null) {
        for (const row of begun.rows as { id: string; retryCount: number }[]) leased.set(row.id, { holder, retryCount: row.retryCount, detached: false });
      }
      const others = ids.filter((id) => !leased.has(id));
      if (others.length) {
        const { rows } = await client.query<LeaseRow & { id: string }>(this.#config(lockLeases(queue, others)));
        // A detached hold of the departing holder is nobody's to fail back: it counts as someone else's.
        for (const row of rows) leased.set(row.id, keepDetached && row.detached ? { ...row, holder: '' } : row);
      }
      const split = splitLeases(ids, holder, leased, presented, heldHere);
      const result = await settle(db, split);
      if (split.viaLease.length) await client.query(this.#config(deleteLeases(queue, split.viaLease)));
      return { result, conflicts: split.conflicts };
    });
  }

  /**
   * complete or fail of jobs that `holder` holds at `attempts`, as this
   * instance's dispatcher knows: BEGIN, the release of exactly those holds,
   * pg-boss's statement (prepared once per connection, run by EXECUTE with
   * its parameters written in) and COMMIT travel as one message, one round
   * trip instead of three. When a hold turned out to have moved on, the
   * transaction is rolled back and this returns undefined, as it does when
   * pg-boss's statement cannot be run so: the caller then takes the general
   * path (`releasing`).
   */
  async releasingHeld<T>(queue: string, holder: string, attempts: readonly JobAttempt[], settle: (db: Db) => Promise<T>): Promise<{ result: T } | undefined> {
    const release = releaseHeldLeases(queue, holder, attempts);
    const client = await this.#pool.connect();
    let sent = false;
    try {
      const { db, ran } = singleStatementDb(async (text, values) => {
        const statement = await this.#sqlPrepared.execute(client, text, values);
        if (statement === undefined) throw new NotOneTrip();
        sent = true;
        const results = (await client.query(`BEGIN;\n${release};\n${statement};\nCOMMIT`)) as unknown as QueryResult[];
        return results[2]!;
      });
      const result = await settle(db);
      if (!ran()) throw new NotOneTrip();
      return { result };
    } catch (error) {
      // An error inside the message leaves its transaction open and aborted.
      if (sent) await client.query('ROLLBACK').catch(() => {});
      const code = (error as { code?: unknown }).code;
      if (code === UNKNOWN_PREPARED_STATEMENT) this.#sqlPrepared.forget(client);
      if (error instanceof NotOneTrip || code === LEASES_CHANGED || code === UNKNOWN_PREPARED_STATEMENT) return undefined;
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * A send and a claim in one transaction and one message: BEGIN, pg-boss's
   * insert, its fetch with the holds of the fetched jobs (the n-th to
   * `holders[n]`) recorded by the same statement, COMMIT. A job sent while a
   * worker waits is then in that worker's hands after one durable commit,
   * instead of a commit, a wake-up and a claim of two more round trips.
   * The insert is prepared on the connection and run by EXECUTE.
   * `claimed` is undefined when the two could not run together; the send
   * alone was then made, as it would have been without a claim.
   */
  async sendAndClaim<S, J>(
    queue: string,
    holders: readonly string[],
    send: (db: Db) => Promise<S>,
    fetch: (db: Db) => Promise<J[]>,
  ): Promise<{ sent: S; claimed: J[] | undefined }> {
    const insert = new CapturedStatement();
    const claim = new CapturedStatement();
    const sending = send(insert.db);
    const fetching = fetch(claim.db);
    // Each call either reaches its statement or ends first (an error before it).
    const [sendReached, fetchReached] = await Promise.all([insert.reachedBy(sending), claim.reachedBy(fetching)]);
    const claiming = fetching.then(
      (jobs) => jobs,
      () => undefined,
    );
    if (!sendReached) {
      claim.fail(new Error('send ended before its statement'));
      return { sent: await sending, claimed: undefined };
    }
    let client: pg.PoolClient | undefined;
    try {
      client = await this.#pool.connect();
      const combined = fetchReached && !claim.values?.length ? await this.#combined(client, queue, holders, insert, claim) : undefined;
      if (combined) {
        insert.succeed(combined[1]!);
        claim.succeed(combined[2]!);
      } else {
        claim.fail(new Error('claim not made with the send'));
        insert.succeed(await client.query(this.#statements.config(insert.text, insert.values)));
      }
    } catch (error) {
      // pg-boss sees the error as its statement's own.
      insert.fail(error);
      claim.fail(error);
    } finally {
      client?.release();
    }
    return { sent: await sending, claimed: await claiming };
  }

  /** The message of `sendAndClaim`; undefined when it could not be prepared or failed (rolled back). */
  async #combined(
    client: pg.PoolClient,
    queue: string,
    holders: readonly string[],
    insert: CapturedStatement,
    claim: CapturedStatement,
  ): Promise<QueryResult[] | undefined> {
    const insertStatement = await this.#sqlPrepared.execute(client, insert.text, insert.values ?? []);
    if (!insertStatement) return undefined;
    try {
      return (await client.query(
        `BEGIN;\n${insertStatement};\n${fetchWithHolds(claim.text, (numbered) => upsertNumberedHolds(queue, holders, numbered))};\nCOMMIT`,
      )) as unknown as QueryResult[];
    } catch (error) {
      // Whichever statement failed, the transaction is open and aborted: the send is then made on its own,
      // so that a claim's failure (a policy's unique index, say) never costs the send.
      await client.query('ROLLBACK').catch(() => {});
      if ((error as { code?: unknown }).code === UNKNOWN_PREPARED_STATEMENT) this.#sqlPrepared.forget(client);
      return undefined;
    }
  }

  /**
   * Takes back the holds of instances found dead: `findDead` runs first in
   * the transaction and names them (removing their liveness rows, so that a
   * single instance takes each back); their holds, but detached ones (their
   * lease was used elsewhere: they stay until settled on it or expired), are
   * removed, and the jobs still active in the held attempt are put back.
   * Returns the dead instances and how many jobs went back.
   */
  async takeBackDead(findDead: (db: Db) => Promise<string[]>, failBack: FailBack): Promise<{ instances: string[]; jobs: number }> {
    return this.#transaction('BEGIN', async (client, db) => {
      const instances = await findDead(db);
      if (instances.length === 0) return { instances, jobs: 0 };
      const { rows } = await query<TakenHold>(client, takeLeasesOfInstances(instances));
      return { instances, jobs: await this.#putBack(client, db, rows, failBack) };
    });
  }

  /**
   * A stopping gateway's holds of `holder` that were not settled in time, put
   * back without a used retry (see `FailBack`): all but detached ones, which
   * stay with their lease.
   */
  async putBackHeld(queue: string, holder: string, ids: readonly string[], failBack: FailBack): Promise<number> {
    return this.#transaction('BEGIN', async (client, db) => {
      const { rows } = await query<TakenHold>(client, takeHeldLeases(queue, holder, ids));
      return this.#putBack(client, db, rows, failBack);
    });
  }

  /**
   * Puts back, in the caller's transaction, the jobs of `holds` that are still
   * active in the held attempt (see `FailBack`), queue by queue, each under a
   * savepoint. Returns how many went back.
   */
  async #putBack(client: pg.PoolClient, db: Db, holds: readonly TakenHold[], failBack: FailBack): Promise<number> {
    const byQueue = new Map<string, TakenHold[]>();
    for (const hold of holds) byQueue.set(hold.queue, [...(byQueue.get(hold.queue) ?? []), hold]);
    let total = 0;
    for (const [queue, held] of byQueue) {
      await client.query('SAVEPOINT put_back');
      try {
        const { rowCount } = await client.query(restoreAttemptsSql(this.#schema), [queue, held.map((hold) => hold.id), held.map((hold) => hold.retryCount)]);
        total += rowCount ?? 0;
      } catch {
        await client.query('ROLLBACK TO SAVEPOINT put_back');
        await failBack(
          db,
          queue,
          held.map((hold) => ({ id: hold.id, retryCount: hold.retryCount })),
        );
        total += held.length;
      }
      await client.query('RELEASE SAVEPOINT put_back');
    }
    return total;
  }

  /**
   * Of `holds`, those still recorded as they are given, with their job active
   * in that attempt: what survived a gap in the job events.
   */
  async liveHolds(holds: readonly (LeaseGrant & { queue: string })[]): Promise<{ queue: string; id: string }[]> {
    if (holds.length === 0) return [];
    const { rows } = await query<{ queue: string; id: string }>(this.#pool, liveHolds(this.#schema, holds));
    return rows;
  }

  /** Of these queues, those that may have a job to claim (a job waiting and due). */
  async queuesWithDueJobs(names: readonly string[]): Promise<string[]> {
    if (names.length === 0) return [];
    const { rows } = await query<{ name: string }>(this.#pool, queuesWithDueJobs(this.#schema, names));
    return rows.map((row) => row.name);
  }

  /** Drops holds whose job is no longer active in the leased attempt (settled elsewhere, expired, deleted). */
  async purgeStale(): Promise<number> {
    const { rowCount } = await this.#pool.query(purgeStaleLeases(this.#schema));
    return rowCount ?? 0;
  }
}

/**
 * A presented lease settles its job when it names the hold the job's lease
 * row records (holder and attempt); any other is stale. Without one, the
 * holder alone may settle, and a job never pushed is anyone's with WORK.
 */
function splitLeases(
  ids: readonly string[],
  holder: string | null,
  leased: ReadonlyMap<string, Omit<LeaseRow, 'detached'>>,
  presented: PresentedLeases,
  heldHere: ReadonlySet<string>,
): LeaseSplit {
  const split: LeaseSplit = { held: [], unleased: [], conflicts: [], viaLease: [] };
  for (const id of ids) {
    const lease = leased.get(id);
    const claim = presented.get(id);
    if (lease && lease.holder === holder) split.held.push({ id, retryCount: lease.retryCount });
    else if (claim === undefined) (lease || heldHere.has(id) ? split.conflicts : split.unleased).push(id);
    else if (claim !== null && lease && lease.holder === claim.holder && lease.retryCount === claim.retryCount) {
      split.held.push({ id, retryCount: lease.retryCount });
      split.viaLease.push(id);
    } else split.conflicts.push(id);
  }
  return split;
}
