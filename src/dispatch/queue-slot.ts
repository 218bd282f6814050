import type { JobRecord } from '../tenant/job-record.ts';
import type { WorkSubscription } from './work-subscription.ts';

/** Claims of one queue that may be in flight at once on this instance. */
export const MAX_CLAIMS = 3;

/**
 * - `flowing`: jobs may be waiting; claims overlap, up to `MAX_CLAIMS`.
 * - `probing`: the last claim came back short, so the queue was empty when it looked: one claim
 *   at a time, until something says jobs may have arrived.
 */
export type SlotMode = 'flowing' | 'probing';

/** Position of a claim's n-th job: who gets it, and where the round-robin goes on from. */
export interface Turn {
  subscription: WorkSubscription;
  next: number;
}

/** The room a claim promised itself at the subscriptions of a queue, until it knows what it got. */
export class Reservation {
  /** Who gets the claim's n-th job, for as many jobs as there is room. */
  readonly turns: readonly Turn[];
  #room: Map<WorkSubscription, number> | undefined;
  #end: (() => void) | undefined;

  constructor(room: Map<WorkSubscription, number>, turns: readonly Turn[], end: () => void) {
    this.#room = room;
    this.turns = turns;
    this.#end = end;
    for (const [subscription, free] of room) subscription.reserved += free;
  }

  /** The claim's jobs are held now (or there are none): the promise is no longer needed. */
  releaseRoom(): void {
    if (!this.#room) return;
    for (const [subscription, free] of this.#room) subscription.reserved -= free;
    this.#room = undefined;
  }

  /** The claim is over. */
  end(): void {
    this.releaseRoom();
    this.#end?.();
    this.#end = undefined;
  }
}

/** Dispatch state of one qualified queue on this instance. */
export class QueueSlot {
  readonly name: string;
  readonly subscriptions: WorkSubscription[] = [];
  /**
   * Sends claiming in their own transaction, each with the ids of the jobs whose
   * CREATED arrived meanwhile: news only if that claim did not take them.
   */
  readonly handoffs = new Set<Set<string>>();
  /** Groups the next claim of a group-limited queue passes over (see `Dispatcher#claim`). */
  skippedGroups: Set<string> | null = null;
  deferredTimer: NodeJS.Timeout | undefined;
  /** Round-robin start, so work spreads over the queue's subscriptions. */
  #next = 0;
  #claims = 0;
  #mode: SlotMode = 'flowing';
  #missedWake = false;

  constructor(name: string) {
    this.name = name;
  }

  get mode(): SlotMode {
    return this.#mode;
  }

  /** Claims in flight. */
  get claims(): number {
    return this.#claims;
  }

  /** Jobs may have arrived while no claim could start: claim again when one ends. */
  get missedWake(): boolean {
    return this.#missedWake;
  }

  /** Jobs may have arrived (a notification, a timer, the poll). */
  setModeFlowing(): void {
    this.#mode = 'flowing';
  }

  /** After a claim that fetched `fetched` jobs with room for `capacity`. */
  setModeAfterClaim(fetched: number, capacity: number): void {
    this.#mode = fetched < capacity ? 'probing' : 'flowing';
  }

  /** A wake came while claims were in flight and none could start. */
  noteMissedWake(): void {
    this.#missedWake = true;
  }

  /** Whether the mode and the claims in flight let one more claim start (room aside). */
  get mayClaim(): boolean {
    return this.#claims < MAX_CLAIMS && !(this.#mode === 'probing' && this.#claims > 0);
  }

  /**
   * Reserves all the free room of the queue's subscriptions for one claim, and
   * counts the claim: undefined when there is no room or `MAX_CLAIMS` are in
   * flight. A claim that starts sees whatever woke the queue before it.
   */
  reserve(): Reservation | undefined {
    if (this.#claims >= MAX_CLAIMS) return undefined;
    const room = new Map<WorkSubscription, number>();
    for (const subscription of this.subscriptions) if (subscription.free > 0) room.set(subscription, subscription.free);
    if (room.size === 0) return undefined;
    this.#claims++;
    this.#missedWake = false;
    return new Reservation(room, this.#turns(room), () => this.#claims--);
  }

  /** Who gets a claim's n-th job: round-robin over the subscriptions with room, from where the last claim stopped. */
  #turns(room: ReadonlyMap<WorkSubscription, number>): Turn[] {
    const left = new Map(room);
    const subscriptions = [...room.keys()];
    const turns: Turn[] = [];
    let index = this.#next;
    let capacity = 0;
    for (const free of room.values()) capacity += free;
    while (turns.length < capacity) {
      const subscription = subscriptions[index % subscriptions.length]!;
      index++;
      const free = left.get(subscription)!;
      if (free === 0) continue;
      left.set(subscription, free - 1);
      turns.push({ subscription, next: index });
    }
    return turns;
  }

  /** Gives the n-th fetched job to the n-th turn; the next claim's round-robin starts after the last one used. */
  assign(jobs: readonly JobRecord[], turns: readonly Turn[]): [WorkSubscription, JobRecord][] {
    const plan: [WorkSubscription, JobRecord][] = jobs.slice(0, turns.length).map((job, n) => [turns[n]!.subscription, job]);
    if (plan.length) this.#next = turns[plan.length - 1]!.next % Math.max(1, this.subscriptions.length);
    return plan;
  }

  /** Whether a send's own claim may fill this queue's room: not when its claims are group-limited (they take a lock). */
  get acceptsHandoff(): boolean {
    return !this.subscriptions.some((subscription) => subscription.groupLimits !== undefined);
  }
}
