import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { gqlData } from '../support/clients.ts';
import { createTestTenant, startGateway, useTestClient, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { REPO_ROOT, waitUntil } from '../support/processes.ts';

// The Python worker of examples/python, run as a child process against a real gateway: the
// protocol of docs/workers.md spoken by something that is not the Node SDK.

const WORKER = path.join(REPO_ROOT, 'examples/python/worker.py');

/** The first python3 that imports `websockets`, with that package's version. */
function findPython(): { command: string; websockets: string } | null {
  for (const command of [process.env.PYTHON, 'python3', '/usr/bin/python3']) {
    if (!command) continue;
    const probe = spawnSync(command, ['-c', 'import websockets; print(websockets.__version__)'], { encoding: 'utf8', timeout: 15_000 });
    if (probe.status === 0) return { command, websockets: probe.stdout.trim() };
  }
  return null;
}

const python = findPython();

interface Row {
  id: string;
  state: string;
  data: { text: unknown; sleepSeconds?: number };
  output: Record<string, unknown> | null;
  retry_count: number;
  started_on: Date | null;
  heartbeat_on: Date | null;
}

if (!python) {
  const reason = 'needs a python3 with websockets: apt-get install python3-websockets (Debian), or set PYTHON';
  console.warn(`python-worker.test.ts skipped: ${reason}`);
  describe('the Python worker (examples/python)', () => {
    it.skip(reason, () => {});
  });
} else {
  describe(`the Python worker (examples/python, websockets ${python.websockets})`, () => {
    const queue = 'py/upper';
    let gateway: TestGateway;
    let tenant: TestTenant;
    const sql = useTestClient();
    let worker: ChildProcess | undefined;
    let log = '';
    let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

    const rows = async (): Promise<Row[]> =>
      (
        await sql.query<Row>('SELECT id, state, data, output, retry_count, started_on, heartbeat_on FROM pgboss.job WHERE name = $1', [
          `${tenant.tenant.id}/${queue}`,
        ])
      ).rows;

    beforeAll(async () => {
      gateway = await startGateway();
      tenant = await createTestTenant(gateway);
    });

    afterAll(async () => {
      if (worker && worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
      await gateway?.stop();
    });

    it('starts before its queue exists, works each job once, settles outputs and failures, touches, and stops cleanly on SIGTERM', async () => {
      worker = spawn(python.command, [WORKER, '--concurrency', '8', queue], {
        cwd: REPO_ROOT,
        env: { ...process.env, JOBGATE_URL: gateway.wsUrl, JOBGATE_TOKEN: tenant.token, LOG_LEVEL: 'DEBUG' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const child = worker;
      exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
      child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
      child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
      const running = () => child.exitCode === null && child.signalCode === null;

      // No job and no queue yet: workAssignedBatches creates the queue and the worker waits on it.
      await waitUntil(
        'the worker to subscribe',
        async () => {
          if (!running()) throw new Error(`the worker exited early:\n${log}`);
          const { workers, queue: found } = await gqlData<{ workers: { concurrency: number }[]; queue: { name: string } | null }>(
            gateway.graphqlUrl,
            tenant.token,
            'query($queue: String!) { workers(queue: $queue) { concurrency } queue(name: $queue) { name } }',
            { queue },
          );
          return workers.length === 1 && workers[0]!.concurrency === 8 && found?.name === queue;
        },
        20_000,
      );
      expect(await rows()).toEqual([]);

      const jobs = [
        ...Array.from({ length: 50 }, (_, n) => ({ data: { text: `job ${n} ü` } })),
        // Not a string: the handler raises, the worker fails the job (no retry left).
        ...[1, 2].map((n) => ({ data: { text: n }, options: { retryLimit: 0 } })),
        // Longer than half its heartbeat: the worker must touch it once.
        { data: { text: 'slow', sleepSeconds: 6 }, options: { heartbeatSeconds: 10 } },
      ];
      const { sendJobs: ids } = await gqlData<{ sendJobs: string[] }>(
        gateway.graphqlUrl,
        tenant.token,
        'mutation($queue: String!, $jobs: [JobInput!]!) { sendJobs(queue: $queue, jobs: $jobs) }',
        { queue, jobs },
      );
      expect(ids).toHaveLength(53);

      await waitUntil(
        'every job to be settled',
        async () => (await rows()).filter((row) => row.state === 'completed' || row.state === 'failed').length === 53,
        30_000,
        200,
      );
      const settled = await rows();
      for (const row of settled) {
        expect(row.retry_count).toBe(0);
        if (typeof row.data.text === 'string') {
          expect(row).toMatchObject({ state: 'completed', output: { text: row.data.text.toUpperCase() } });
        } else {
          expect(row).toMatchObject({ state: 'failed', output: { message: 'data.text must be a string', got: 'int' } });
        }
      }
      const slow = settled.find((row) => row.data.text === 'slow')!;
      expect(slow.heartbeat_on!.getTime() - slow.started_on!.getTime()).toBeGreaterThanOrEqual(4_000);

      // Worked once each: one start per job in the worker's log, and no attempt but the first.
      const starts = [...log.matchAll(/job py\/upper\/([0-9a-f-]{36}) started/g)].map((match) => match[1]);
      expect(starts).toHaveLength(53);
      expect(new Set(starts)).toEqual(new Set(ids));

      // A clean stop while a job runs: pauseWork, the job finishes and is completed, then the socket closes.
      const {
        sendJobs: [last],
      } = await gqlData<{ sendJobs: string[] }>(
        gateway.graphqlUrl,
        tenant.token,
        'mutation($queue: String!) { sendJobs(queue: $queue, jobs: [{ data: { text: "last", sleepSeconds: 2 } }]) }',
        { queue },
      );
      await waitUntil('the last job to be worked', () => log.includes(`job py/upper/${last} started`), 10_000);
      child.kill('SIGTERM');
      const exit = await exited;
      expect(exit).toEqual({ code: 0, signal: null });
      expect(log).toContain('stopping: no new jobs');
      expect(log).not.toContain('pauseWork failed');
      const final = await rows();
      expect(final.find((row) => row.id === last)).toMatchObject({ state: 'completed', output: { text: 'LAST' }, retry_count: 0 });
      expect(final.filter((row) => row.state === 'active')).toEqual([]);
      await waitUntil('the worker to leave the registry', async () => {
        const { workers } = await gqlData<{ workers: unknown[] }>(
          gateway.graphqlUrl,
          tenant.token,
          'query($queue: String!) { workers(queue: $queue) { id } }',
          { queue },
        );
        return workers.length === 0;
      });
      // The token never reaches the log, not even at DEBUG.
      expect(log).not.toContain(tenant.token);
    }, 90_000);
  });
}
