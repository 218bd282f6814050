import { REVOKED_PREFIX } from '../auth/tokens.ts';
import type { PrismaClient } from '../db/prisma.ts';
import type { Logger } from '../logger.ts';
import type { JobEventBus } from '../queue/job-event-bus.ts';
import { CLOSE_TOKEN_REVOKED, type GatewayWebSockets } from './ws.ts';

const REVALIDATE_MS = 30_000;

/**
 * Keeps live sockets honest about their tokens: a revocation broadcast
 * (NOTIFY from any instance or the CLI) closes the token's sockets at once; a
 * periodic re-check catches expiry changes (rotation grace) and anything
 * revoked while the LISTEN connection was down.
 */
export function watchTokens(sockets: GatewayWebSockets, bus: JobEventBus, prisma: PrismaClient, logger: Logger): () => void {
  const stopListening = bus.onControl((message) => {
    if (!message.startsWith(REVOKED_PREFIX)) return;
    const tokenId = message.slice(REVOKED_PREFIX.length);
    const closed = sockets.closeForToken(tokenId, CLOSE_TOKEN_REVOKED, 'Token revoked');
    if (closed) logger.info({ tokenId, closed }, 'closed sockets of a revoked token');
  });

  const revalidate = async () => {
    const ids = sockets.tokenIds();
    if (ids.length === 0) return;
    const now = new Date();
    const live = await prisma.apiToken.findMany({
      where: { id: { in: ids }, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
      select: { id: true },
    });
    const valid = new Set(live.map((token) => token.id));
    for (const id of ids) if (!valid.has(id)) sockets.closeForToken(id, CLOSE_TOKEN_REVOKED, 'Token revoked or expired');
  };
  const timer = setInterval(() => revalidate().catch((error: unknown) => logger.warn({ err: error }, 'token re-check failed')), REVALIDATE_MS).unref();

  return () => {
    stopListening();
    clearInterval(timer);
  };
}
