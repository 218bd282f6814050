import type { PrismaClient } from '../db/prisma.ts';
import { newId } from './tokens.ts';

export interface TenantRecord {
  id: string;
  name: string;
  createdAt: Date;
  operationsPerSecond: number | null;
  maxConnections: number | null;
  maxSubscriptions: number | null;
}

export const TENANT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** Tenant ids are lowercase hex with a fixed prefix: safe as a pg-boss queue-name prefix. */
export async function createTenant(prisma: PrismaClient, name: string): Promise<TenantRecord> {
  if (!TENANT_NAME_PATTERN.test(name)) {
    throw new Error('a tenant name is 1-63 letters, digits, "_", "." or "-", starting with a letter or digit');
  }
  return prisma.tenant.create({ data: { id: newId('t'), name } });
}

export async function findTenant(prisma: PrismaClient, idOrName: string): Promise<TenantRecord | null> {
  return prisma.tenant.findFirst({ where: { OR: [{ id: idOrName }, { name: idOrName }] } });
}
