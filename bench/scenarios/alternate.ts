import type { BenchContext } from '../context.ts';
import { addCpu, cpuUse, NO_CPU, type CpuUse } from '../machine.ts';
import { runFor } from '../stats.ts';

export interface SideRun {
  items: number;
  elapsedMs: number;
  callMs: number[];
  cpu: CpuUse;
}

export type Call = (lane: number) => Promise<number>;

const empty = (): SideRun => ({ items: 0, elapsedMs: 0, callMs: [], cpu: NO_CPU });

/**
 * Runs the raw and the gateway side in alternating slices (raw first in even
 * rounds, gateway first in odd ones) so that whatever else the machine does
 * meanwhile weighs on both alike. Each side gets `enqueueSeconds` in all,
 * after `warmupSeconds` of warm-up.
 */
export async function alternate(ctx: BenchContext, lanes: number, raw: Call, gateway: Call): Promise<{ raw: SideRun; gateway: SideRun }> {
  const { enqueueSeconds, warmupSeconds, rounds } = ctx.options;
  await runFor(warmupSeconds * 1000, lanes, raw);
  await runFor(warmupSeconds * 1000, lanes, gateway);
  const sides = { raw: empty(), gateway: empty() };
  const slice = (enqueueSeconds * 1000) / rounds;
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (['raw', 'gateway'] as const) : (['gateway', 'raw'] as const);
    for (const side of order) {
      const before = ctx.cpu();
      const run = await runFor(slice, lanes, side === 'raw' ? raw : gateway);
      const total = sides[side];
      total.items += run.items;
      total.elapsedMs += run.elapsedMs;
      total.callMs.push(...run.callMs);
      total.cpu = addCpu(total.cpu, cpuUse(before, ctx.cpu()));
    }
  }
  return sides;
}
