import { createTenant } from '../src/auth/tenants.ts';
import { issueToken } from '../src/auth/tokens.ts';
import { createPrisma } from '../src/db/prisma.ts';
import { inParallel } from './stats.ts';

export interface BenchTenant {
  tenantId: string;
  token: string;
}

/**
 * Tenants as `jobgate tenants create` and `jobgate tokens issue` make them
 * (the same functions, with the default limits), a token each with every
 * scope; one Prisma client for all, as many at once as its pool holds. The
 * CLI would pay a process start and a new connection for each call.
 */
export async function createTenants(databaseUrl: string, prefix: string, count: number): Promise<BenchTenant[]> {
  const prisma = createPrisma(databaseUrl);
  const tenants: BenchTenant[] = new Array<BenchTenant>(count);
  try {
    await inParallel(count, 5, async (index) => {
      const tenant = await createTenant(prisma, `${prefix}-${index}`);
      const { token } = await issueToken(prisma, { tenantId: tenant.id, scopes: ['PUBLISH', 'READ', 'WORK'] });
      tenants[index] = { tenantId: tenant.id, token };
    });
  } finally {
    await prisma.$disconnect();
  }
  return tenants;
}
