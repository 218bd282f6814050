import type { Db, GroupConcurrencyConfig, JobAttempt, PgBoss, Queue, Schedule, ScheduleOptions, SendOptions, UpdateQueueOptions } from 'pg-boss';
import type { OperationAdmission } from '../auth/operation-admission.ts';
import { ADOPT_JOB_TABLES_SQL } from '../events/job-events-sql.ts';
import { badInput, conflict, notFound } from '../errors.ts';
import { asInputError, isQueueNotFound } from '../pgboss/errors.ts';
import { asCursorError, decodeCursor, encodeCursor, pageSize, type Page } from './job-cursor.ts';
import { assertJobPayload, fromBossSendOptions, isUuid, toBossSendOptions, type JobSendOptions } from './job-input.ts';
import { JOB_COLUMNS, SentJob, toJobRecord, type JobRecord, type JobRow, type JobState } from './job-record.ts';
import type { LeaseSplit, Leases, PresentedLeases } from '../dispatch/leases.ts';
import type { LeaseTokens } from '../dispatch/lease-tokens.ts';
import { readProgress, reportProgressSql } from './job-progress.ts';
import type { DispatchPort, DispatchQueues } from '../dispatch/port.ts';
import { jobIdMaker } from './job-ids.ts';
import { previewSchedule } from './schedule-preview.ts';
import { admitQueue, admitSchedule, oneCreateAtATime } from './caps.ts';
import { QueueNamespace } from './names.ts';
import type { QueueLimits, TenantScope } from './scope.ts';
import {
  countColumns,
  QUEUE_COLUMNS,
  toQueueRecord,
  type QueueRecord,
  type QueueRow,
  type QueueSettings,
} from './queue-record.ts';

export interface JobInput {
  data: unknown;
  options?: JobSendOptions | undefined;
}

export type JobPage = Page<JobRecord>;

export interface CommandResult {
  requested: number;
  affected: number;
  /** Ids held by another worker connection (complete, fail, touch). */
  conflicts?: number;
}

/** What pg-boss's commands report at run time (its typings leave it empty). */
interface SettleResponse {
  affected?: number;
  settled?: string[];
}

/** Who is calling, for jobs pushed by workAssigned. */
export interface WorkIdentity {
  leases: Leases;
  /** Signs and reads the lease tokens of pushed jobs. */
  leaseTokens: LeaseTokens;
  /** The calling operation's rate-limit admission, when a settle decides it. */
  admission?: OperationAdmission | undefined;
  /** Runs the hot statements (sends, reads) as prepared statements. */
  db: Db;
  /** The worker connection making the call; null over HTTP. */
  holder: string | null;
  /** This instance's dispatcher: told of sends and settlements, asked for room and holds. */
  dispatch?: DispatchPort | undefined;
  /** Counts jobs sent and settled (metrics); `queue` is the tenant's name. */
  observer?: QueueObserver | undefined;
}

export interface QueueObserver {
  sent(tenantId: string, queue: string, count: number): void;
  settled(tenantId: string, queue: string, outcome: 'complete' | 'fail', count: number): void;
}

export interface ScheduleRecord {
  queue: string;
  key: string;
  cron: string;
  timezone: string;
  data: unknown;
  options: Record<string, unknown>;
  createdOn: Date;
  updatedOn: Date;
  lastJobId: string | null;
}

export type JobCommand = 'cancel' | 'resume' | 'retry' | 'delete' | 'complete' | 'fail' | 'touch';

export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './job-cursor.ts';
export type { QueueLimits } from './scope.ts';
const MAX_SCHEDULE_KEY_LENGTH = 255;
/** pg-boss's own rule for schedule keys, checked up front so that unscheduleJob refuses exactly what scheduleJob refuses. */
const SCHEDULE_KEY_PATTERN = /^[\w.\-/]+$/;

function assertScheduleKey(key: string | undefined): void {
  if (key !== undefined && (key.length === 0 || key.length > MAX_SCHEDULE_KEY_LENGTH || !SCHEDULE_KEY_PATTERN.test(key))) {
    throw badInput(`"key" must be 1-${MAX_SCHEDULE_KEY_LENGTH} letters, digits, "_", ".", "-" or "/"`, { argument: 'key' });
  }
}

function toBossQueueOptions(names: QueueNamespace, settings: QueueSettings): Omit<Queue, 'name'> {
  const options: Omit<Queue, 'name'> = {};
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined || key === 'deadLetter') continue;
    Object.assign(options, { [key]: value });
  }
  // An empty string is a name too (an invalid one): only undefined/null mean "no dead letter".
  if (settings.deadLetter !== undefined && settings.deadLetter !== null) options.deadLetter = names.qualify(settings.deadLetter, 'deadLetter');
  return options;
}

