/**
 * Jobgate benchmarks: each scenario runs raw pg-boss (in this process) and
 * the gateway (spawned as `node src/main.ts`) on the same PostgreSQL, one
 * after the other, and prints both figures and their ratio.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { PgBoss } from 'pg-boss';
import { createTenant } from '../src/auth/tenants.ts';
import { issueToken } from '../src/auth/tokens.ts';
import { createPrisma } from '../src/db/prisma.ts';
import type { BenchContext, ScenarioId, ScenarioResult } from './context.ts';
import { createBenchDatabase, type BenchDatabase } from './database.ts';
import { spawnGateway, type GatewayProcess } from './gateway-process.ts';
import { cpuSnapshot } from './machine.ts';
import { parseOptions, USAGE } from './options.ts';
import { NO_PEERS, type PeerSet } from './peers/peer.ts';
import { startPeers } from './peers/start-peers.ts';
import { renderProfile, summarizeProfile } from './profile-summary.ts';
import { startRawBoss, stopRawBoss } from './raw-boss.ts';
import { describeEnvironment, renderEnvironment, renderTable, RESULTS_DIR, writeResults } from './report.ts';
import { backlog } from './scenarios/backlog.ts';
import { dispatchLatency } from './scenarios/dispatch-latency.ts';
import { enqueueBatch } from './scenarios/enqueue-batch.ts';
import { enqueueSingle } from './scenarios/enqueue-single.ts';
import { eventsFanout } from './scenarios/events-fanout.ts';
import { eventsReplay } from './scenarios/events-replay.ts';
import { fullLoopPerJob } from './scenarios/full-loop-per-job.ts';
import { fullLoop } from './scenarios/full-loop.ts';
import { idleConnections } from './scenarios/idle-connections.ts';
import { manyTenants } from './scenarios/many-tenants.ts';
import { multiInstance } from './scenarios/multi-instance.ts';
import { noisyNeighbour } from './scenarios/noisy-neighbour.ts';
import { sustainedLoop } from './scenarios/sustained-loop.ts';

const RUNNERS: Record<ScenarioId, (ctx: BenchContext) => Promise<ScenarioResult>> = {
  'enqueue-batch': enqueueBatch,
  'enqueue-single': enqueueSingle,
  'dispatch-latency': dispatchLatency,
  'full-loop': fullLoop,
  'full-loop-per-job': fullLoopPerJob,
  'events-fanout': eventsFanout,
  'events-replay': eventsReplay,
  'multi-instance': multiInstance,
  'noisy-neighbour': noisyNeighbour,
  'many-tenants': manyTenants,
  backlog,
  'sustained-loop': sustainedLoop,
  'idle-connections': idleConnections,
};
/** Order of execution: the idle-connection test last, on a gateway of its own. */
const ORDER: ScenarioId[] = [
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
  'sustained-loop',
  'idle-connections',
];

/** The scenarios with graphile-worker and BullMQ columns: the peers start only for a run of one of them. */
const PEER_SCENARIOS: ScenarioId[] = ['enqueue-batch', 'enqueue-single', 'dispatch-latency', 'full-loop-per-job'];

const argv = process.argv.slice(2);
if (argv.includes('--help')) {
  console.log(USAGE);
  process.exit(0);
}
const options = parseOptions(argv);
const startedAt = performance.now();
const log = (message: string) => console.error(`[bench ${((performance.now() - startedAt) / 1000).toFixed(1).padStart(6)}s] ${message}`);
const profileDir = options.profile ? path.join(RESULTS_DIR, 'profiles', new Date().toISOString().replaceAll(':', '-')) : undefined;
if (profileDir) mkdirSync(profileDir, { recursive: true });

let database: BenchDatabase | undefined;
let pool: pg.Pool | undefined;
let raw: PgBoss | undefined;
let peers: PeerSet | undefined;
const gateways = new Set<GatewayProcess>();

async function launch(label: string, migrate: boolean): Promise<GatewayProcess> {
  const gateway = await spawnGateway({ databaseUrl: database!.url, migrate, cpuProfileDir: profileDir, label });
  gateways.add(gateway);
  const stop = gateway.stop;
  gateway.stop = async () => {
    gateways.delete(gateway);
    return stop();
  };
  log(`gateway "${label}" ready (pid ${gateway.pid}, ${gateway.url}, RSS ${gateway.rssKiB()} KiB)`);
  return gateway;
}

async function cleanup(): Promise<void> {
  await Promise.allSettled([...gateways].map((gateway) => gateway.stop()));
  if (raw) await stopRawBoss(raw).catch(() => {});
  await peers?.stop();
  await pool?.end().catch(() => {});
  if (database && !argv.includes('--keep-db')) await database.drop().catch((error: unknown) => log(`could not drop ${database?.name}: ${String(error)}`));
}

