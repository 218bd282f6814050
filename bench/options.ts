import { SCENARIOS, type BenchOptions, type ScenarioId } from './context.ts';

/** The default run takes about four minutes; --full runs longer for steadier figures; --quick checks that every scenario runs. */
const DEFAULT_SCENARIOS: readonly ScenarioId[] = SCENARIOS.filter((id) => id !== 'sustained-loop');

export function parseOptions(argv: readonly string[]): BenchOptions {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new Error(`unknown argument "${arg}"`);
    flags.set(match[1]!, match[2] ?? 'true');
  }
  const known = ['full', 'quick', 'only', 'profile', 'raw-schema', 'keep-db', 'help'];
  for (const flag of flags.keys()) if (!known.includes(flag)) throw new Error(`unknown flag --${flag}`);
  const full = flags.get('full') === 'true';
  const quick = flags.get('quick') === 'true';
  if (full && quick) throw new Error('--full and --quick do not go together');
  // Sizes of a run: --quick's are too small for figures worth comparing, big enough for every path to run.
  const size = <T>(quickSize: T, defaultSize: T, fullSize: T): T => (quick ? quickSize : full ? fullSize : defaultSize);
  const only = flags.get('only')?.split(',').filter(Boolean) ?? (full ? [...SCENARIOS] : [...DEFAULT_SCENARIOS]);
  for (const id of only) if (!(SCENARIOS as readonly string[]).includes(id)) throw new Error(`unknown scenario "${id}" (known: ${SCENARIOS.join(', ')})`);
  return {
    full,
    quick,
    only: new Set(only as ScenarioId[]),
    profile: flags.get('profile') === 'true',
    rawSchema: flags.get('raw-schema') ?? 'bench_raw',
    enqueueSeconds: size(1, 6, 20),
    rounds: size(2, 6, 10),
    warmupSeconds: size(0.5, 2, 2),
    batchInFlight: 2,
    latencySamples: size(40, 400, 3_000),
    loopJobs: size(2_000, 20_000, 20_000),
    loopRuns: size(1, 3, 5),
    perJobLoopJobs: size(500, 5_000, 20_000),
    perJobLoopRuns: size(1, 1, 3),
    fanoutSubscribers: size(100, 1_000, 10_000),
    fanoutEvents: size(5, 20, 100),
    replayEvents: size(2_000, 100_000, 100_000),
    noisyFloodEvents: size(10_000, 100_000, 100_000),
    noisyIdleSeconds: size(1, 3, 5),
    idleConnections: size(500, 10_000, 50_000),
    manyTenants: size(20, 1_000, 1_000),
    manyTenantSamples: size(40, 1_000, 3_000),
    backlogJobs: size(10_000, 200_000, 1_000_000),
    sustainedSeconds: 90,
  };
}

export const USAGE = `npm run bench [-- --full | --quick] [--only=${SCENARIOS.join(',')}] [--profile] [--raw-schema=<schema>] [--keep-db]
  --full        longer, steadier runs (several minutes), plus the sustained-loop check
  --quick       every default scenario at a tiny size: checks that each runs and gives figures (CI), not how fast
  --only        run only these scenarios
  --profile     CPU-profile the spawned gateway (node --cpu-prof) and print its top self-time functions
  --raw-schema  pg-boss schema of the raw side (default bench_raw; "pgboss" puts it under the gateway's job trigger)
  --keep-db     do not drop the bench database at the end`;
