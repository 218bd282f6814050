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

  constructor(prisma: PrismaClient, logger: Logger) {
    this.#prisma = prisma;
    this.#logger = logger;
  }

  /** The viewer for a live token, or null for a missing, unknown, revoked or expired one. */
  async authenticate(token: string | null): Promise<Viewer | null> {
    if (!token) return null;
    const row = await this.#prisma.apiToken.findUnique({
      where: { tokenHash: hashToken(token) },
      include: { tenant: true },
    });
    const now = new Date();
    if (!row || row.revokedAt || (row.expiresAt && row.expiresAt <= now)) return null;
    if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      this.#prisma.apiToken
        .update({ where: { id: row.id }, data: { lastUsedAt: now } })
        .catch((error: unknown) => this.#logger.warn({ err: error, tokenId: row.id }, 'could not record token use'));
    }
    return { tenant: row.tenant, tokenId: row.id, scopes: new Set(row.scopes), expiresAt: row.expiresAt };
  }
}
