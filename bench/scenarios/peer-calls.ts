import type { BenchContext } from '../context.ts';
import type { Peer, PeerId } from '../peers/peer.ts';
import type { Call } from './alternate.ts';

/** One call per available peer, each on a queue of its own, and the clean-up of those queues. */
export function peerCalls(
  ctx: BenchContext,
  base: string,
  call: (peer: Peer, queue: string) => Promise<number>,
): { calls: Map<PeerId, Call>; clear(): Promise<void> } {
  const queues = new Map(ctx.peers.available.map((peer) => [peer, ctx.queueName(`${peer.id}-${base}`)]));
  return {
    calls: new Map([...queues].map(([peer, queue]) => [peer.id, () => call(peer, queue)])),
    clear: async () => {
      for (const [peer, queue] of queues) await peer.clear(queue);
    },
  };
}
