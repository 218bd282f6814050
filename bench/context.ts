import type pg from 'pg';
import type { PgBoss } from 'pg-boss';
import type { GatewayProcess } from './gateway-process.ts';
import type { CpuSnapshot } from './machine.ts';
import type { PeerFigures, PeerSet } from './peers/peer.ts';

export const SCENARIOS = [
  'enqueue-batch',
  'enqueue-single',
  'dispatch-latency',
  'full-loop',
  'full-loop-per-job',
  'events-fanout',
  'events-replay',
  'multi-instance',
  'noisy-neighbour',
  'many-tenants',
  'backlog',
  'idle-connections',
  'sustained-loop',
] as const;
export type ScenarioId = (typeof SCENARIOS)[number];

export interface BenchOptions {
  full: boolean;
  /** Tiny sizes: every path runs, the figures mean little. */
  quick: boolean;
  /** Scenarios to run (default: all of the mode). */
  only: ReadonlySet<ScenarioId>;
  /** CPU-profile the spawned gateway (`node --cpu-prof`) and summarise it. */
  profile: boolean;
  /** pg-boss schema of the raw side (its own by default, so the gateway's trigger is not on its table). */
  rawSchema: string;
  /** Measured seconds per side in the enqueue scenarios, split into `rounds` alternating slices. */
  enqueueSeconds: number;
  rounds: number;
  warmupSeconds: number;
  /** Concurrent `insert` / `sendJobs` calls in the batch scenario, on both sides. */
  batchInFlight: number;
  latencySamples: number;
  loopJobs: number;
  loopRuns: number;
  /** Jobs and runs of the loop that completes each job on its own. */
  perJobLoopJobs: number;
  perJobLoopRuns: number;
  fanoutSubscribers: number;
  fanoutEvents: number;
  /** Logged events a resuming subscriber is behind. */
  replayEvents: number;
  /** Jobs (so events) tenant A floods its queue with in the noisy-neighbour scenario. */
  noisyFloodEvents: number;
  /** Seconds tenant B runs alone, before and after A's flood. */
  noisyIdleSeconds: number;
  idleConnections: number;
  /** Tenants of the many-tenants scenario, one worker each, and its samples per side. */
  manyTenants: number;
  manyTenantSamples: number;
  /** Jobs queued in one queue per side in the backlog scenario. */
  backlogJobs: number;
  sustainedSeconds: number;
}

export interface BenchContext {
  options: BenchOptions;
  databaseUrl: string;
  /** The bench's own connections to the bench database (counts, cleanup). */
  pool: pg.Pool;
  gateway: GatewayProcess;
  /** Starts one more gateway on the same database (no migrations). */
  spawnGateway(label: string): Promise<GatewayProcess>;
  token: string;
  tenantId: string;
  /** A second tenant left with the gateway's default limits, as a user's tenant is. */
  defaultTenant: { token: string; tenantId: string };
  /** pg-boss in this process: the raw side. */
  raw: PgBoss;
  /** Other job queues measured beside both sides, their workers in this process too. */
  peers: PeerSet;
  /** The gateway's pg-boss schema. */
  gatewaySchema: string;
  /** A queue name unique to this run, for both sides. */
  queueName(base: string): string;
  /** CPU seconds so far: machine, this process, the gateways, the bench database's backends. */
  cpu(): CpuSnapshot;
  log(message: string): void;
}

/** One line of the results table. */
export interface Metric {
  label: string;
  unit: string;
  raw: number | null;
  gateway: number;
  /** gateway ÷ raw, when there is a raw figure. */
  ratio: number | null;
  target: string;
  met: boolean | null;
  /** The same figure for the peers, where the scenario measures them. */
  peers?: PeerFigures;
}

export interface ScenarioResult {
  id: ScenarioId;
  title: string;
  metrics: Metric[];
  /** Everything measured, for the JSON file. */
  details: Record<string, unknown>;
  notes: string[];
}

export function metric(label: string, unit: string, raw: number | null, gateway: number, target: string, met: boolean | null, peers?: PeerFigures): Metric {
  return { label, unit, raw, gateway, ratio: raw ? gateway / raw : null, target, met, ...(peers ? { peers } : {}) };
}
