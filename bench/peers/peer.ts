/** Another job queue measured beside raw pg-boss and the gateway, in the bench process. */
export const PEER_IDS = ['graphile-worker', 'bullmq'] as const;
export type PeerId = (typeof PEER_IDS)[number];

/** A figure per peer; null where the peer was not measured (not reachable, or it failed). */
export type PeerFigures = Record<PeerId, number | null>;

export type JobPayload = Record<string, unknown>;

export interface Peer {
  readonly id: PeerId;
  /** What was measured, e.g. "graphile-worker 0.18.0 (bench database)". */
  readonly description: string;
  addBatch(queue: string, payloads: readonly JobPayload[]): Promise<void>;
  add(queue: string, payload: JobPayload): Promise<void>;
  /** Starts `workers` workers of `concurrency` slots running `handler` on the queue's jobs; resolves with their stop. */
  work(queue: string, workers: number, concurrency: number, handler: () => void): Promise<() => Promise<void>>;
  /** Jobs of the queue not completed yet (waiting or running). */
  pending(queue: string): Promise<number>;
  /** Removes whatever the queue left behind. */
  clear(queue: string): Promise<void>;
  stop(): Promise<void>;
}

/** The peers of one run: those that started, and why the others did not. */
export interface PeerSet {
  available: readonly Peer[];
  missing: ReadonlyMap<PeerId, string>;
  stop(): Promise<void>;
}

/** For a run of scenarios that measure no peer. */
export const NO_PEERS: PeerSet = { available: [], missing: new Map(), stop: async () => {} };

export const NO_PEER_FIGURES: PeerFigures = { 'graphile-worker': null, bullmq: null };

/** Figures for each measured peer, null for the others. */
export function peerFigures(values: ReadonlyMap<PeerId, number>): PeerFigures {
  const figures: PeerFigures = { ...NO_PEER_FIGURES };
  for (const [id, value] of values) figures[id] = Number.isFinite(value) ? value : null;
  return figures;
}

/** Notes for the peers that were not measured. */
export function missingPeerNotes(peers: PeerSet): string[] {
  return [...peers.missing].map(([id, reason]) => `${id}: not measured (${reason})`);
}
