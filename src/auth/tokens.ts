import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '../db/prisma.ts';
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

/** Returns false when no such live token exists. */
export async function revokeToken(prisma: PrismaClient, tokenId: string): Promise<boolean> {
  const { count } = await prisma.apiToken.updateMany({
    where: { id: tokenId, revokedAt: null },
    data: { revokedAt: new Date() },
  });
  return count === 1;
}
