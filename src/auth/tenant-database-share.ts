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
}

/**
 * Each tenant's share of this instance's database work: at most
 * `concurrency` of its operations run at once, the others wait in its own
 * line (first come, first served), so a tenant's burst queues behind itself
 * instead of in the pools every tenant draws on.
 */
export class TenantDatabaseShare {
  readonly #concurrency: number;
  readonly #maxWaitMs: number;
  readonly #shares = new Map<string, Share>();

  constructor(concurrency: number, maxWaitMs: number) {
    this.#concurrency = concurrency;
    this.#maxWaitMs = maxWaitMs;
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
    let share = this.#shares.get(tenantId);
    if (!share) this.#shares.set(tenantId, (share = { active: 0, urgent: [], waiting: [] }));
    if (share.active < this.#concurrency) {
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
      // The slot passes straight to the next in line: nothing can overtake it.
      const next = share.urgent.shift() ?? share.waiting.shift();
      if (next) {
        next.grant(this.#releaser(tenantId, share));
        return;
      }
      share.active--;
      this.#forgetIdle(tenantId, share);
    };
  }

  #forgetIdle(tenantId: string, share: Share): void {
    if (share.active === 0 && share.urgent.length === 0 && share.waiting.length === 0 && this.#shares.get(tenantId) === share) this.#shares.delete(tenantId);
  }
}
