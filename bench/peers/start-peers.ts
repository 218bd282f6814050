import { startBullmqPeer } from './bullmq.ts';
import { startGraphileWorkerPeer } from './graphile-worker.ts';
import type { Peer, PeerId, PeerSet } from './peer.ts';
import { startRedis } from './redis-server.ts';

/** graphile-worker on the bench database, and BullMQ when a Redis is reachable; a peer that cannot start is left out, with why. */
export async function startPeers(databaseUrl: string, log: (message: string) => void): Promise<PeerSet> {
  const available: Peer[] = [];
  const missing = new Map<PeerId, string>();
  const why = (error: unknown) => (error instanceof Error ? error.message : String(error));
  try {
    available.push(await startGraphileWorkerPeer(databaseUrl, log));
  } catch (error) {
    missing.set('graphile-worker', `did not start: ${why(error)}`);
  }
  try {
    const redis = await startRedis();
    if (typeof redis === 'string') missing.set('bullmq', redis);
    else available.push(startBullmqPeer(redis, log));
  } catch (error) {
    missing.set('bullmq', `did not start: ${why(error)}`);
  }
  for (const peer of available) log(`peer ${peer.description}`);
  for (const [id, reason] of missing) log(`peer ${id}: ${reason}`);
  return {
    available,
    missing,
    stop: async () => {
      await Promise.allSettled(available.map((peer) => peer.stop()));
    },
  };
}
