import type { BenchContext } from '../context.ts';
import { addCpu, cpuUse, NO_CPU, type CpuUse } from '../machine.ts';
import type { PeerId } from '../peers/peer.ts';
import { runFor } from '../stats.ts';

export interface SideRun {
  items: number;
  elapsedMs: number;
  callMs: number[];
  cpu: CpuUse;
}

export type Call = (lane: number) => Promise<number>;

const empty = (): SideRun => ({ items: 0, elapsedMs: 0, callMs: [], cpu: NO_CPU });

type Side = 'raw' | 'gateway' | PeerId;

/**
 * Runs the raw and the gateway side, and each peer given, in alternating
 * slices (raw first in even rounds, last in odd ones) so that whatever else
 * the machine does meanwhile weighs on all alike. Each side gets
 * `enqueueSeconds` in all, after `warmupSeconds` of warm-up.
 */
export async function alternate(
  ctx: BenchContext,
  lanes: number,
  raw: Call,
  gateway: Call,
  peers: ReadonlyMap<PeerId, Call> = new Map(),
): Promise<{ raw: SideRun; gateway: SideRun; peers: Map<PeerId, SideRun> }> {
  const { enqueueSeconds, warmupSeconds, rounds } = ctx.options;
  const calls = new Map<Side, Call>([['raw', raw], ['gateway', gateway], ...peers]);
  // --quick keeps its added time small: the peers skip the warm-up there (its figures are not compared anyway).
  for (const [side, call] of calls) if (!ctx.options.quick || side === 'raw' || side === 'gateway') await runFor(warmupSeconds * 1000, lanes, call);
  const totals = new Map<Side, SideRun>([...calls.keys()].map((side) => [side, empty()]));
  const slice = (enqueueSeconds * 1000) / rounds;
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [...calls.keys()] : [...calls.keys()].reverse();
    for (const side of order) {
      const before = ctx.cpu();
      const run = await runFor(slice, lanes, calls.get(side)!);
      const total = totals.get(side)!;
      total.items += run.items;
      total.elapsedMs += run.elapsedMs;
      for (const ms of run.callMs) total.callMs.push(ms); // a spread of 100k+ would overflow the stack
      total.cpu = addCpu(total.cpu, cpuUse(before, ctx.cpu()));
    }
  }
  return {
    raw: totals.get('raw')!,
    gateway: totals.get('gateway')!,
    peers: new Map([...peers.keys()].map((id) => [id, totals.get(id)!])),
  };
}