// Every loop is bounded; this is the last resort should something hang anyway.
setTimeout(
  () => {
    log('watchdog: the run took too long; stopping');
    void cleanup().finally(() => process.exit(3));
  },
  (options.full ? 45 : 10) * 60_000,
).unref();
process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));

/** The bench tenant's connection and subscription caps (the default is 1,000 connections). */
const BENCH_TENANT_CAPS = 50_000;

async function main(): Promise<number> {
  database = await createBenchDatabase();
  log(`database ${database.name} created`);
  const gateway = await launch('main', true);
  pool = new pg.Pool({ connectionString: database.url, max: 4, application_name: 'bench' });
  // An idle connection ended by the server (the database being dropped) must not crash the run.
  pool.on('error', (error) => log(`bench pool: ${error.message}`));
  const prisma = createPrisma(database.url);
  const tenant = await createTenant(prisma, 'bench');
  // The operation rate stays npm start's default (a fair share, refused past it only while the
  // instance is busy). One tenant's fan-out and idle scenarios open more than the default 1,000
  // connections: its connection and subscription caps are raised, and the header says so.
  await prisma.tenant.update({ where: { id: tenant.id }, data: { maxConnections: BENCH_TENANT_CAPS, maxSubscriptions: BENCH_TENANT_CAPS } });
  const { token } = await issueToken(prisma, { tenantId: tenant.id, scopes: ['PUBLISH', 'READ', 'WORK'] });
  const userTenant = await createTenant(prisma, 'bench-defaults');
  const { token: userToken } = await issueToken(prisma, { tenantId: userTenant.id, scopes: ['PUBLISH', 'READ', 'WORK'] });
  await prisma.$disconnect();
  raw = await startRawBoss(database.url, options.rawSchema);
  peers = PEER_SCENARIOS.some((id) => options.only.has(id)) ? await startPeers(database.url, log) : NO_PEERS;
  const environment = await describeEnvironment(pool, peers);
  const runId = Date.now().toString(36);
  const ctx: BenchContext = {
    options,
    databaseUrl: database.url,
    pool,
    gateway,
    spawnGateway: (label) => launch(label, false),
    token,
    tenantId: tenant.id,
    defaultTenant: { token: userToken, tenantId: userTenant.id },
    raw,
    peers,
    gatewaySchema: 'pgboss',
    queueName: (base) => `bench-${base}-${runId}`,
    cpu: () =>
      cpuSnapshot(
        database!.name,
        [...gateways].map((g) => g.pid),
      ),
    log,
  };

  const results: ScenarioResult[] = [];
  const failures: { id: ScenarioId; error: string }[] = [];
  for (const id of ORDER.filter((scenario) => options.only.has(scenario))) {
    if (id === 'idle-connections') await gateway.stop(); // its own fresh gateway measures RSS cleanly
    log(`scenario ${id}`);
    try {
      const result = await RUNNERS[id](ctx);
      if (result.metrics.length === 0) throw new Error('the scenario produced no figure');
      results.push(result);
      log(`scenario ${id} done: ${result.metrics.map((m) => `${m.label} ${m.raw ?? '–'} / ${m.gateway}`).join('; ')}`);
    } catch (error) {
      failures.push({ id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      log(`scenario ${id} FAILED: ${String(error)}`);
    }
  }
  await cleanup();

  const profiles = profileDir ? readdirSync(profileDir).filter((file) => file.endsWith('.cpuprofile')) : [];
  const profileSummaries = profiles.map((file) => ({ file: path.join(profileDir!, file), summary: summarizeProfile(path.join(profileDir!, file)) }));
  const file = writeResults(environment, options, results, { failures, profiles: profileSummaries, totalSeconds: (performance.now() - startedAt) / 1000 });

  console.log(`\n${renderEnvironment(environment, options)}\n`);
  console.log(renderTable(results));
  for (const result of results) for (const note of result.notes) console.log(`* ${result.id}: ${note}`);
  for (const failure of failures) console.log(`* ${failure.id} FAILED: ${failure.error.split('\n')[0]}`);
  for (const { file: profileFile, summary } of profileSummaries) console.log(`\n${profileFile}\n${renderProfile(summary)}`);
  console.log(`\nresults: ${path.relative(process.cwd(), file)} (${((performance.now() - startedAt) / 1000).toFixed(0)} s in all)`);
  return failures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    void cleanup().finally(() => process.exit(1));
  },
);
