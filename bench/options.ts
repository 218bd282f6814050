import { SCENARIOS, type BenchOptions, type ScenarioId } from './context.ts';

/** The default run stays under two minutes; --full runs longer for steadier figures. */
const DEFAULT_SCENARIOS: readonly ScenarioId[] = SCENARIOS.filter((id) => id !== 'sustained-loop');

export function parseOptions(argv: readonly string[]): BenchOptions {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new Error(`unknown argument "${arg}"`);
    flags.set(match[1]!, match[2] ?? 'true');
  }
  const known = ['full', 'only', 'profile', 'raw-schema', 'keep-db', 'help'];
  for (const flag of flags.keys()) if (!known.includes(flag)) throw new Error(`unknown flag --${flag}`);
  const full = flags.get('full') === 'true';
  const only = flags.get('only')?.split(',').filter(Boolean) ?? (full ? [...SCENARIOS] : [...DEFAULT_SCENARIOS]);
  for (const id of only) if (!(SCENARIOS as readonly string[]).includes(id)) throw new Error(`unknown scenario "${id}" (known: ${SCENARIOS.join(', ')})`);
  return {
    full,
    only: new Set(only as ScenarioId[]),
    profile: flags.get('profile') === 'true',
    rawSchema: flags.get('raw-schema') ?? 'bench_raw',
    enqueueSeconds: full ? 20 : 6,
    rounds: full ? 10 : 6,
    warmupSeconds: 2,
    batchInFlight: 2,
    latencySamples: full ? 3_000 : 400,
    loopJobs: 20_000,
    loopRuns: full ? 5 : 3,
    perJobLoopJobs: full ? 20_000 : 5_000,
    perJobLoopRuns: full ? 3 : 1,
    fanoutSubscribers: 1_000,
    fanoutEvents: full ? 100 : 20,
    idleConnections: 10_000,
    sustainedSeconds: 90,
  };
}

export const USAGE = `npm run bench [-- --full] [--only=${SCENARIOS.join(',')}] [--profile] [--raw-schema=<schema>] [--keep-db]
  --full        longer, steadier runs (several minutes), plus the sustained-loop check
  --only        run only these scenarios
  --profile     CPU-profile the spawned gateway (node --cpu-prof) and print its top self-time functions
  --raw-schema  pg-boss schema of the raw side (default bench_raw; "pgboss" puts it under the gateway's job trigger)
  --keep-db     do not drop the bench database at the end`;
