import { setTimeout as sleep } from 'node:timers/promises';
import { Repeater } from '@repeaterjs/repeater';
import type { JobAttempt } from 'pg-boss';
import type { JobEventBus } from '../events/job-event-bus.ts';
import type { RawJobEvent } from '../events/job-event.ts';
import type { Logger } from '../logger.ts';
import type { JobRecord } from '../tenant/job-record.ts';
import { strictestGroupLimits } from './group-limits.ts';
import type { Leases } from './leases.ts';
import type { DispatchPort, DispatchQueues, Handoff } from './port.ts';
import { QueueSlot, type Reservation } from './queue-slot.ts';
import { jobKey, WorkSubscription, type HeldJob, type WorkRequest } from './work-subscription.ts';
import type { WorkerRegistry } from './worker-registry.ts';

export interface DispatcherOptions {
  /** Safety net for missed wake-ups; ready jobs are normally pushed on NOTIFY. */
  pollIntervalMs?: number;
  /** Seconds from a job becoming ready to its push (metrics). */
  onDispatched?: (tenantId: string, seconds: number) => void;
}

/** Bounds the memory of sends whose CREATED event has not arrived (it always does, unless missed). */
const MAX_REMEMBERED_SENDS = 100_000;

/** How long pauseWork waits at most for claims in flight to push their jobs. */
const PAUSE_WAIT_MS = 5_000;
/** Groups a chain of follow-up claims passes over at most (they travel as one fetch parameter). */
const MAX_SKIPPED_GROUPS = 100;

/** The hold ends whenever these arrive. */
const ENDING_TYPES = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'DELETED']);
/**
 * The job is back in the queue, but only when this comes after the hold's own
 * ACTIVE: a claim woken by a send through this instance can take a job before
 * the notification of its creation (or of its last failure) has arrived.
 */
const REQUEUED_TYPES = new Set(['CREATED', 'RETRY']);

/**
 * Pushes ready jobs to `workAssigned` subscriptions on this instance. Woken by
 * the job trigger's NOTIFY (new and retried jobs), by settlements, and by a
 * timer for the next deferred job; a slow poll covers missed notifications.
 * Never more than a subscription's concurrency in hand; a subscription that
 * ends fails its unsettled jobs back at once, so other workers get them.
 */
export class Dispatcher implements DispatchPort {
  readonly #slots = new Map<string, QueueSlot>();
  readonly #heldBy = new Map<string, WorkSubscription>();
  readonly #leases: Leases;
  readonly #registry: WorkerRegistry;
  readonly #instanceId: string;
  readonly #workers = new Set<WorkSubscription>();
  readonly #logger: Logger;
  readonly #unsubscribe: (() => void)[] = [];
  readonly #pollIntervalMs: number;
  readonly #onDispatched: DispatcherOptions['onDispatched'];
  readonly #retiring = new Set<Promise<void>>();
  /** Jobs sent through this instance whose queue was woken at once (their CREATED event need not wake it). */
  readonly #wokenBySend = new Set<string>();
  /** Queues that gained room, pumped together on the next turn. */
  readonly #freed = new Set<string>();
  #freedPumpScheduled = false;
  #pollTimer: NodeJS.Timeout | undefined;
  /** The gateway is stopping: nothing new is pushed. */
  #draining = false;
  #polling = false;
  #refreshTimer: NodeJS.Timeout | undefined;

