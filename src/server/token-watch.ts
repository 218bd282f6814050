import type { Authenticator } from '../auth/authenticate.ts';
import { CHANGED_PREFIX, REVOKED_PREFIX } from '../auth/tokens.ts';
import type { PrismaClient } from '../db/prisma.ts';
import type { JobEventBus } from '../events/job-event-bus.ts';
import type { Logger } from '../logger.ts';
import type { TokenSessions } from './token-sessions.ts';

const REVALIDATE_MS = 30_000;

/**
 * Keeps live sockets and HTTP subscriptions honest about their tokens: a
 * revocation broadcast (NOTIFY from any instance or the CLI) ends what the
 * token opened at once; a periodic re-check catches expiry changes (rotation
 * grace) and anything revoked while the LISTEN connection was down.
 */
export function watchTokens(
  sessions: readonly TokenSessions[],
  bus: JobEventBus,
  prisma: PrismaClient,
  authenticator: Authenticator,
  logger: Logger,
): () => void {
  const end = (tokenId: string, reason: string) => sessions.reduce((ended, session) => ended + session.endForToken(tokenId, reason), 0);
  const revalidate = async (ids = [...new Set(sessions.flatMap((session) => session.tokenIds()))]) => {
    if (ids.length === 0) return;
    const now = new Date();
    const live = await prisma.apiToken.findMany({
      where: { id: { in: ids }, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
      select: { id: true, expiresAt: true },
    });
    const valid = new Map(live.map((token) => [token.id, token.expiresAt]));
    for (const id of ids) {
      if (valid.has(id)) {
        for (const session of sessions) session.expireTokenAt(id, valid.get(id) ?? null);
        continue;
      }
      authenticator.forget(id);
      end(id, 'Token revoked or expired');
    }
  };

  const stopListening = bus.onControl((message) => {
    if (message.startsWith(REVOKED_PREFIX)) {
      const tokenId = message.slice(REVOKED_PREFIX.length);
      authenticator.forget(tokenId);
      const ended = end(tokenId, 'Token revoked');
      if (ended) logger.info({ tokenId, ended }, 'ended the sockets and subscriptions of a revoked token');
    } else if (message.startsWith(CHANGED_PREFIX)) {
      const tokenId = message.slice(CHANGED_PREFIX.length);
      authenticator.forget(tokenId);
      revalidate([tokenId]).catch((error: unknown) => logger.warn({ err: error, tokenId }, 'token re-check failed'));
    }
  });
  const timer = setInterval(() => void revalidate().catch((error: unknown) => logger.warn({ err: error }, 'token re-check failed')), REVALIDATE_MS).unref();

  return () => {
    stopListening();
    clearInterval(timer);
  };
}
