import { metric, type Metric } from '../context.ts';
import { cpuPerItem, loadNote } from '../machine.ts';
import { peerFigures, type PeerId } from '../peers/peer.ts';
import { round, summarize, throughput } from '../stats.ts';
import type { SideRun } from './alternate.ts';

/** Throughput (with its target), our CPU per job, and call latencies of both sides; throughput and call latencies of the peers. */
export function throughputMetrics(
  raw: SideRun,
  gateway: SideRun,
  minRatio: number,
  peers: ReadonlyMap<PeerId, SideRun> = new Map(),
  unit = 'jobs/s',
): { metrics: Metric[]; details: Record<string, unknown>; notes: string[] } {
  const rawRate = throughput(raw.items, raw.elapsedMs).perSecond;
  const gwRate = throughput(gateway.items, gateway.elapsedMs).perSecond;
  const rawCalls = summarize(raw.callMs);
  const gwCalls = summarize(gateway.callMs);
  const rawCpu = cpuPerItem(raw.cpu, raw.items);
  const gwCpu = cpuPerItem(gateway.cpu, gateway.items);
  const peerCalls = new Map([...peers].map(([id, run]) => [id, summarize(run.callMs)]));
  const perPeer = (figure: (id: PeerId) => number) =>
    peers.size ? peerFigures(new Map([...peers.keys()].map((id) => [id, round(figure(id), 2)]))) : undefined;
  const peerRates = perPeer((id) => Math.round(throughput(peers.get(id)!.items, peers.get(id)!.elapsedMs).perSecond));
  return {
    metrics: [
      metric('throughput', unit, round(rawRate, 0), round(gwRate, 0), `≥ ${minRatio}× raw`, gwRate >= minRatio * rawRate, peerRates),
      metric('CPU per job (all our processes)', 'µs', round(rawCpu, 0), round(gwCpu, 0), '', null),
      metric(
        'call p50',
        'ms',
        round(rawCalls.p50),
        round(gwCalls.p50),
        '',
        null,
        perPeer((id) => peerCalls.get(id)!.p50),
      ),
      metric(
        'call p99',
        'ms',
        round(rawCalls.p99),
        round(gwCalls.p99),
        '',
        null,
        perPeer((id) => peerCalls.get(id)!.p99),
      ),
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
      peers: Object.fromEntries([...peers].map(([id, run]) => [id, { items: run.items, elapsedMs: run.elapsedMs, callMs: peerCalls.get(id) }])),
    },
    notes: [
      `${loadNote([
        ['raw phases', raw.cpu],
        ['gateway phases', gateway.cpu],
      ])}; gateway process ${round((gateway.cpu.gateway / gateway.items) * 1e6, 0)} µs CPU per job`,
    ],
  };
}
