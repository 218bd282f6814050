/** A wait for a tenant's database share that was refused: its line was full, or it waited too long. */
export class DatabaseShareRefused extends Error {
  readonly reason: 'queue' | 'wait';

  constructor(reason: 'queue' | 'wait', message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Gives the slot back; calling it again does nothing. */
export type ReleaseSlot = () => void;

export interface SlotRequest {
  /**
   * False for work that must never be refused (settlements, subscription
   * events): it waits as long as it takes, ahead of the tenant's other work.
   */
  refusable: boolean;
  /** How many refusable requests of the tenant may wait at once; past that one is refused. */
  maxWaiting: number;
  /** Aborted when no one waits for the answer any more: the request leaves the line. */
  signal?: AbortSignal | undefined;
}

interface Waiter {
  grant(release: ReleaseSlot): void;
}

interface Share {
  active: number;
  /** Unrefusable waiters, served first. */
  urgent: Waiter[];
  waiting: Waiter[];
  /** Urgent waiters served since a refusable one was. */
  urgentStreak: number;
}

/** A tenant counts as active this long after its last operation started. */
const ACTIVE_WINDOW_MS = 1_000;
/** Unrefusable waiters served in a row while refusable ones wait: settlements go first, a send is not starved by them. */
const URGENT_STREAK = 8;

/**
 * Each tenant's share of this instance's database work: at most
 * `concurrency` of its operations run at once while another tenant has
 * database work here (or had in the last second), the others wait in its own
 * line (first come, first served), so a tenant's burst queues behind itself
 * instead of in the pools every tenant draws on. A tenant alone on the
 * instance may go up to `alone` at once: the share protects tenants from each
 * other, it does not cap a tenant on an idle instance. Once another tenant
 * turns up, what it borrowed drains as those operations end.
 */
export class TenantDatabaseShare {
  readonly #concurrency: number;
  readonly #alone: number;
  readonly #maxWaitMs: number;
  readonly #shares = new Map<string, Share>();
  /** When each tenant last started an operation, for tenants active in the last `ACTIVE_WINDOW_MS`. */
  readonly #lastStarted = new Map<string, number>();

  constructor(concurrency: number, maxWaitMs: number, alone = concurrency) {
    this.#concurrency = concurrency;
    this.#alone = Math.max(concurrency, alone);
    this.#maxWaitMs = maxWaitMs;
  }

  /** Whether `tenantId` may run more than its share now: no other tenant has, or just had, database work here. */
  #isAlone(tenantId: string, now: number): boolean {
    for (const other of this.#shares.keys()) if (other !== tenantId) return false;
    for (const [other, at] of this.#lastStarted) {
      if (now - at > ACTIVE_WINDOW_MS) this.#lastStarted.delete(other);
      else if (other !== tenantId) return false;
    }
    return true;
  }

  /** Whether the tenant may take one more slot now. */
  #mayTake(tenantId: string, share: Share, now: number): boolean {
    return share.active < this.#concurrency || (share.active < this.#alone && this.#isAlone(tenantId, now));
  }

  get concurrency(): number {
    return this.#concurrency;
  }

  /** Slots the tenant holds and requests of its waiting. */
  usage(tenantId: string): { active: number; waiting: number } {
    const share = this.#shares.get(tenantId);
    return { active: share?.active ?? 0, waiting: (share?.urgent.length ?? 0) + (share?.waiting.length ?? 0) };
  }

  /** Runs `work` in one of the tenant's slots, released however it ends. */
  async run<T>(tenantId: string, request: SlotRequest, work: () => T | Promise<T>): Promise<T> {
    const release = await this.acquire(tenantId, request);
    try {
      return await work();
    } finally {
      release();
    }
  }

  /** Resolves with a slot; rejects with DatabaseShareRefused, or the signal's reason once it aborts. */
  acquire(tenantId: string, { refusable, maxWaiting, signal }: SlotRequest): Promise<ReleaseSlot> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const now = Date.now();
    this.#lastStarted.delete(tenantId);
    this.#lastStarted.set(tenantId, now);
    let share = this.#shares.get(tenantId);
    if (!share) this.#shares.set(tenantId, (share = { active: 0, urgent: [], waiting: [], urgentStreak: 0 }));
    // What waits goes first: a tenant that may now take more (it is alone again) serves its line before this.
    this.#serveLine(tenantId, share, now);
    if (share.urgent.length === 0 && share.waiting.length === 0 && this.#mayTake(tenantId, share, now)) {
      share.active++;
      return Promise.resolve(this.#releaser(tenantId, share));
    }
    if (refusable && share.waiting.length >= maxWaiting) {
      return Promise.reject(
        new DatabaseShareRefused('queue', `tenant database share: ${maxWaiting} operations already wait for one of its ${this.#concurrency} slots`),
      );
    }
    const line = refusable ? share.waiting : share.urgent;
    const waitingShare = share;
    return new Promise<ReleaseSlot>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const leave = (reason: unknown) => {
        settle();
        line.splice(line.indexOf(waiter), 1);
        reject(reason);
      };
      const onAbort = () => leave(signal?.reason);
      const waiter: Waiter = {
        grant: (release) => {
          settle();
          resolve(release);
        },
      };
      if (refusable) {
        timer = setTimeout(
          () => leave(new DatabaseShareRefused('wait', `tenant database share: no slot of its ${this.#concurrency} came free within ${this.#maxWaitMs} ms`)),
          this.#maxWaitMs,
        );
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      line.push(waiter);
    }).finally(() => this.#forgetIdle(tenantId, waitingShare));
  }

  #releaser(tenantId: string, share: Share): ReleaseSlot {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The slot passes straight to the next in line, nothing can overtake it; unless the tenant holds
      // more than its share while another tenant is about, then it goes back.
      const keep = share.active <= this.#concurrency || this.#mayTake(tenantId, { ...share, active: share.active - 1 }, Date.now());
      const next = keep ? this.#nextInLine(share) : undefined;
      if (next) {
        next.grant(this.#releaser(tenantId, share));
        this.#serveLine(tenantId, share, Date.now());
        return;
      }
      share.active--;
      this.#forgetIdle(tenantId, share);
    };
  }

  /** Unrefusable waiters first, but never more than URGENT_STREAK of them in a row while a refusable one waits. */
  #nextInLine(share: Share): Waiter | undefined {
    if (share.waiting.length > 0 && (share.urgent.length === 0 || share.urgentStreak >= URGENT_STREAK)) {
      share.urgentStreak = 0;
      return share.waiting.shift();
    }
    const next = share.urgent.shift();
    if (next && share.waiting.length > 0) share.urgentStreak++;
    return next;
  }

  /** Grants waiting requests the slots the tenant may take now. */
  #serveLine(tenantId: string, share: Share, now: number): void {
    while ((share.urgent.length > 0 || share.waiting.length > 0) && this.#mayTake(tenantId, share, now)) {
      share.active++;
      this.#nextInLine(share)!.grant(this.#releaser(tenantId, share));
    }
  }

  #forgetIdle(tenantId: string, share: Share): void {
    if (share.active === 0 && share.urgent.length === 0 && share.waiting.length === 0 && this.#shares.get(tenantId) === share) this.#shares.delete(tenantId);
  }
}