/**
 * The tenant-scoped face of pg-boss, constructed for one tenant. It is the
 * only code that touches pg-boss on a tenant's behalf: every name a tenant
 * passes is validated and qualified with the tenant's prefix, and nothing
 * outside that prefix is ever returned. Something of another tenant looks
 * exactly like something that does not exist.
 */
export class TenantQueues implements DispatchQueues {
  readonly tenantId: string;
  readonly names: QueueNamespace;
  readonly #boss: PgBoss;
  readonly #schema: string;
  readonly #limits: QueueLimits;
  readonly #work: WorkIdentity;
  /** For the modules that bring the rest of pg-boss to the tenant (flows.ts, topics.ts, … in this folder). */
  readonly scope: TenantScope;

  constructor(boss: PgBoss, schema: string, tenantId: string, limits: QueueLimits, work: WorkIdentity) {
    this.tenantId = tenantId;
    this.names = new QueueNamespace(tenantId);
    this.#boss = boss;
    this.#schema = `"${schema.replaceAll('"', '""')}"`;
    this.#limits = limits;
    this.#work = work;
    this.scope = {
      tenantId, names: this.names, boss, schema: this.#schema, limits, db: work.db,
      queueExists: (qualified) => this.#queueExists(qualified),
      ensureQueue: (qualified) => this.#ensureQueue(qualified),
      withQueue: (qualified, action) => this.#withQueue(qualified, action),
      sent: (qualified, ids) => {
        if (ids.length === 0) return;
        this.#work.dispatch?.sent(qualified, ids);
        this.#work.observer?.sent(tenantId, this.names.unqualify(qualified) ?? '', ids.length);
      },
      getJob: (queue, id) => this.getJob(queue, id),
    };
  }

