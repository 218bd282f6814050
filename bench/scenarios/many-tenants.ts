import type { Client } from 'graphql-ws';
import type { BenchContext, ScenarioResult } from '../context.ts';
import { metric } from '../context.ts';
import { deleteJobs } from '../database.ts';
import { DOCS, jobData } from '../documents.ts';
import { addCpu, cpuUse, loadNote, NO_CPU, type CpuUse } from '../machine.ts';
import { signal, type Signal } from '../signal.ts';
import { inParallel, round, sleep, summarize } from '../stats.ts';
import { createTenants, type BenchTenant } from '../tenants.ts';
import { connect, execute, subscribe } from '../ws-client.ts';

const SAMPLE_TIMEOUT_MS = 3_000;
/** A worker's first push waits for its subscription to start, behind a thousand others. */
const WARMUP_TIMEOUT_MS = 20_000;
const WARMUP_SAMPLES = 20;
/** Tenants connecting at once (below the gateway's 1,000 unauthenticated connections). */
const OPEN_PARALLEL = 50;
/** The dispatcher's slow poll of every queue with a waiting worker: the idle window with many tenants spans one. */
const SAFETY_POLL_MS = 5_000;

/** A few ms of jitter between samples, as in dispatch-latency: the worker is idle when its job comes. */
const gap = () => sleep(4 + Math.random() * 4);

/** One tenant's clients: a publisher connection and a plain graphql-ws worker (`workAssigned`, concurrency 1). */
interface TenantClients {
  index: number;
  tenant: BenchTenant;
  publisher: Client;
  worker: Client;
  stop(): void;
}

interface Waiter {
  pushed: Signal;
  settled: Signal;
}

/** Push and settlement of the sample in flight, by tenant; a push nobody waits for is counted. */
class Waiters {
  private readonly byTenant = new Map<number, Waiter>();
  strays = 0;
  errors = 0;

  expect(index: number, timeoutMs: number): Waiter {
    const waiter = { pushed: signal(timeoutMs), settled: signal(timeoutMs) };
    this.byTenant.set(index, waiter);
    return waiter;
  }

  done(index: number): void {
    this.byTenant.delete(index);
  }

  pushed(index: number, at: number): void {
    const waiter = this.byTenant.get(index);
    if (waiter) waiter.pushed.fire(at);
    else this.strays++;
  }

  settled(index: number, at: number): void {
    this.byTenant.get(index)?.settled.fire(at);
  }
}

async function openTenant(ctx: BenchContext, tenant: BenchTenant, index: number, queue: string, waiters: Waiters): Promise<TenantClients> {
  const onError = (error: unknown) => {
    waiters.errors++;
    if (waiters.errors <= 5) ctx.log(`tenant ${index}: ${String(error)}`);
  };
  const [publisher, worker] = await Promise.all([
    connect(ctx.gateway.wsUrl, tenant.token).then(async (client) => {
      await execute(client, DOCS.createQueue, { name: queue });
      return client;
    }),
    connect(ctx.gateway.wsUrl, tenant.token),
  ]);
  const stop = subscribe<{ workAssigned: { id: string } }>(
    worker,
    DOCS.workAssigned,
    { queues: [queue], concurrency: 1 },
    ({ workAssigned: { id } }) => {
      waiters.pushed(index, performance.now());
      execute(worker, DOCS.completeJob, { queue, id }).then(() => waiters.settled(index, performance.now()), onError);
    },
    onError,
  );
  return { index, tenant, publisher, worker, stop };
}

function close(clients: readonly TenantClients[]): void {
  for (const client of clients) {
    client.stop();
    void client.publisher.dispose();
    void client.worker.dispose();
  }
}

interface Phase {
  samples: number[];
  missed: number;
  cpu: CpuUse;
}

