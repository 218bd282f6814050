import { Queue, Worker } from 'bullmq';
import { packageVersion } from './package-version.ts';
import type { Peer } from './peer.ts';
import type { RedisEndpoint } from './redis-server.ts';

const JOB_NAME = 'bench';

/**
 * BullMQ on a Redis of its own (see redis-server.ts). Queues and workers keep
 * BullMQ's defaults (completed jobs are kept, as pg-boss keeps them); each
 * Queue and Worker opens its own connections.
 */
export function startBullmqPeer(redis: RedisEndpoint, log: (message: string) => void): Peer {
  const { connection } = redis;
  const queues = new Map<string, Queue>();
  const queueOf = (name: string) => {
    let queue = queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection });
      queue.on('error', (error) => log(`bullmq queue: ${error.message}`));
      queues.set(name, queue);
    }
    return queue;
  };

  return {
    id: 'bullmq',
    description: `BullMQ ${packageVersion('bullmq')} (ioredis ${packageVersion('ioredis')}, ${redis.description}, workers in the bench process)`,
    async addBatch(queue, payloads) {
      await queueOf(queue).addBulk(payloads.map((data) => ({ name: JOB_NAME, data })));
    },
    async add(queue, payload) {
      await queueOf(queue).add(JOB_NAME, payload);
    },
    async work(queue, workers, concurrency, handler) {
      const started = Array.from({ length: workers }, () => {
        const worker = new Worker(
          queue,
          async () => {
            handler();
          },
          { connection, concurrency },
        );
        worker.on('error', (error) => log(`bullmq worker: ${error.message}`));
        return worker;
      });
      await Promise.all(started.map((worker) => worker.waitUntilReady()));
      return async () => {
        await Promise.all(started.map((worker) => worker.close()));
      };
    },
    pending: (queue) => queueOf(queue).getJobCountByTypes('waiting', 'active', 'delayed', 'prioritized'),
    async clear(queue) {
      const existing = queues.get(queue);
      if (!existing) return;
      await existing.obliterate({ force: true });
      await existing.close();
      queues.delete(queue);
    },
    async stop() {
      await Promise.all([...queues.values()].map((queue) => queue.close()));
      queues.clear();
      await redis.stop();
    },
  };
}
