import { tenantsCreate, tokensIssue } from '../src/cli/commands.ts';
import { createPrisma } from '../src/db/prisma.ts';

export interface UserTenant {
  tenantId: string;
  token: string;
}

/**
 * A tenant and a token made as `npm run jobgate -- tenants create <name>` and
 * `tokens issue --tenant <name>` make them: no limits of its own, so the
 * gateway's defaults apply.
 */
export async function createUserTenant(databaseUrl: string, name: string, scopes = 'PUBLISH,READ,WORK'): Promise<UserTenant> {
  const prisma = createPrisma(databaseUrl);
  try {
    const tenant = await tenantsCreate(prisma, name);
    const issued = await tokensIssue(prisma, { tenant: name, scopes });
    return { tenantId: tenant.text, token: issued.text };
  } finally {
    await prisma.$disconnect();
  }
}
