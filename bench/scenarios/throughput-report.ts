import { metric, type Metric } from '../context.ts';
import { cpuPerItem, loadNote } from '../machine.ts';
import { round, summarize, throughput } from '../stats.ts';
import type { SideRun } from './alternate.ts';

/** Throughput (with its target), our CPU per job, and call latencies of both sides. */
export function throughputMetrics(
  raw: SideRun,
  gateway: SideRun,
  minRatio: number,
  unit = 'jobs/s',
): { metrics: Metric[]; details: Record<string, unknown>; notes: string[] } {
  const rawRate = throughput(raw.items, raw.elapsedMs).perSecond;
  const gwRate = throughput(gateway.items, gateway.elapsedMs).perSecond;
  const rawCalls = summarize(raw.callMs);
  const gwCalls = summarize(gateway.callMs);
  const rawCpu = cpuPerItem(raw.cpu, raw.items);
  const gwCpu = cpuPerItem(gateway.cpu, gateway.items);
  return {
    metrics: [
      metric('throughput', unit, round(rawRate, 0), round(gwRate, 0), `≥ ${minRatio}× raw`, gwRate >= minRatio * rawRate),
      metric('CPU per job (all our processes)', 'µs', round(rawCpu, 0), round(gwCpu, 0), '', null),
      metric('call p50', 'ms', round(rawCalls.p50), round(gwCalls.p50), '', null),
      metric('call p99', 'ms', round(rawCalls.p99), round(gwCalls.p99), '', null),
    ],
    details: {
      raw: { items: raw.items, elapsedMs: raw.elapsedMs, callMs: rawCalls, cpu: raw.cpu },
      gateway: {
        items: gateway.items,
        elapsedMs: gateway.elapsedMs,
        callMs: gwCalls,
        cpu: gateway.cpu,
        gatewayCpuPerJobUs: (gateway.cpu.gateway / gateway.items) * 1e6,
      },
    },
    notes: [
      `${loadNote([
        ['raw phases', raw.cpu],
        ['gateway phases', gateway.cpu],
      ])}; gateway process ${round((gateway.cpu.gateway / gateway.items) * 1e6, 0)} µs CPU per job`,
    ],
  };
}