  constructor(bus: JobEventBus, leases: Leases, registry: WorkerRegistry, instanceId: string, logger: Logger, options: DispatcherOptions = {}) {
    this.#leases = leases;
    this.#registry = registry;
    this.#instanceId = instanceId;
    this.#logger = logger.child({ component: 'dispatcher' });
    this.#pollIntervalMs = options.pollIntervalMs ?? 5_000;
    this.#onDispatched = options.onDispatched;
    // #onEvent can act only on a queue with workers here, or on a hold.
    this.#unsubscribe.push(
      bus.subscribeAll(
        (event) => this.#onEvent(event),
        (name) => this.#slots.has(name) || this.#heldBy.size > 0,
      ),
    );
    this.#unsubscribe.push(bus.onResync(() => void this.resync()));
  }

  start(): void {
    this.#pollTimer = setInterval(() => void this.#poll(), this.#pollIntervalMs).unref();
    this.#refreshTimer = setInterval(() => {
      this.#registry
        .refresh([...this.#workers].map((worker) => worker.id))
        .catch((error: unknown) => this.#logger.warn({ err: error }, 'worker registry refresh failed'));
    }, 30_000).unref();
  }

  /**
   * The first step of a stop: nothing new is pushed from now on, to any
   * subscription, old or new; what workers hold they may still settle.
   */
  drain(): void {
    this.#draining = true;
    for (const worker of this.#workers) worker.paused = true;
  }

  /** Resolves once no job is held here (every push settled), or after `timeoutMs`. */
  async heldSettled(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#heldBy.size > 0 && Date.now() < deadline) await sleep(Math.min(50, deadline - Date.now()));
  }

  /**
   * After the drain: what is still held goes back to the queue without using
   * a retry (the gateway stops, the workers did nothing wrong), and is
   * forgotten here, so the sockets' close fails nothing back.
   */
  async putBackHeld(): Promise<void> {
    for (const worker of this.#workers) {
      const byQueue = this.#forgetAll(worker);
      for (const [queue, jobs] of byQueue) {
        try {
          await worker.queues.putBack(
            queue,
            jobs.map((job) => job.id),
          );
        } catch (error) {
          this.#logger.error({ err: error, queue, jobs: jobs.length }, 'could not put back jobs held at the end of the drain');
        }
      }
    }
  }

  /** Call after the sockets closed: waits until departed workers' jobs are failed back. */
  async stop(): Promise<void> {
    clearInterval(this.#pollTimer);
    clearInterval(this.#refreshTimer);
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    for (const slot of this.#slots.values()) clearTimeout(slot.deferredTimer);
    while (this.#retiring.size) await Promise.all([...this.#retiring]);
  }

  /** A stream of jobs for one worker connection; ending it fails unsettled jobs back. */
  subscribe(request: WorkRequest): AsyncIterable<JobRecord> {
    return this.#stream<JobRecord>(request, (push) => (jobs) => {
      for (const job of jobs) push(job);
    });
  }

  /** The same, but the jobs of one claim arrive together: one message, not one per job. */
  subscribeBatches(request: WorkRequest): AsyncIterable<JobRecord[]> {
    return this.#stream<JobRecord[]>(request, (push) => (jobs) => push(jobs));
  }

  #stream<T>(request: WorkRequest, delivery: (push: (item: T) => void) => (jobs: JobRecord[]) => void): AsyncIterable<T> {
    const { queues, holder, names, concurrency } = request;
    return new Repeater<T>(async (push, stop) => {
      const worker: WorkSubscription = new WorkSubscription(
        request,
        delivery((item) => {
          const pushed = push(item);
          worker.lastPush = pushed.catch(() => {});
          void pushed.catch(stop);
        }),
      );
      worker.paused = this.#draining;
      this.#workers.add(worker);
      await this.#registry
        .register({ id: worker.id, tenantId: queues.tenantId, instanceId: this.#instanceId, holder, queues: names, concurrency })
        .catch((error: unknown) => this.#logger.warn({ err: error }, 'worker registry insert failed'));
      for (const name of names) {
        let slot = this.#slots.get(name);
        if (!slot) this.#slots.set(name, (slot = new QueueSlot(name)));
        slot.subscriptions.push(worker);
      }
      for (const name of names) this.#pump(name, true);
      await stop;
      const retiring = this.#retire(worker);
      this.#retiring.add(retiring);
      await retiring.finally(() => this.#retiring.delete(retiring));
    });
  }

  /**
   * Stops pushing to a connection's subscriptions (a worker shutting down
   * cleanly); returns how many. Claims in flight may still give them jobs:
   * it resolves once those are pushed and handed to the socket, so that its
   * answer reaches the worker after every job it will hold (or after
   * PAUSE_WAIT_MS, should a claim or the socket hang).
   */
  async pause(holder: string): Promise<number> {
    const paused = new Set<WorkSubscription>();
    for (const slot of this.#slots.values()) {
      for (const worker of slot.subscriptions) {
        if (worker.holder === holder && !worker.paused) {
          worker.paused = true;
          paused.add(worker);
        }
      }
    }
    const deadline = Date.now() + PAUSE_WAIT_MS;
    const waited = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    while ([...paused].some((worker) => worker.reserved > 0) && Date.now() < deadline) await waited(2);
    await Promise.race([Promise.all([...paused].map((worker) => worker.lastPush)), waited(Math.max(0, deadline - Date.now()))]);
    // A push taken by the stream is written once its execution is done, a few microtasks on.
    await new Promise((resolve) => setImmediate(resolve));
    return paused.size;
  }

  /**
   * Jobs just sent through this instance: claim them now rather than on their
   * CREATED event, which is then not needed to wake the queue again.
   */
  sent(queue: string, ids: readonly string[]): void {
    if (!this.#slots.has(queue)) return;
    if (this.#wokenBySend.size > MAX_REMEMBERED_SENDS) this.#wokenBySend.clear();
    for (const id of ids) this.#wokenBySend.add(jobKey(queue, id));
    this.#pump(queue, true);
  }

  /**
   * For a send into `queue` while workers here have room: reserves that room
   * for a claim made in the send's own transaction. Undefined when there is
   * no room, or as many claims as allowed are in flight.
   */
  handoff(queue: string): Handoff | undefined {
    const slot = this.#slots.get(queue);
    if (!slot?.acceptsHandoff) return undefined;
    const reservation = slot.reserve();
    if (!reservation) return undefined;
    const createdMeanwhile = new Set<string>();
    slot.handoffs.add(createdMeanwhile);
    return {
      holders: reservation.turns.map((turn) => turn.subscription.holder),
      done: (jobs, sentIds = []) => {
        if (!slot.handoffs.delete(createdMeanwhile)) return;
        reservation.end();
        if (!jobs) {
          if (slot.missedWake || createdMeanwhile.size) this.#pump(queue, createdMeanwhile.size > 0);
          return;
        }
        // The send's CREATED event is no news here, whenever it comes; nor, once the holds are known, is its ACTIVE.
        if (this.#wokenBySend.size > MAX_REMEMBERED_SENDS) this.#wokenBySend.clear();
        for (const id of sentIds) if (!createdMeanwhile.delete(id)) this.#wokenBySend.add(jobKey(queue, id));
        for (const job of jobs) createdMeanwhile.delete(job.id);
        const plan = this.#plan(slot, jobs, reservation, true);
        slot.setModeAfterClaim(jobs.length, reservation.turns.length);
        this.#deliver(slot, plan).catch((error: unknown) => this.#logger.error({ err: error, queue }, 'dispatch failed'));
        // Jobs created meanwhile that this claim did not take were committed after it looked.
        if (slot.mode === 'flowing' || slot.missedWake || createdMeanwhile.size) this.#pump(queue, createdMeanwhile.size > 0);
      },
    };
  }

  /**
   * The attempts at which `holder` holds all of `ids` of `queue`, as far as
   * this instance knows; undefined when any of them is not held by it here.
   */
  heldAttempts(holder: string, queue: string, ids: readonly string[]): JobAttempt[] | undefined {
    const attempts: JobAttempt[] = [];
    for (const id of ids) {
      const key = jobKey(queue, id);
      const worker = this.#heldBy.get(key);
      const held = worker?.holder === holder ? worker.held.get(key) : undefined;
      if (!held) return undefined;
      // The hold itself: `settled` tells it from a later hold of the same job.
      attempts.push(held);
    }
    return attempts;
  }

  /**
   * Settled by its holder through this instance: free the slots now, not on
   * the event. Of the ids in `held` (as `heldAttempts` gave them), only those
   * holds end: a claim may have taken the job again meanwhile.
   */
  settled(queue: string, ids: readonly string[], held: readonly JobAttempt[] = []): void {
    const expected = new Map(held.map((attempt) => [attempt.id, attempt]));
    for (const id of ids) {
      const key = jobKey(queue, id);
      const attempt = expected.get(id);
      if (attempt && this.#heldBy.get(key)?.held.get(key) !== attempt) continue;
      this.#release(key);
    }
  }

  /**
   * Forgets a hold. The worker's queues are pumped on the next turn of the
   * event loop, so that a batch of settlements (or of events) frees all its
   * room before one claim fills it, instead of starting claims of one job.
   */
  #release(key: string): void {
    const worker = this.#heldBy.get(key);
    if (!worker) return;
    this.#heldBy.delete(key);
    if (!worker.held.delete(key)) return;
    for (const name of worker.names) this.#freed.add(name);
    if (this.#freed.size && !this.#freedPumpScheduled) {
      this.#freedPumpScheduled = true;
      setImmediate(() => {
        this.#freedPumpScheduled = false;
        const names = [...this.#freed];
        this.#freed.clear();
        for (const name of names) this.#pump(name);
      });
    }
  }

  /** Runs for every job event of every tenant: returns early when nothing here can be concerned. */
  #onEvent(event: RawJobEvent): void {
    // A job this instance sent and already acted on (woke its queue, or claimed it with the send).
    // (Only queues with workers here remember sends: the slot check spares every other event a key.)
    if (event.type === 'CREATED' && this.#wokenBySend.size > 0 && this.#slots.has(event.name) && this.#wokenBySend.delete(jobKey(event.name, event.jobId)))
      return;
    if (this.#heldBy.size > 0) {
      const key = jobKey(event.name, event.jobId);
      const held = this.#heldBy.get(key)?.held.get(key);
      if (held) {
        if (ENDING_TYPES.has(event.type)) this.#release(key);
        else if (event.type === 'ACTIVE') {
          // Another attempt started: this one is over.
          if (held.retryCount !== event.retryCount) this.#release(key);
          else held.started = true;
        } else if (REQUEUED_TYPES.has(event.type) && held.started) this.#release(key);
      }
    }
    if (event.type !== 'CREATED' && event.type !== 'RETRY' && event.type !== 'READY' && event.type !== 'UPDATED') return;
    const slot = this.#slots.get(event.name);
    if (!slot) return;
    if (event.type === 'CREATED' && slot.handoffs.size > 0) {
      // Probably a send's own job, read before its claim came back: that claim decides.
      for (const createdMeanwhile of slot.handoffs) createdMeanwhile.add(event.jobId);
      return;
    }
    this.#pump(event.name, true);
  }

  /**
   * The safety poll, for news that never came (a deferred job come due, a job
   * written without a notification): one query names the queues with workers
   * here that have a job due, and only those claim, where a claim of every
   * queue cost a fetch each (1,000 waiting workers: 200 fetches a second, idle).
   */
  async #poll(): Promise<void> {
    if (this.#polling || this.#draining || this.#slots.size === 0) return;
    this.#polling = true;
    try {
      for (const name of await this.#leases.queuesWithDueJobs([...this.#slots.keys()])) this.#pump(name, true);
    } catch (error) {
      this.#logger.warn({ err: error }, 'dispatch poll failed');
    } finally {
      this.#polling = false;
    }
  }

  #pumpAll(): void {
    for (const name of this.#slots.keys()) this.#pump(name, true);
  }

  /**
   * After a gap in the job events (the LISTEN connection was lost) or holds
   * taken back behind this instance's back (it was found dead): forgets the
   * holds that ended meanwhile, unseen (settled, expired, taken back, or a
   * claim that PostgreSQL lost in a crash), so that their room is not held
   * forever, then pumps every queue for the jobs whose news was missed.
   */
  async resync(): Promise<void> {
    const known: [string, WorkSubscription, HeldJob][] = [];
    for (const [key, worker] of this.#heldBy) {
      const held = worker.held.get(key);
      if (held?.committed) known.push([key, worker, held]);
    }
    try {
      const live = await this.#leases.liveHolds(
        known.map(([, worker, held]) => ({ queue: held.queue, id: held.id, retryCount: held.retryCount, holder: worker.holder })),
      );
      const alive = new Set(live.map((hold) => jobKey(hold.queue, hold.id)));
      let dropped = 0;
      for (const [key, worker, held] of known) {
        if (alive.has(key) || worker.held.get(key) !== held) continue;
        this.#release(key);
        dropped++;
      }
      if (dropped) this.#logger.info({ dropped }, 'forgot holds that ended while job events were not arriving');
    } catch (error) {
      this.#logger.warn({ err: error }, 'could not re-check holds after a gap in job events');
    }
    this.#pumpAll();
  }

  /**
   * `wake`: jobs may have arrived (a notification, a timer, the poll); a
   * settlement alone does not wake. Claims overlap: one starts whenever room
   * frees up, up to MAX_CLAIMS per queue, each with the room it reserved, so
   * workers do not wait for the claim before theirs. A queue that came back
   * short is probed by one claim at a time.
   */
  #pump(name: string, wake = false): void {
    const slot = this.#slots.get(name);
    if (!slot || this.#draining) return;
    if (wake) slot.setModeFlowing();
    let started = false;
    while (slot.mayClaim) {
      const reservation = slot.reserve();
      if (!reservation) break;
      started = true;
      void this.#claim(slot, reservation)
        .catch((error: unknown) => {
          this.#logger.error({ err: error, queue: name }, 'dispatch failed');
          return false;
        })
        .then((more) => {
          reservation.end();
          if (more || slot.missedWake) this.#pump(name);
        });
    }
    // A claim started just now sees whatever woke us; one already in flight may not.
    if (wake && !started && slot.claims > 0) slot.noteMissedWake();
  }

  /** One claim with the room reserved for it; true when it filled that room (more may be waiting). */
  async #claim(slot: QueueSlot, reservation: Reservation): Promise<boolean> {
    const first = slot.subscriptions[0];
    const capacity = reservation.turns.length;
    const groupLimits = strictestGroupLimits(slot.subscriptions.map((worker) => worker.groupLimits));
    // pg-boss's fetch takes the first `capacity` ready jobs and then keeps of each group only what
    // its limit allows: a claim behind one group's flood comes back short though other groups wait.
    // The claim that follows such a claim passes the groups it got over, and so reaches them.
    const skippedGroups = groupLimits ? (slot.skippedGroups ?? new Set<string>()) : undefined;
    slot.skippedGroups = null;
    const groups = groupLimits && skippedGroups ? { limits: groupLimits, ignore: [...skippedGroups] } : undefined;
    let plan: [WorkSubscription, JobRecord][] = [];
    try {
      if (!first) return false;
      const jobs = await this.#leases
        .claim(
          slot.name,
          (db) => first.queues.claim(slot.name, capacity, db, groups),
          (fetched) => {
            plan = this.#plan(slot, fetched, reservation, false);
            return plan.map(([worker, job]) => ({ id: job.id, retryCount: job.retryCount, holder: worker.holder }));
          },
          // A queue that just came back short is probably empty: probe it with a lone fetch. Otherwise the
          // fetch and the holds share one transaction, so one commit (one WAL flush) covers both.
          { transactional: slot.mode === 'flowing', serialized: groupLimits !== undefined },
        )
        .catch((error: unknown) => {
          this.#forget(slot, plan);
          throw error;
        });
      for (const [worker, job] of plan) {
        const held = worker.held.get(jobKey(slot.name, job.id));
        if (held) held.committed = true;
      }
      slot.setModeAfterClaim(jobs.length, capacity);
      reservation.releaseRoom();
      if (jobs.length === 0) {
        await this.#armDeferredTimer(slot, first.queues);
        return false;
      }
      await this.#deliver(slot, plan);
      if (skippedGroups && jobs.length < capacity) {
        for (const job of jobs) if (job.groupId !== null) skippedGroups.add(job.groupId);
        if (skippedGroups.size <= MAX_SKIPPED_GROUPS) {
          slot.skippedGroups = skippedGroups;
          slot.setModeFlowing();
          return true;
        }
      }
      return jobs.length === capacity;
    } finally {
      reservation.releaseRoom();
    }
  }

  /**
   * Gives the n-th fetched job to the n-th turn and records the holds in
   * memory; `started`: the claim has committed (its ACTIVE event is no news).
   */
  #plan(slot: QueueSlot, jobs: readonly JobRecord[], reservation: Reservation, started: boolean): [WorkSubscription, JobRecord][] {
    const plan = slot.assign(jobs, reservation.turns);
    for (const [worker, job] of plan) {
      const key = jobKey(slot.name, job.id);
      // The job came back (its end went unseen) and went to another worker: the old hold is over.
      if (this.#heldBy.get(key) !== worker) this.#release(key);
      worker.held.set(key, { queue: slot.name, id: job.id, retryCount: job.retryCount, started, committed: started });
      this.#heldBy.set(key, worker);
    }
    return plan;
  }

  /** Undoes the in-memory holds of a claim that failed. */
  #forget(slot: QueueSlot, plan: readonly [WorkSubscription, JobRecord][]): void {
    for (const [worker, job] of plan) {
      const key = jobKey(slot.name, job.id);
      if (this.#heldBy.get(key) === worker) this.#heldBy.delete(key);
      worker.held.delete(key);
    }
  }

  /** Pushes claimed jobs to their workers; jobs of workers that left meanwhile go straight back. */
  async #deliver(slot: QueueSlot, plan: readonly [WorkSubscription, JobRecord][]): Promise<void> {
    const byWorker = new Map<WorkSubscription, JobRecord[]>();
    const orphaned = new Set<WorkSubscription>();
    const now = Date.now();
    for (const [worker, job] of plan) {
      if (!slot.subscriptions.includes(worker)) {
        orphaned.add(worker);
        continue;
      }
      if (this.#heldBy.get(jobKey(slot.name, job.id)) !== worker) continue;
      let jobs = byWorker.get(worker);
      if (!jobs) byWorker.set(worker, (jobs = []));
      jobs.push(job);
      const readyAt = Math.max(job.createdOn.getTime(), job.startAfter.getTime());
      this.#onDispatched?.(worker.queues.tenantId, Math.max(0, now - readyAt) / 1000);
    }
    for (const [worker, jobs] of byWorker) worker.deliver(jobs);
    for (const worker of orphaned) await this.#failBack(worker);
  }

  async #armDeferredTimer(slot: QueueSlot, queues: DispatchQueues): Promise<void> {
    const next = await queues.nextStartAfter(slot.name);
    clearTimeout(slot.deferredTimer);
    if (!next) return;
    const delay = Math.max(0, next.getTime() - Date.now()) + 5;
    if (delay > this.#pollIntervalMs) return;
    slot.deferredTimer = setTimeout(() => this.#pump(slot.name, true), delay).unref();
  }

  async #retire(worker: WorkSubscription): Promise<void> {
    this.#workers.delete(worker);
    for (const name of worker.names) {
      const slot = this.#slots.get(name);
      if (!slot) continue;
      slot.subscriptions.splice(slot.subscriptions.indexOf(worker), 1);
      if (slot.subscriptions.length === 0) {
        clearTimeout(slot.deferredTimer);
        this.#slots.delete(name);
      }
    }
    await this.#failBack(worker);
    await this.#registry.unregister(worker.id).catch((error: unknown) => this.#logger.warn({ err: error }, 'worker registry delete failed'));
  }

  /** Forgets every hold of `worker`; returns them by queue. */
  #forgetAll(worker: WorkSubscription): Map<string, HeldJob[]> {
    const byQueue = new Map<string, HeldJob[]>();
    for (const [key, job] of worker.held) {
      if (this.#heldBy.get(key) === worker) this.#heldBy.delete(key);
      byQueue.set(job.queue, [...(byQueue.get(job.queue) ?? []), job]);
    }
    worker.held.clear();
    return byQueue;
  }

  /** Fails a departed worker's unsettled jobs (a failed attempt: retry limits apply). */
  async #failBack(worker: WorkSubscription): Promise<void> {
    const byQueue = this.#forgetAll(worker);
    for (const [queue, jobs] of byQueue) {
      try {
        await worker.queues.failBack(
          queue,
          jobs.map((job) => job.id),
          { message: 'worker disconnected before settling the job' },
        );
      } catch (error) {
        this.#logger.error({ err: error, queue, jobs: jobs.length }, 'could not fail back jobs of a departed worker');
      }
    }
  }
}