/** `count` sends one after the other, each to the next tenant in turn (from `first`): `sendJob` → the worker's push, then its completion. */
async function measure(ctx: BenchContext, clients: readonly TenantClients[], first: number, count: number, queue: string, waiters: Waiters): Promise<Phase> {
  const samples: number[] = [];
  let missed = 0;
  const before = ctx.cpu();
  for (let k = 0; k < count; k++) {
    const client = clients[(first + k) % clients.length]!;
    const waiter = waiters.expect(client.index, SAMPLE_TIMEOUT_MS);
    const began = performance.now();
    const [, at] = await Promise.all([execute(client.publisher, DOCS.sendJob, { queue, data: jobData(k) }), waiter.pushed.wait()]);
    await waiter.settled.wait();
    waiters.done(client.index);
    if (Number.isNaN(at)) missed++;
    else samples.push(at - began);
    await gap();
  }
  return { samples, missed, cpu: cpuUse(before, ctx.cpu()) };
}

/** The gateway's and its backends' CPU while nothing is sent, in cores. */
async function idleCores(ctx: BenchContext, ms: number): Promise<{ gateway: number; postgres: number }> {
  const before = ctx.cpu();
  await sleep(ms);
  const use = cpuUse(before, ctx.cpu());
  return { gateway: use.gateway / use.elapsed, postgres: use.postgres / use.elapsed };
}

/**
 * 1,000 tenants with one worker each on the one gateway, jobs sent to each
 * tenant in turn, against one tenant with one worker in the same run: the
 * single tenant is measured before the thousand connect and after they left,
 * the thousand in between (1 · N · N · 1), so drift weighs on both sides.
 */
