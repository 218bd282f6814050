import { readdirSync, readFileSync } from 'node:fs';

/** CPU seconds at one instant: the whole machine, and the processes of this benchmark. */
export interface CpuSnapshot {
  at: number;
  machineBusy: number;
  /** Time the hypervisor gave this machine's CPUs to someone else. */
  machineStolen: number;
  bench: number;
  gateway: number;
  /** Per backend pid: backends come and go (pools close idle connections), so they are compared one by one. */
  postgres: ReadonlyMap<number, number>;
}

/** CPU seconds used over one or more phases, and their wall-clock length. */
export interface CpuUse {
  elapsed: number;
  /** This bench process: the clients, and pg-boss on the raw side. */
  bench: number;
  gateway: number;
  /** PostgreSQL backends connected to the bench database. */
  postgres: number;
  /** Everything else on the machine (other processes, PostgreSQL's shared background work). */
  other: number;
  /** CPU time the hypervisor took away (steal): the machine was slower by this much. */
  stolen: number;
}

export const NO_CPU: CpuUse = { elapsed: 0, bench: 0, gateway: 0, postgres: 0, other: 0, stolen: 0 };

const TICKS = 100;

function processSeconds(pid: number | 'self'): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

/** Busy and stolen CPU seconds of the whole machine (/proc/stat: user … softirq, then steal). */
function machineSeconds(): { busy: number; stolen: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [, ...values] = line.trim().split(/\s+/);
  const ticks = values.map(Number);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  const stolen = ticks[7] ?? 0;
  const total = ticks.slice(0, 8).reduce((sum, value) => sum + value, 0);
  return { busy: (total - idle - stolen) / TICKS, stolen: stolen / TICKS };
}

/** Backends whose process title names the database (`postgres: … <user> <database> …`). */
function postgresSeconds(database: string): Map<number, number> {
  const backends = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(` ${database} `)) backends.set(Number(entry), processSeconds(Number(entry)));
    } catch {
      // the process ended meanwhile
    }
  }
  return backends;
}

export function cpuSnapshot(database: string, gatewayPids: readonly number[]): CpuSnapshot {
  const machine = machineSeconds();
  return {
    at: performance.now(),
    machineBusy: machine.busy,
    machineStolen: machine.stolen,
    bench: processSeconds('self'),
    gateway: gatewayPids.reduce((sum, pid) => sum + processSeconds(pid), 0),
    postgres: postgresSeconds(database),
  };
}

export function cpuUse(before: CpuSnapshot, after: CpuSnapshot): CpuUse {
  const bench = after.bench - before.bench;
  const gateway = Math.max(0, after.gateway - before.gateway);
  // A backend that ended during the phase is missed (a small undercount); one that started counts in full.
  let postgres = 0;
  for (const [pid, seconds] of after.postgres) postgres += Math.max(0, seconds - (before.postgres.get(pid) ?? 0));
  const busy = after.machineBusy - before.machineBusy;
  const stolen = after.machineStolen - before.machineStolen;
  return { elapsed: (after.at - before.at) / 1000, bench, gateway, postgres, other: Math.max(0, busy - bench - gateway - postgres), stolen };
}

export function addCpu(a: CpuUse, b: CpuUse): CpuUse {
  return {
    elapsed: a.elapsed + b.elapsed,
    bench: a.bench + b.bench,
    gateway: a.gateway + b.gateway,
    postgres: a.postgres + b.postgres,
    other: a.other + b.other,
    stolen: a.stolen + b.stolen,
  };
}

/** Our CPU (bench + gateway + PostgreSQL backends) per item, in µs. */
export function cpuPerItem(use: CpuUse, items: number): number {
  return items > 0 ? ((use.bench + use.gateway + use.postgres) / items) * 1e6 : Number.NaN;
}

const cores = (seconds: number, use: CpuUse) => (use.elapsed > 0 ? seconds / use.elapsed : 0).toFixed(2);

/**
 * What else weighed on the machine during the phases of each side: cores kept
 * busy by other processes, and cores the hypervisor took away (steal), when any.
 */
export function loadNote(sides: readonly (readonly [label: string, use: CpuUse])[]): string {
  const each = (pick: (use: CpuUse) => number) => sides.map(([label, use]) => `${cores(pick(use), use)}${label ? ` (${label})` : ''}`).join(' / ');
  const stolen = sides.some(([, use]) => use.elapsed > 0 && use.stolen / use.elapsed >= 0.01);
  return `other processes kept ${each((use) => use.other)} cores busy${stolen ? `; the hypervisor took ${each((use) => use.stolen)} cores` : ''}`;
}
