import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '../db/prisma.ts';
import { notify } from '../sql/notifications.ts';
import type { SqlPlan } from '../sql/plan.ts';
import type { ScopeName } from './scopes.ts';

const TOKEN_PREFIX = 'jg_';

/**
 * Tokens are stored only as their SHA-256 digest and looked up by it: the
 * lookup key is a digest an attacker cannot steer byte by byte, so a timing
 * difference in the index lookup tells nothing about any stored secret.
 */
export function hashToken(token: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(createHash('sha256').update(token, 'utf8').digest());
}

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function newId(prefix: string): string {
  return prefix + randomBytes(10).toString('hex');
}

export interface IssueTokenInput {
  tenantId: string;
  scopes: readonly ScopeName[];
  label?: string | undefined;
  expiresAt?: Date | undefined;
  /** Import a known token value instead of generating one. */
  token?: string | undefined;
}

export interface IssuedToken {
  id: string;
  token: string;
  tenantId: string;
  scopes: ScopeName[];
  label: string | null;
  expiresAt: Date | null;
}

export const MIN_TOKEN_LENGTH = 16;

export async function issueToken(prisma: PrismaClient, input: IssueTokenInput): Promise<IssuedToken> {
  const token = input.token ?? generateToken();
  if (token.length < MIN_TOKEN_LENGTH) throw new Error(`a token must be at least ${MIN_TOKEN_LENGTH} characters`);
  const row = await prisma.apiToken.create({
    data: {
      id: newId('tok_'),
      tenantId: input.tenantId,
      label: input.label ?? null,
      scopes: [...input.scopes],
      tokenHash: hashToken(token),
      expiresAt: input.expiresAt ?? null,
    },
  });
  return { id: row.id, token, tenantId: row.tenantId, scopes: row.scopes, label: row.label, expiresAt: row.expiresAt };
}

/** The channel on which gateways hear of revocations, to close the token's live sockets. */
export const CONTROL_CHANNEL = 'jobgate_control';
export const REVOKED_PREFIX = 'revoked\t';
/** A token whose expiry changed (rotation with a grace period). */
export const CHANGED_PREFIX = 'changed\t';

/** `plan` as a Prisma statement (its values still parameters), for a `$transaction` of several. */
const executePlan = (prisma: PrismaClient, plan: SqlPlan) => prisma.$executeRawUnsafe(plan.text, ...plan.values);

/**
 * Revokes a token and tells every gateway instance (NOTIFY, delivered at
 * commit), which closes the sockets that authenticated with it. Returns false
 * when no such live token exists.
 */
export async function revokeToken(prisma: PrismaClient, tokenId: string): Promise<boolean> {
  const [{ count }] = await prisma.$transaction([
    prisma.apiToken.updateMany({ where: { id: tokenId, revokedAt: null }, data: { revokedAt: new Date() } }),
    executePlan(prisma, notify(CONTROL_CHANNEL, REVOKED_PREFIX + tokenId)),
  ]);
  return count === 1;
}

export interface RotatedToken {
  revokedId: string;
  issued: IssuedToken;
}

/**
 * Rotation: a new token with the same tenant, scopes and label; the old one
 * is revoked now, or expires after `graceSeconds` so clients can switch over.
 */
export async function rotateToken(prisma: PrismaClient, tokenId: string, graceSeconds = 0): Promise<RotatedToken | null> {
  const old = await prisma.apiToken.findFirst({ where: { id: tokenId, revokedAt: null } });
  if (!old || (old.expiresAt && old.expiresAt <= new Date())) return null;
  const issued = await issueToken(prisma, { tenantId: old.tenantId, scopes: old.scopes, label: old.label ?? undefined, expiresAt: old.expiresAt ?? undefined });
  if (graceSeconds > 0) {
    const until = new Date(Date.now() + graceSeconds * 1000);
    await prisma.$transaction([
      prisma.apiToken.update({ where: { id: tokenId }, data: { expiresAt: old.expiresAt && old.expiresAt < until ? old.expiresAt : until } }),
      executePlan(prisma, notify(CONTROL_CHANNEL, CHANGED_PREFIX + tokenId)),
    ]);
  } else {
    await revokeToken(prisma, tokenId);
  }
  return { revokedId: tokenId, issued };
}