export async function manyTenants(ctx: BenchContext): Promise<ScenarioResult> {
  const { options } = ctx;
  const n = options.manyTenants;
  const perPhase = Math.ceil(options.manyTenantSamples / 2);
  const queue = ctx.queueName('tenants');
  const waiters = new Waiters();

  ctx.log(`many tenants: creating ${n + 1} tenants and tokens`);
  const createdAt = performance.now();
  const [solo, ...many] = await createTenants(ctx.databaseUrl, `${queue}-t`, n + 1);
  const createSeconds = (performance.now() - createdAt) / 1000;

  const one = [await openTenant(ctx, solo!, 0, queue, waiters)];
  let crowd: TenantClients[] = [];
  try {
    const idleOne = await idleCores(ctx, options.quick ? 500 : 1_000);
    await measure(ctx, one, 0, WARMUP_SAMPLES, queue, waiters);
    const soloPhases = [await measure(ctx, one, 0, perPhase, queue, waiters)];

    ctx.log(`many tenants: connecting ${n} publishers and ${n} workers`);
    const rssBefore = ctx.gateway.rssKiB();
    const openedAt = performance.now();
    const opened: TenantClients[] = [];
    await inParallel(n, OPEN_PARALLEL, async (i) => {
      opened.push(await openTenant(ctx, many[i]!, i + 1, queue, waiters));
    });
    crowd = opened.sort((a, b) => a.index - b.index);
    const openSeconds = (performance.now() - openedAt) / 1000;
    // One job to every tenant, so that each worker's subscription is known to have started.
    await inParallel(n, 50, async (i) => {
      const client = crowd[i]!;
      const waiter = waiters.expect(client.index, WARMUP_TIMEOUT_MS);
      await execute(client.publisher, DOCS.sendJob, { queue, data: jobData(-1) });
      const [pushedAt] = await Promise.all([waiter.pushed.wait(), waiter.settled.wait()]);
      waiters.done(client.index);
      if (Number.isNaN(pushedAt)) throw new Error(`tenant ${client.index}'s worker got no job in ${WARMUP_TIMEOUT_MS / 1000} s`);
    });
    const warmSeconds = (performance.now() - openedAt) / 1000 - openSeconds;
    const rssAfter = ctx.gateway.rssKiB();
    const idleManyMs = options.quick ? 500 : SAFETY_POLL_MS;
    const idleMany = await idleCores(ctx, idleManyMs);

    ctx.log(`many tenants: ${2 * perPhase} samples over ${n} tenants, ${2 * perPhase} with 1 tenant (1 · N · N · 1)`);
    await measure(ctx, crowd, 0, WARMUP_SAMPLES, queue, waiters);
    const crowdPhases = [await measure(ctx, crowd, WARMUP_SAMPLES, perPhase, queue, waiters)];
    crowdPhases.push(await measure(ctx, crowd, WARMUP_SAMPLES + perPhase, perPhase, queue, waiters));
    close(crowd);
    crowd = [];
    await sleep(1_000); // the departed connections' ends are handled before the last phase
    soloPhases.push(await measure(ctx, one, 0, perPhase, queue, waiters));

    const side = (phases: Phase[]) => ({
      latency: summarize(phases.flatMap((phase) => phase.samples)),
      missed: phases.reduce((sum, phase) => sum + phase.missed, 0),
      cpu: phases.reduce((sum, phase) => addCpu(sum, phase.cpu), NO_CPU),
    });
    const alone = side(soloPhases);
    const crowded = side(crowdPhases);
    const p50Ratio = crowded.latency.p50 / alone.latency.p50;
    const p99Ratio = crowded.latency.p99 / alone.latency.p99;
    const label = n.toLocaleString('en');
    const notes = [
      `${label} tenants ÷ 1 tenant: p50 ${round(p50Ratio)}×, p99 ${round(p99Ratio)}× (${crowded.latency.count} and ${alone.latency.count} samples, one send at a time, 1 · N · N · 1 phases)`,
      `tenants as created (default limits); each has 2 connections and 1 subscription, far below the per-tenant caps (1,000 / 5,000); the bench tenant's raised caps are not used`,
      `${n + 1} tenants and tokens created in ${round(createSeconds, 1)} s (the CLI's functions on one Prisma client, 5 at once); ${2 * n} connections opened in ${round(openSeconds, 1)} s, every worker's first job in ${round(warmSeconds, 1)} s more; gateway RSS +${round((rssAfter - rssBefore) / n, 1)} KiB per tenant`,
      `idle, nothing sent (${label} tenants: over ${idleManyMs / 1000} s${idleManyMs >= SAFETY_POLL_MS ? ', a whole safety-poll period' : ''}): gateway ${round(idleOne.gateway, 3)} cores with 1 tenant, ${round(idleMany.gateway, 3)} with ${label}; its PostgreSQL backends ${round(idleOne.postgres, 3)} / ${round(idleMany.postgres, 3)}`,
      loadNote([
        ['1 tenant', alone.cpu],
        [`${label} tenants`, crowded.cpu],
      ]),
    ];
    if (alone.missed || crowded.missed)
      notes.push(`samples that took over ${SAMPLE_TIMEOUT_MS} ms (left out): 1 tenant ${alone.missed}, ${label} tenants ${crowded.missed}`);
    if (waiters.strays || waiters.errors) notes.push(`pushes nobody waited for: ${waiters.strays}; worker errors: ${waiters.errors}`);
    const clean = alone.missed === 0 && crowded.missed === 0 && waiters.errors === 0 && waiters.strays === 0;
    return {
      id: 'many-tenants',
      title: `many tenants (${label} tenants × 1 worker on one gateway, against 1 tenant)`,
      metrics: [
        metric('dispatch p50, 1 tenant', 'ms', null, round(alone.latency.p50), '', null),
        metric(`dispatch p50, ${label} tenants`, 'ms', null, round(crowded.latency.p50), '', null),
        metric('dispatch p99, 1 tenant', 'ms', null, round(alone.latency.p99), '', null),
        metric(`dispatch p99, ${label} tenants`, 'ms', null, round(crowded.latency.p99), '', null),
        metric(`p99, ${label} tenants ÷ 1 tenant`, '×', null, round(p99Ratio), '≤ 1× (no worse than 1 tenant)', p99Ratio <= 1 && clean),
      ],
      details: {
        tenants: n,
        oneTenant: alone,
        manyTenants: crowded,
        p50Ratio,
        p99Ratio,
        createSeconds,
        openSeconds,
        warmSeconds,
        rssBeforeKiB: rssBefore,
        rssAfterKiB: rssAfter,
        idleOne,
        idleMany,
        strays: waiters.strays,
        errors: waiters.errors,
      },
      notes,
    };
  } finally {
    close([...one, ...crowd]);
    await deleteJobs(
      ctx.pool,
      ctx.gatewaySchema,
      [solo!, ...many].map((tenant) => `${tenant.tenantId}/${queue}`),
    );
  }
}
