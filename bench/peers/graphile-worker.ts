import { Logger, makeWorkerUtils, run, type Runner } from 'graphile-worker';
import { packageVersion } from './package-version.ts';
import type { JobPayload, Peer } from './peer.ts';

const SCHEMA = 'graphile_worker';

/** Errors only: its info lines (one per completed job) would cost it more than its work. */
const quietLogger = (log: (message: string) => void) =>
  new Logger(() => (level, message) => {
    if (level === 'error') log(`graphile-worker: ${message}`);
  });

/**
 * graphile-worker on the bench database, in its own schema (it migrates
 * itself). A queue of the bench is a task identifier here; every runner keeps
 * its default pool (10 connections) and LISTENs for new jobs.
 */
export async function startGraphileWorkerPeer(databaseUrl: string, log: (message: string) => void): Promise<Peer> {
  const logger = quietLogger(log);
  const utils = await makeWorkerUtils({ connectionString: databaseUrl, schema: SCHEMA, logger });
  await utils.migrate();
  const jobsOf = `FROM "${SCHEMA}"._private_jobs WHERE task_id = (SELECT id FROM "${SCHEMA}"._private_tasks WHERE identifier = $1)`;

  return {
    id: 'graphile-worker',
    description: `graphile-worker ${packageVersion('graphile-worker')} (bench database, schema ${SCHEMA}, in the bench process)`,
    async addBatch(queue, payloads) {
      await utils.addJobs(payloads.map((payload: JobPayload) => ({ identifier: queue, payload })));
    },
    async add(queue, payload) {
      await utils.addJob(queue, payload);
    },
    async work(queue, workers, concurrency, handler) {
      const runners: Runner[] = await Promise.all(
        Array.from({ length: workers }, () =>
          run({
            connectionString: databaseUrl,
            schema: SCHEMA,
            logger,
            concurrency,
            noHandleSignals: true,
            crontab: '',
            taskList: {
              [queue]: () => {
                handler();
              },
            },
          }),
        ),
      );
      return async () => {
        await Promise.all(runners.map((runner) => runner.stop()));
      };
    },
    async pending(queue) {
      const { rows } = await utils.withPgClient((client) => client.query<{ n: number }>(`SELECT count(*)::int AS n ${jobsOf}`, [queue]));
      return rows[0]?.n ?? 0;
    },
    async clear(queue) {
      // As deleteJobs does for pg-boss: the next scenario's job fetches must not wade through this one's dead rows.
      await utils.withPgClient(async (client) => {
        await client.query(`DELETE ${jobsOf}`, [queue]);
        await client.query(`VACUUM ANALYZE "${SCHEMA}"._private_jobs`);
      });
    },
    async stop() {
      await utils.release();
    },
  };
}