  async #sql<T>(text: string, values: unknown[]): Promise<T[]> {
    const { rows } = await this.#work.db.executeSql(text, values);
    return rows as T[];
  }

  // ---- queues ----

  async listQueues(): Promise<QueueRecord[]> {
    return this.#queueRows('starts_with(q.name, $1)', [this.names.prefix]);
  }

  async getQueue(name: string): Promise<QueueRecord | null> {
    const [queue] = await this.#queueRows('q.name = $1', [this.names.qualify(name)]);
    return queue ?? null;
  }

  async #queueRows(where: string, values: unknown[]): Promise<QueueRecord[]> {
    const rows = await this.#sql<QueueRow>(
      `SELECT ${QUEUE_COLUMNS}, ${countColumns('j')}
         FROM ${this.#schema}.queue q
         LEFT JOIN ${this.#schema}.job j ON j.name = q.name
        WHERE ${where}
        GROUP BY q.name
        ORDER BY q.name`,
      values,
    );
    return rows.flatMap((row) => toQueueRecord(this.names, row) ?? []);
  }

  /** Which of these tenant queue names exist: one indexed lookup, no job counts. */
  async existingQueues(names: readonly string[]): Promise<Set<string>> {
    const rows = await this.#sql<{ name: string }>(`SELECT name FROM ${this.#schema}.queue WHERE name = ANY($1::text[])`, [names.map((name) => this.names.qualify(name))]);
    return new Set(rows.flatMap((row) => this.names.unqualify(row.name) ?? []));
  }

  /** Qualified names of these tenant queues, creating with defaults those that do not exist yet. */
  async ensureQueues(names: readonly string[], argument?: string): Promise<string[]> {
    const qualified = names.map((name) => this.names.qualify(name, argument));
    const found = await this.existingQueues(names);
    for (const [index, name] of names.entries()) if (!found.has(name)) await this.#ensureQueue(qualified[index]!);
    return qualified;
  }

  /** `db`: inside a transaction, its own connection (waiting for a second one from the pool could deadlock it). */
  async #queueExists(qualified: string, db: Db = this.#work.db): Promise<boolean> {
    const { rows } = await db.executeSql(`SELECT 1 FROM ${this.#schema}.queue WHERE name = $1`, [qualified]);
    return rows.length > 0;
  }

  /** Creates a queue with default options unless it exists; QUOTA_EXCEEDED past the tenant's queue cap. */
  async #ensureQueue(qualified: string): Promise<void> {
    if (await this.#queueExists(qualified)) return;
    await this.#createWithinCap(qualified, () => this.#boss.createQueue(qualified));
  }

  /** Creates a queue, one create of the tenant at a time on this instance, unless the tenant is at its queue cap. */
  #createWithinCap(qualified: string, create: () => Promise<void>): Promise<void> {
    return oneCreateAtATime(this.#capKey, async () => {
      if ((await admitQueue(this.#work.db, this.#schema, this.names.prefix, qualified, this.#limits.tenantMaxQueues)) === 'admitted') await create();
    });
  }

  get #capKey(): string {
    return `${this.#schema}\n${this.tenantId}`;
  }

  async createQueue(name: string, settings: QueueSettings = {}): Promise<QueueRecord> {
    const qualified = this.names.qualify(name);
    if (await this.#queueExists(qualified)) throw conflict(`queue "${name}" already exists`);
    const options = toBossQueueOptions(this.names, settings);
    if (options.deadLetter) {
      if (options.deadLetter === qualified) throw badInput('a queue cannot be its own dead letter queue', { argument: 'deadLetter' });
      await this.#ensureQueue(options.deadLetter);
    }
    await this.#createWithinCap(qualified, () =>
      this.#boss.createQueue(qualified, options).catch((error: unknown) => {
        throw asInputError(error);
      }),
    );
    // A partitioned queue has a job table of its own: give it the job-event statement triggers.
    if (options.partition) await this.#sql(ADOPT_JOB_TABLES_SQL, []);
    return (await this.getQueue(name))!;
  }

  async updateQueue(name: string, settings: QueueSettings): Promise<QueueRecord> {
    const qualified = this.names.qualify(name);
    if (!(await this.#queueExists(qualified))) throw notFound(`no queue "${name}"`);
    if (settings.policy !== undefined || settings.partition !== undefined) {
      throw badInput('"policy" and "partition" are fixed when a queue is created', { argument: 'options' });
    }
    const { deadLetter, policy: _policy, partition: _partition, ...rest } = settings;
    const options: UpdateQueueOptions = toBossQueueOptions(this.names, rest);
    if (deadLetter === null) options.deadLetter = null;
    else if (deadLetter !== undefined) {
      options.deadLetter = this.names.qualify(deadLetter, 'deadLetter');
      if (options.deadLetter === qualified) throw badInput('a queue cannot be its own dead letter queue', { argument: 'deadLetter' });
      await this.#ensureQueue(options.deadLetter);
    }
    await this.#boss.updateQueue(qualified, options).catch((error: unknown) => {
      throw asInputError(error);
    });
    return (await this.getQueue(name))!;
  }

  async deleteQueue(name: string): Promise<boolean> {
    const qualified = this.names.qualify(name);
    if (!(await this.#queueExists(qualified))) throw notFound(`no queue "${name}"`);
    await this.#boss.deleteQueue(qualified).catch((error: unknown) => {
      // pg-boss refuses (with a plain Error naming the prefixed referrer) to drop a dead letter queue still in use.
      if (/as (its|their) dead letter queue/.test((error as Error | null)?.message ?? '')) {
        throw conflict(`queue "${name}" is the dead letter queue of another queue or of stored jobs`);
      }
      throw error;
    });
    return true;
  }

  // ---- sending ----

  /** Runs `send` against a queue, creating the queue with defaults on first use. */
  async #withQueue<T>(qualified: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      if (!isQueueNotFound(error)) throw asInputError(error);
    }
    await this.#ensureQueue(qualified);
    return action().catch((error: unknown) => {
      throw asInputError(error);
    });
  }

  async #prepareDeadLetter(options: SendOptions): Promise<void> {
    if (options.deadLetter) await this.#ensureQueue(options.deadLetter);
  }

  /** The created job, or null when a singleton, throttle or debounce rule suppressed it. */
  async sendJob(queue: string, data: unknown, options?: JobSendOptions): Promise<SentJob | null> {
    const qualified = this.names.qualify(queue);
    const payload = assertJobPayload(data, this.#limits.maxJobDataBytes);
    const sendOptions = toBossSendOptions(this.names, options);
    sendOptions.id ??= jobIdMaker()();
    await this.#prepareDeadLetter(sendOptions);
    // A second insert (the next slot) could not share the claim's transaction; a deferred job is not
    // the send's to claim, and the usual claim arms the timer for its start.
    let handoff = sendOptions.singletonNextSlot || sendOptions.startAfter !== undefined ? undefined : this.#work.dispatch?.handoff(qualified);
    let handedOff = false;
    const id = await this.#withQueue(qualified, async () => {
      const room = handoff;
      handoff = undefined;
      if (!room) return this.#boss.send(qualified, payload, { ...sendOptions, db: this.#work.db });
      const { sent, claimed } = await this.#work.leases
        .sendAndClaim(
          qualified,
          room.holders,
          (db) => this.#boss.send(qualified, payload, { ...sendOptions, db }),
          (db) => this.claim(qualified, room.holders.length, db),
        )
        .catch((error: unknown) => {
          room.done(undefined);
          throw error;
        });
      room.done(claimed, sent ? [sent] : []);
      handedOff = claimed !== undefined;
      return sent;
    });
    if (!id) return null;
    if (!handedOff) this.#work.dispatch?.sent(qualified, [id]);
    this.#work.observer?.sent(this.tenantId, queue, 1);
    return new SentJob(id, queue, () => this.getJob(queue, id));
  }

  /**
   * Inserts a batch in one pg-boss call. Ids are assigned here so they come
   * back in input order; jobs a singleton rule suppressed are left out.
   */
  async sendJobs(queue: string, jobs: readonly JobInput[]): Promise<string[]> {
    const qualified = this.names.qualify(queue);
    if (jobs.length > this.#limits.maxBatchSize) {
      throw badInput(`a batch holds at most ${this.#limits.maxBatchSize} jobs; got ${jobs.length}`, {
        argument: 'jobs',
        limit: this.#limits.maxBatchSize,
      });
    }
    if (jobs.length === 0) return [];
    const newId = jobIdMaker();
    const inserts = jobs.map((job, index) => {
      const data = assertJobPayload(job.data, this.#limits.maxJobDataBytes, `jobs[${index}].data`);
      if (job.options?.debounceSeconds !== undefined || job.options?.singletonNextSlot) {
        // pg-boss's batch insert has no "next slot": debouncing needs sendJob.
        throw badInput(`jobs[${index}]: debounceSeconds and singletonNextSlot need sendJob, not sendJobs`, { argument: 'jobs' });
      }
      if (job.options === undefined || job.options === null) return { data, id: newId() };
      const { startAfter, group, ...options } = toBossSendOptions(this.names, job.options);
      return { ...options, ...(startAfter === undefined ? {} : { startAfter }), ...(group ? { group } : {}), data, id: options.id ?? newId() };
    });
    for (const deadLetter of new Set(inserts.flatMap((job) => job.deadLetter ?? []))) await this.#ensureQueue(deadLetter);
    const inserted = new Set(await this.#withQueue(qualified, async () => (await this.#boss.insert(qualified, inserts, { returnId: true, db: this.#work.db })) ?? []));
    if (inserted.size) this.#work.dispatch?.sent(qualified, [...inserted]);
    this.#work.observer?.sent(this.tenantId, queue, inserted.size);
    return inserts.map((job) => job.id).filter((id) => inserted.has(id));
  }

  // ---- reading ----

  async getJob(queue: string, id: string): Promise<JobRecord | null> {
    const qualified = this.names.qualify(queue);
    if (!isUuid(id)) return null;
    const [row] = await this.#sql<JobRow>(`SELECT ${JOB_COLUMNS} FROM ${this.#schema}.job WHERE name = $1 AND id = $2`, [qualified, id]);
    return row ? toJobRecord(this.names, row) : null;
  }

  /** A job by id in one queue, or in any of the tenant's queues. */
  async findJob(id: string, queue?: string): Promise<JobRecord | null> {
    if (queue !== undefined) return this.getJob(queue, id);
    if (!isUuid(id)) return null;
    const rows = await this.#sql<JobRow>(
      `SELECT ${JOB_COLUMNS} FROM ${this.#schema}.job WHERE id = $1 AND starts_with(name, $2)`,
      [id, this.names.prefix],
    );
    return rows.flatMap((row) => toJobRecord(this.names, row) ?? [])[0] ?? null;
  }

  /** A page of jobs, newest first. */
  async listJobs(queue: string, options: { states?: readonly JobState[] | undefined; first?: number | undefined; after?: string | undefined }): Promise<JobPage> {
    const qualified = this.names.qualify(queue);
    const first = pageSize(options.first);
    const [afterCreated, afterId] = options.after !== undefined ? decodeCursor(options.after) : [null, null];
    const rows = await this.#sql<JobRow & { cursor: string }>(
      `SELECT ${JOB_COLUMNS}, created_on::text AS cursor
         FROM ${this.#schema}.job
        WHERE name = $1
          AND ($2::text[] IS NULL OR state::text = ANY($2))
          AND ($3::timestamptz IS NULL OR (created_on, id) < ($3::timestamptz, $4::uuid))
        ORDER BY created_on DESC, id DESC
        LIMIT $5`,
      [qualified, options.states?.length ? options.states : null, afterCreated, afterId, first + 1],
    ).catch((error: unknown) => {
      throw afterCreated === null ? error : asCursorError(error);
    });
    const page = rows.slice(0, first);
    const last = page.at(-1);
    return {
      nodes: page.flatMap((row) => toJobRecord(this.names, row) ?? []),
      endCursor: last ? encodeCursor(last) : null,
      hasNextPage: rows.length > first,
    };
  }

  // ---- job commands ----

  #validIds(ids: readonly string[]): string[] {
    if (ids.length > this.#limits.maxBatchSize) {
      throw badInput(`at most ${this.#limits.maxBatchSize} ids per call; got ${ids.length}`, { argument: 'ids', limit: this.#limits.maxBatchSize });
    }
    // Malformed ids cannot name a job: they are simply not found.
    return [...new Set(ids.filter(isUuid))];
  }

  #output(value: unknown, argument: string): object | null {
    if (value === undefined || value === null) return null;
    return assertJobPayload(typeof value === 'string' ? { message: value } : value, this.#limits.maxJobDataBytes, argument);
  }

  /**
   * What each presented lease says, by job id (`leases[n]` goes with `ids[n]`).
   * A token this gateway did not issue for that job of that queue reads as
   * null: settling with it is CONFLICT, whichever tenant it came from.
   */
  #presentedLeases(qualified: string, ids: readonly string[], leases: readonly (string | null | undefined)[] | undefined): PresentedLeases {
    const presented = new Map<string, ReturnType<LeaseTokens['read']>>();
    if (!leases?.length) return presented;
    if (leases.length !== ids.length) throw badInput('"lease" must give one lease per id, in the same order', { argument: 'lease' });
    for (const [index, id] of ids.entries()) {
      const token = leases[index];
      if (token !== null && token !== undefined && isUuid(id)) presented.set(id, this.#work.leaseTokens.read(token, qualified, id));
    }
    return presented;
  }

  /**
   * The deferred rate-limit admission of a settle: none for jobs the caller
   * holds (its connection, or authentic leases for every id), the usual one
   * otherwise.
   */
  #admitSettle(qualified: string, ids: readonly string[], presented: PresentedLeases): JobAttempt[] | undefined {
    const holder = this.#work.holder;
    const held = holder === null ? undefined : this.#work.dispatch?.heldAttempts(holder, qualified, ids);
    if (!held && !(ids.length > 0 && ids.every((id) => presented.get(id)))) this.#work.admission?.admitUnheld();
    return held;
  }

  /** Applies a command to jobs of one of the tenant's queues; a missing queue is NOT_FOUND. */
  async command(kind: JobCommand, queue: string, ids: readonly string[], payload?: unknown, leases?: readonly (string | null | undefined)[]): Promise<CommandResult> {
    const qualified = this.names.qualify(queue);
    const presented = this.#presentedLeases(qualified, ids, leases);
    const valid = this.#validIds(ids);
    const output = kind === 'complete' ? this.#output(payload, 'output') : kind === 'fail' ? this.#output(payload, 'error') : null;
    if (valid.length === 0) {
      if (kind === 'complete' || kind === 'fail' || kind === 'touch') this.#work.admission?.admitUnheld();
      if (!(await this.#queueExists(qualified))) throw notFound(`no queue "${queue}"`);
      return { requested: ids.length, affected: 0 };
    }
    const boss = this.#boss;
    try {
      if (kind === 'complete' || kind === 'fail' || kind === 'touch') return await this.#settle(kind, qualified, ids.length, valid, output, presented);
      const options = { db: this.#work.db };
      const result = (await (kind === 'cancel'
        ? boss.cancel(qualified, valid, options)
        : kind === 'resume'
          ? boss.resume(qualified, valid, options)
          : kind === 'retry'
            ? boss.retry(qualified, valid, options)
            : boss.deleteJob(qualified, valid, options))) as SettleResponse;
      return { requested: ids.length, affected: result.affected ?? 0 };
    } catch (error) {
      if (isQueueNotFound(error)) throw notFound(`no queue "${queue}"`);
      throw asInputError(error);
    }
  }

  /**
   * complete, fail and touch: only active jobs, each fenced to its current
   * attempt (pg-boss's own fail would also fail waiting jobs). A job pushed by
   * workAssigned may only be settled by the connection holding it, or with
   * its current lease.
   */
  async #settle(kind: 'complete' | 'fail' | 'touch', qualified: string, requested: number, ids: string[], output: object | null, presented: PresentedLeases): Promise<CommandResult> {
    const boss = this.#boss;
    const { leases, holder } = this.#work;
    const held = this.#admitSettle(qualified, ids, presented);
    const heldHere = new Set(held?.map((attempt) => attempt.id));
    const settle = async (db: Db, split: LeaseSplit): Promise<{ affected: number; settled: readonly string[] }> => {
      const attempts = [...split.held, ...(await this.#activeAttempts(qualified, split.unleased, db))];
      if (attempts.length === 0) {
        if (split.conflicts.length === 0 && !(await this.#queueExists(qualified, db))) throw notFound(`no queue "${this.names.unqualify(qualified)}"`);
        return { affected: 0, settled: [] };
      }
      const response = (kind === 'complete'
        ? await boss.complete(qualified, attempts, output, { db })
        : kind === 'fail'
          ? await boss.fail(qualified, attempts, output, { db })
          : await boss.touch(qualified, attempts, { db })) as SettleResponse;
      return { affected: response.affected ?? 0, settled: kind === 'touch' ? [] : (response.settled ?? []) };
    };
    let affected: number;
    let conflicts: readonly string[];
    if (kind === 'touch') {
      ({ result: { affected }, conflicts } = await leases.withLeases(qualified, holder, ids, async (db, split) => ({ result: await settle(db, split), finished: [] }), presented, heldHere));
    } else {
      // complete and fail end the holds. The usual case, a worker settling what it was pushed here,
      // takes one round trip; anything else is sorted out id by id in one transaction.
      const oneTrip = held && holder !== null ? await leases.releasingHeld(qualified, holder, held, (db) => settle(db, { held, unleased: [], conflicts: [], viaLease: [] })) : undefined;
      let released: readonly string[] = [];
      let settled: readonly string[] = [];
      if (oneTrip) {
        ({ affected, settled } = oneTrip.result);
        released = ids;
        conflicts = [];
      } else {
        ({ result: { affected, settled }, conflicts } = await leases.releasing(
          qualified,
          holder,
          ids,
          async (db, split) => {
            released = split.held.map((attempt) => attempt.id);
            return settle(db, split);
          },
          presented,
          heldHere,
        ));
      }
      // A complete or fail by the holder of what this instance says it holds ends those holds here,
      // whatever the database answered: a hold it no longer records (a claim lost in a crash, an end
      // whose event was missed) must not keep the worker's room.
      if (held) released = ids;
      const finished = released.length ? [...new Set([...released, ...settled])] : settled;
      if (finished.length) this.#work.dispatch?.settled(qualified, finished, held);
    }
    if (kind !== 'touch' && affected) this.#work.observer?.settled(this.tenantId, this.names.unqualify(qualified) ?? '', kind, affected);
    if (conflicts.some((id) => presented.has(id))) this.#work.admission?.chargeStale();
    return { requested, affected, conflicts: conflicts.length };
  }

  async #activeAttempts(qualified: string, ids: readonly string[], db: Db): Promise<JobAttempt[]> {
    if (ids.length === 0) return [];
    const { rows } = await db.executeSql(
      `SELECT id, retry_count AS "retryCount" FROM ${this.#schema}.job WHERE name = $1 AND id = ANY($2::uuid[]) AND state = 'active'`,
      [qualified, ids],
    );
    return rows as JobAttempt[];
  }

  /** One job: NOT_FOUND when it does not exist, CONFLICT when its state does not allow the command. */
  async commandOne(kind: Exclude<JobCommand, 'delete'>, queue: string, id: string, payload?: unknown, lease?: string | null): Promise<JobRecord> {
    const { affected, conflicts } = await this.command(kind, queue, [id], payload, lease === null || lease === undefined ? undefined : [lease]);
    const job = await this.getJob(queue, id);
    if (!job) throw notFound(`no job ${id} in queue "${queue}"`);
    if (conflicts) throw conflict(lease ? `the lease is not job ${id}'s current one (another attempt, or already settled)` : `job ${id} is held by another worker connection`);
    if (affected === 0) throw conflict(`job ${id} is ${job.state}; ${kind} does not apply`);
    return job;
  }

  async deleteOne(queue: string, id: string): Promise<boolean> {
    const { affected } = await this.command('delete', queue, [id]);
    if (affected === 0) throw notFound(`no job ${id} in queue "${queue}"`);
    return true;
  }

  // ---- leases and progress ----

  /** The lease of a job pushed to the caller's connection, to settle it from anywhere; null for anyone else. */
  leaseFor(job: { id: string; queue: string }): string | null {
    const holder = this.#work.holder;
    if (holder === null) return null;
    const qualified = this.names.qualify(job.queue);
    const [attempt] = (this.#work.holder === null ? undefined : this.#work.dispatch?.heldAttempts(this.#work.holder, qualified, [job.id])) ?? [];
    return attempt ? this.#work.leaseTokens.issue(qualified, job.id, attempt.retryCount, holder) : null;
  }

  /**
   * Records an active job's progress and tells `jobEvents` (PROGRESS), fenced
   * like completeJob: only its holder, or its current lease, for a pushed job.
   */
  async reportProgress(queue: string, id: string, progress: unknown, lease?: string | null): Promise<JobRecord> {
    const qualified = this.names.qualify(queue);
    const presented = this.#presentedLeases(qualified, [id], lease === null || lease === undefined ? undefined : [lease]);
    const json = JSON.stringify(progress ?? null);
    if (progress === undefined || progress === null || Buffer.byteLength(json) > this.#limits.maxProgressBytes) {
      throw badInput(`"progress" must be a JSON value of at most ${this.#limits.maxProgressBytes} bytes`, { argument: 'progress', limit: this.#limits.maxProgressBytes });
    }
    const ids = isUuid(id) ? [id] : [];
    const held = this.#admitSettle(qualified, ids, presented);
    let reported = false;
    let conflicts: readonly string[] = [];
    if (ids.length) {
      ({ result: reported, conflicts } = await this.#work.leases.withLeases(
        qualified,
        this.#work.holder,
        ids,
        async (db, split) => {
          const [attempt] = [...split.held, ...(await this.#activeAttempts(qualified, split.unleased, db))];
          if (!attempt) return { result: false, finished: [] };
          const { rows } = await db.executeSql(reportProgressSql(this.#schema), [qualified, id, attempt.retryCount, json]);
          return { result: rows.length > 0, finished: [] };
        },
        presented,
        new Set(held?.map((attempt) => attempt.id)),
      ));
    }
    const job = await this.getJob(queue, id);
    if (!job) throw notFound(`no job ${id} in queue "${queue}"`);
    if (conflicts.length) {
      if (presented.size) this.#work.admission?.chargeStale();
      throw conflict(lease ? `the lease is not job ${id}'s current one (another attempt, or already settled)` : `job ${id} is held by another worker connection`);
    }
    if (!reported) throw conflict(`job ${id} is ${job.state}; reportProgress needs an active job`);
    return job;
  }

  /** The latest progress reported for a job, or null. */
  async progressOf(queue: string, id: string): Promise<unknown> {
    return isUuid(id) ? readProgress(this.#work.db, this.names.qualify(queue), id) : null;
  }

  // ---- dispatch (qualified names, for the dispatcher of workAssigned) ----

  #owned(qualified: string): string {
    if (!this.names.owns(qualified)) throw new Error(`queue ${qualified} is outside tenant ${this.tenantId}`);
    return qualified;
  }

  /**
   * Takes up to `limit` ready jobs (they become active), in pg-boss's order.
   * Runs per dispatch batch: each record is built field by field (one object
   * of one shape) rather than by spreading pg-boss's wider rows twice.
   */
  async claim(qualified: string, limit: number, db?: Db, groups?: { limits: GroupConcurrencyConfig; ignore: readonly string[] }): Promise<JobRecord[]> {
    const queue = this.names.unqualify(this.#owned(qualified))!;
    const groupOptions = groups ? { groupConcurrency: groups.limits, ...(groups.ignore.length ? { ignoreGroups: [...groups.ignore] } : {}) } : {};
    const jobs = await this.#boss.fetch(qualified, { batchSize: limit, includeMetadata: true, ...(db ? { db } : {}), ...groupOptions });
    const records: JobRecord[] = [];
    for (const job of jobs) {
      if (job.name !== qualified) continue;
      records.push({
        id: job.id,
        queue,
        state: job.state,
        data: job.data ?? null,
        output: job.output ?? null,
        priority: job.priority,
        retryCount: job.retryCount,
        retryLimit: job.retryLimit,
        retryDelay: job.retryDelay,
        retryBackoff: job.retryBackoff,
        retryDelayMax: job.retryDelayMax ?? null,
        expireInSeconds: job.expireInSeconds,
        deleteAfterSeconds: job.deleteAfterSeconds,
        singletonKey: job.singletonKey ?? null,
        singletonOn: job.singletonOn ?? null,
        groupId: job.groupId ?? null,
        groupTier: job.groupTier ?? null,
        deadLetter: this.names.unqualify(job.deadLetter ?? null),
        policy: job.policy ?? null,
        startAfter: job.startAfter,
        createdOn: job.createdOn,
        startedOn: job.startedOn,
        completedOn: job.completedOn,
        keepUntil: job.keepUntil,
        heartbeatOn: job.heartbeatOn ?? null,
        heartbeatSeconds: job.heartbeatSeconds ?? null,
        blocked: job.blocked,
        pendingDependencies: job.pendingDependencies,
      });
    }
    return records;
  }

  /** When the next deferred job of a queue becomes ready, if any. */
  async nextStartAfter(qualified: string): Promise<Date | null> {
    const [row] = await this.#sql<{ next: Date | null }>(
      `SELECT min(start_after) AS next FROM ${this.#schema}.job
        WHERE name = $1 AND state IN ('created', 'retry') AND start_after > now()`,
      [this.#owned(qualified)],
    );
    return row?.next ?? null;
  }

  /** Fails this holder's unsettled jobs back to the queue (a failed attempt). */
  async failBack(qualified: string, ids: readonly string[], error: object): Promise<number> {
    const holder = this.#work.holder;
    if (holder === null) return 0;
    const { result } = await this.#work.leases.releasingForFailBack(this.#owned(qualified), holder, ids, async (db, split) => {
      if (split.held.length === 0) return 0;
      const response = (await this.#boss.fail(qualified, split.held, error, { db })) as SettleResponse;
      return response.affected ?? 0;
    });
    return result;
  }

  /** Puts this holder's unsettled jobs back without using a retry: the gateway is stopping, not the worker. */
  async putBack(qualified: string, ids: readonly string[]): Promise<number> {
    const holder = this.#work.holder;
    if (holder === null) return 0;
    return this.#work.leases.putBackHeld(this.#owned(qualified), holder, ids, async (db, queue, attempts) => {
      await this.#boss.fail(queue, attempts, { message: 'the gateway stopped before the job was settled' }, { db });
    });
  }

  // ---- schedules ----

  async schedule(queue: string, cron: string, data: unknown, options: JobSendOptions & { tz?: string | undefined; key?: string | undefined } = {}): Promise<ScheduleRecord> {
    const qualified = this.names.qualify(queue);
    const { tz, key, ...sendInput } = options;
    const payload = data === undefined || data === null ? undefined : assertJobPayload(data, this.#limits.maxJobDataBytes);
    assertScheduleKey(key);
    // Validates the expression and time zone without touching the database.
    previewSchedule(this.#boss, cron, { tz, count: 1 });
    const sendOptions: ScheduleOptions = toBossSendOptions(this.names, sendInput);
    if (tz !== undefined) sendOptions.tz = tz;
    if (key !== undefined) sendOptions.key = key;
    await this.#prepareDeadLetter(sendOptions);
    await this.#withQueue(qualified, () =>
      oneCreateAtATime(this.#capKey, async () => {
        await admitSchedule(this.#work.db, this.#schema, this.names.prefix, qualified, key ?? '', this.#limits.tenantMaxSchedules);
        await this.#boss.schedule(qualified, cron, payload, sendOptions);
      }),
    );
    const stored = await this.#boss.getSchedule(qualified, key);
    return this.#toSchedule(stored!);
  }

  async unschedule(queue: string, key?: string): Promise<boolean> {
    const qualified = this.names.qualify(queue);
    assertScheduleKey(key);
    const existing = await this.#boss.getSchedule(qualified, key);
    if (!existing) throw notFound(`no schedule${key ? ` "${key}"` : ''} on queue "${queue}"`);
    await this.#boss.unschedule(qualified, key);
    return true;
  }

  async listSchedules(queue?: string): Promise<ScheduleRecord[]> {
    if (queue !== undefined) {
      return (await this.#boss.getSchedules(this.names.qualify(queue))).flatMap((s) => this.#toScheduleOrSkip(s));
    }
    const rows = await this.#sql<{ name: string }>(
      `SELECT DISTINCT name FROM ${this.#schema}.schedule WHERE starts_with(name, $1) ORDER BY name`,
      [this.names.prefix],
    );
    const perQueue = await Promise.all(rows.map((row) => this.#boss.getSchedules(row.name)));
    return perQueue.flat().flatMap((s) => this.#toScheduleOrSkip(s));
  }

  #toScheduleOrSkip(schedule: Schedule): ScheduleRecord[] {
    return this.names.owns(schedule.name) ? [this.#toSchedule(schedule)] : [];
  }

  #toSchedule(schedule: Schedule): ScheduleRecord {
    const { tz: _tz, key: _key, ...options } = schedule.options ?? {};
    return {
      queue: this.names.unqualify(schedule.name)!,
      key: schedule.key,
      cron: schedule.cron,
      timezone: schedule.timezone,
      data: schedule.data ?? null,
      options: fromBossSendOptions(this.names, options),
      createdOn: schedule.createdOn,
      updatedOn: schedule.updatedOn,
      lastJobId: schedule.lastJobId,
    };
  }
}
