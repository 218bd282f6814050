import type { PrismaClient } from '../db/prisma.ts';
import type { Logger } from '../logger.ts';
import type { ScopeName } from './scopes.ts';
import type { TenantRecord } from './tenants.ts';
import { hashToken } from './tokens.ts';

/** Who is calling: resolved from a token before any resolver runs. */
export interface Viewer {
  tenant: TenantRecord;
  tokenId: string;
  scopes: ReadonlySet<ScopeName>;
  expiresAt: Date | null;
}

/** `lastUsedAt` is written at most this often per token, not on every request. */
const LAST_USED_RESOLUTION_MS = 60_000;
/**
 * Live tokens are remembered briefly so a busy client is not one database
 * lookup per request. Revocation evicts at once (broadcast to every instance);
 * expiry is checked on every hit.
 */
const CACHE_TTL_MS = 10_000;
const CACHE_MAX_ENTRIES = 10_000;

export function tokenFromAuthorization(header: string | null | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

/** graphql-ws `connection_init` payload: `{ token }` or `{ Authorization: "Bearer …" }`. */
export function tokenFromConnectionParams(params: Readonly<Record<string, unknown>> | undefined): string | null {
  if (!params) return null;
  if (typeof params.token === 'string' && params.token) return params.token;
  const header = params.Authorization ?? params.authorization;
  return typeof header === 'string' ? tokenFromAuthorization(header) : null;
}

export class Authenticator {
  readonly #prisma: PrismaClient;
  readonly #logger: Logger;
  readonly #cache = new Map<string, { viewer: Viewer; until: number }>();

  constructor(prisma: PrismaClient, logger: Logger) {
    this.#prisma = prisma;
    this.#logger = logger;
  }

  /** The viewer of a token found live within the cache's lifetime (10 s), without asking the database; otherwise undefined. */
  cached(token: string | null): Viewer | undefined {
    if (!token) return undefined;
    return this.#fromCache(Buffer.from(hashToken(token)).toString('base64'), new Date());
  }

  #fromCache(key: string, now: Date): Viewer | undefined {
    const cached = this.#cache.get(key);
    if (cached && cached.until > now.getTime() && !(cached.viewer.expiresAt && cached.viewer.expiresAt <= now)) return cached.viewer;
    this.#cache.delete(key);
    return undefined;
  }

  /** The viewer for a live token, or null for a missing, unknown, revoked or expired one. */
  async authenticate(token: string | null): Promise<Viewer | null> {
    if (!token) return null;
    const hash = hashToken(token);
    const key = Buffer.from(hash).toString('base64');
    const now = new Date();
    const cached = this.#fromCache(key, now);
    if (cached) return cached;
    const row = await this.#prisma.apiToken.findUnique({
      where: { tokenHash: hash },
      include: { tenant: true },
    });
    if (!row || row.revokedAt || (row.expiresAt && row.expiresAt <= now)) return null;
    if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      this.#prisma.apiToken
        .update({ where: { id: row.id }, data: { lastUsedAt: now } })
        .catch((error: unknown) => this.#logger.warn({ err: error, tokenId: row.id }, 'could not record token use'));
    }
    const viewer: Viewer = { tenant: row.tenant, tokenId: row.id, scopes: new Set(row.scopes), expiresAt: row.expiresAt };
    if (this.#cache.size >= CACHE_MAX_ENTRIES) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(key, { viewer, until: now.getTime() + CACHE_TTL_MS });
    return viewer;
  }

  /** Forgets a token at once (it was revoked or rotated). */
  forget(tokenId: string): void {
    for (const [key, entry] of this.#cache) if (entry.viewer.tokenId === tokenId) this.#cache.delete(key);
  }
}
