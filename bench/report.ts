import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import type { BenchOptions, ScenarioResult } from './context.ts';
import { describePostgres } from './database.ts';
import { placement } from './gateway-process.ts';
import { PEER_IDS, type PeerSet } from './peers/peer.ts';

export const RESULTS_DIR = path.resolve(import.meta.dirname, 'results');

export interface Environment {
  node: string;
  postgres: Record<string, string>;
  pgBoss: string;
  cpu: string;
  cpus: number;
  memoryGiB: number;
  os: string;
  commit: string;
  /** 1, 5 and 15 minute load averages when the run began: other work on the machine skews every figure. */
  loadAverage: number[];
  /** The peer queues measured beside, and why any was not. */
  peers: string[];
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim();
    return dirty ? `${head}+changes` : head;
  } catch {
    return 'unknown';
  }
}

export async function describeEnvironment(pool: pg.Pool, peers: PeerSet): Promise<Environment> {
  const pgBoss = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../node_modules/pg-boss/package.json'), 'utf8')) as { version: string };
  const cpus = os.cpus();
  return {
    node: process.version,
    postgres: await describePostgres(pool),
    pgBoss: pgBoss.version,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cpus: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    commit: gitCommit(),
    loadAverage: os.loadavg().map((load) => Number(load.toFixed(2))),
    peers: [...peers.available.map((peer) => peer.description), ...[...peers.missing].map(([id, reason]) => `${id}: ${reason}`)],
  };
}

const format = (value: number | null, unit = ''): string => {
  if (value === null || Number.isNaN(value)) return '–';
  const text = Math.abs(value) >= 1000 ? Math.round(value).toLocaleString('en') : String(value);
  return unit ? `${text} ${unit}` : text;
};

/** The results table, in Markdown (it reads well in a terminal too). */
export function renderTable(results: readonly ScenarioResult[]): string {
  const withPeers = results.some((result) => result.metrics.some((m) => m.peers));
  const rows = [['scenario', 'metric', 'raw pg-boss', 'gateway', 'gateway ÷ raw', ...(withPeers ? PEER_IDS : []), 'target', 'met']];
  for (const result of results) {
    result.metrics.forEach((m, index) => {
      const peerCells = withPeers ? PEER_IDS.map((id) => (m.peers ? format(m.peers[id], m.peers[id] === null ? '' : m.unit) : '')) : [];
      rows.push([
        index === 0 ? result.title : '',
        m.label,
        format(m.raw, m.raw === null ? '' : m.unit),
        format(m.gateway, m.unit),
        m.ratio === null ? '' : `${m.ratio.toFixed(2)}×`,
        ...peerCells,
        m.target,
        m.met === null ? '' : m.met ? 'yes' : 'NO',
      ]);
    });
  }
  const widths = rows[0]!.map((_h, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const line = (row: string[]) => `| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

export function renderEnvironment(env: Environment, options: BenchOptions): string {
  const pgSettings = Object.entries(env.postgres)
    .filter(([name]) => name !== 'server_version')
    .map(([name, value]) => `${name}=${value}`)
    .join(', ');
  return [
    `Node ${env.node} · PostgreSQL ${env.postgres.server_version ?? '?'} (${pgSettings}) · pg-boss ${env.pgBoss}`,
    `${env.cpu} × ${env.cpus} CPUs · ${env.memoryGiB} GiB · ${env.os} · commit ${env.commit} · load average at start ${env.loadAverage.join(' / ')}`,
    `mode: ${options.full ? '--full' : options.quick ? '--quick (a smoke test: sizes too small to compare)' : 'default'}; raw pg-boss schema "${options.rawSchema}"; gateway and PostgreSQL on this machine, clients in the bench process`,
    `gateway settings: the defaults of \`npm start\` (log level info, tenant limits, pools, timeouts); set only ${Object.keys(placement('', '', '', false)).join(', ')}; a scenario that changes one says so in its own line`,
    `peers, beside raw pg-boss: ${env.peers.join('; ') || 'none (no scenario of this run measures them)'}`,
    `bench tenant: the default operation rate; its connection and subscription caps raised to 50,000 (the fan-out and idle scenarios open more than the default 1,000 connections of one tenant)`,
  ].join('\n');
}

export function writeResults(env: Environment, options: BenchOptions, results: readonly ScenarioResult[], extra: Record<string, unknown>): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replaceAll(':', '-').replace(/\..+$/, '');
  const file = path.join(RESULTS_DIR, `bench-${stamp}${options.full ? '-full' : options.quick ? '-quick' : ''}.json`);
  const body = JSON.stringify({ at: new Date().toISOString(), environment: env, options: { ...options, only: [...options.only] }, results, ...extra }, null, 2);
  writeFileSync(file, body);
  writeFileSync(path.join(RESULTS_DIR, 'latest.json'), body);
  return file;
}
