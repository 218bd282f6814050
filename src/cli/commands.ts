import { DEFAULT_SCOPES, parseScopes, Scope } from '../auth/scopes.ts';
import { createTenant, findTenant } from '../auth/tenants.ts';
import { issueToken, revokeToken, rotateToken } from '../auth/tokens.ts';
import type { PrismaClient } from '../db/prisma.ts';

export class UsageError extends Error {}

/** What a command prints: `json` with --json, `text` otherwise. */
export interface CommandOutput {
  json: unknown;
  text: string;
}

export interface TokenIssueOptions {
  tenant: string;
  scopes?: string | undefined;
  admin?: boolean | undefined;
  token?: string | undefined;
  label?: string | undefined;
  expiresInSeconds?: string | undefined;
}

async function requireTenant(prisma: PrismaClient, idOrName: string | undefined) {
  if (!idOrName) throw new UsageError('--tenant <name or id> is required');
  const tenant = await findTenant(prisma, idOrName);
  if (!tenant) throw new UsageError(`no tenant "${idOrName}"`);
  return tenant;
}

export async function tenantsCreate(prisma: PrismaClient, name: string | undefined): Promise<CommandOutput> {
  if (!name) throw new UsageError('usage: jobgate tenants create <name>');
  const existing = await findTenant(prisma, name);
  if (existing) throw new UsageError(`tenant "${name}" already exists (id ${existing.id})`);
  const tenant = await createTenant(prisma, name);
  return { json: tenant, text: tenant.id };
}

export async function tenantsList(prisma: PrismaClient): Promise<CommandOutput> {
  const tenants = await prisma.tenant.findMany({ orderBy: { createdAt: 'asc' } });
  return { json: tenants, text: tenants.map((t) => `${t.id}\t${t.name}\t${t.createdAt.toISOString()}`).join('\n') };
}

export async function tokensIssue(prisma: PrismaClient, options: TokenIssueOptions): Promise<CommandOutput> {
  const tenant = await requireTenant(prisma, options.tenant);
  let scopes = options.scopes ? parseScopes(options.scopes) : [...DEFAULT_SCOPES];
  if (options.admin && !scopes.includes(Scope.ADMIN)) scopes = [...scopes, Scope.ADMIN];
  let expiresAt: Date | undefined;
  if (options.expiresInSeconds !== undefined) {
    const seconds = Number(options.expiresInSeconds);
    if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError('--expires-in takes a positive number of seconds');
    expiresAt = new Date(Date.now() + seconds * 1000);
  }
  const issued = await issueToken(prisma, {
    tenantId: tenant.id,
    scopes,
    label: options.label,
    token: options.token,
    expiresAt,
  });
  return { json: { ...issued, tenant: tenant.name }, text: issued.token };
}

export async function tokensList(prisma: PrismaClient, tenantName: string | undefined): Promise<CommandOutput> {
  const tenant = await requireTenant(prisma, tenantName);
  const tokens = await prisma.apiToken.findMany({
    where: { tenantId: tenant.id },
    orderBy: { createdAt: 'asc' },
    select: { id: true, label: true, scopes: true, createdAt: true, lastUsedAt: true, expiresAt: true, revokedAt: true },
  });
  const text = tokens
    .map((t) => [t.id, t.label ?? '-', t.scopes.join(','), t.createdAt.toISOString(), t.revokedAt ? 'revoked' : 'active'].join('\t'))
    .join('\n');
  return { json: tokens, text };
}

export async function tokensRevoke(prisma: PrismaClient, tokenId: string | undefined): Promise<CommandOutput> {
  if (!tokenId) throw new UsageError('usage: jobgate tokens revoke <tokenId>');
  if (!(await revokeToken(prisma, tokenId))) throw new UsageError(`no active token "${tokenId}"`);
  return { json: { id: tokenId, revoked: true }, text: `revoked ${tokenId}` };
}

export async function tokensRotate(prisma: PrismaClient, tokenId: string | undefined, graceSeconds: string | undefined): Promise<CommandOutput> {
  if (!tokenId) throw new UsageError('usage: jobgate tokens rotate <tokenId> [--grace <seconds>]');
  const grace = graceSeconds === undefined ? 0 : Number(graceSeconds);
  if (!Number.isFinite(grace) || grace < 0) throw new UsageError('--grace takes a number of seconds ≥ 0');
  const rotated = await rotateToken(prisma, tokenId, grace);
  if (!rotated) throw new UsageError(`no active token "${tokenId}"`);
  return { json: rotated, text: rotated.issued.token };
}

export interface TenantLimitOptions {
  operationsPerSecond?: string | undefined;
  maxConnections?: string | undefined;
  maxSubscriptions?: string | undefined;
}

/** Sets a tenant's own limits; "default" returns one to the gateway-wide default. */
export async function tenantsLimits(prisma: PrismaClient, name: string | undefined, options: TenantLimitOptions): Promise<CommandOutput> {
  const tenant = await requireTenant(prisma, name);
  const parse = (value: string | undefined, flag: string): number | null | undefined => {
    if (value === undefined) return undefined;
    if (value === 'default') return null;
    const number = Number(value);
    if (!Number.isInteger(number) || number < 1) throw new UsageError(`${flag} takes a positive integer or "default"`);
    return number;
  };
  const updated = await prisma.tenant.update({
    where: { id: tenant.id },
    data: {
      operationsPerSecond: parse(options.operationsPerSecond, '--operations-per-second'),
      maxConnections: parse(options.maxConnections, '--max-connections'),
      maxSubscriptions: parse(options.maxSubscriptions, '--max-subscriptions'),
    },
  });
  const text = `operations/s ${updated.operationsPerSecond ?? 'default'}, connections ${updated.maxConnections ?? 'default'}, subscriptions ${updated.maxSubscriptions ?? 'default'}`;
  return { json: updated, text };
}
