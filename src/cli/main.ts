import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../config.ts';
import { embeddedUrlFor } from '../db/embedded.ts';
import { installGatewaySchema } from '../db/gateway-schema.ts';
import { applyPrismaMigrations } from '../db/migrate.ts';
import { createPrisma } from '../db/prisma.ts';
import { createLogger } from '../logger.ts';
import { startBoss } from '../pgboss/start.ts';
import { tenantsCreate, tenantsLimits, tenantsList, tokensIssue, tokensRotate, tokensList, tokensRevoke, UsageError, type CommandOutput } from './commands.ts';

const USAGE = `usage: jobgate <command> [--json]
  tenants create <name>
  tenants list
  tokens issue --tenant <name> [--scopes PUBLISH,READ,WORK] [--admin] [--token <value>] [--label <text>] [--expires-in <seconds>]
  tokens list --tenant <name>
  tokens revoke <tokenId>       closes the token's live sockets on every gateway
  tokens rotate <tokenId> [--grace <seconds>]   new token, same scopes; old one revoked (or expires after the grace)
  tenants limits <name> [--operations-per-second N] [--max-connections N] [--max-subscriptions N]   ("default" resets)
  migrate                      apply Prisma migrations and pg-boss schema
Reads DATABASE_URL; without it, uses the embedded PostgreSQL of a gateway started with \`npm start\` (JOBGATE_DATA_DIR).`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    json: { type: 'boolean' },
    tenant: { type: 'string' },
    scopes: { type: 'string' },
    admin: { type: 'boolean' },
    token: { type: 'string' },
    label: { type: 'string' },
    'expires-in': { type: 'string' },
    grace: { type: 'string' },
    'operations-per-second': { type: 'string' },
    'max-connections': { type: 'string' },
    'max-subscriptions': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

async function migrate(databaseUrl: string): Promise<CommandOutput> {
  // Migrations hold a session-level advisory lock: behind a transaction pooler they need a direct connection.
  await applyPrismaMigrations(process.env.DATABASE_DIRECT_URL || databaseUrl);
  const config = loadConfig();
  const boss = await startBoss({ databaseUrl, schema: config.bossSchema, logger: createLogger('warn'), supervise: false });
  await boss.stop({ graceful: false });
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  await installGatewaySchema(pool, config.bossSchema).finally(() => pool.end());
  return { json: { migrated: true }, text: 'migrations applied' };
}

async function run(databaseUrl: string): Promise<CommandOutput> {
  const [group, action, argument] = positionals;
  const command = `${group ?? ''} ${action ?? ''}`.trim();
  if (command === 'migrate') return migrate(databaseUrl);
  const prisma = createPrisma(databaseUrl);
  try {
    switch (command) {
      case 'tenants create':
        return await tenantsCreate(prisma, argument);
      case 'tenants list':
        return await tenantsList(prisma);
      case 'tokens issue':
        return await tokensIssue(prisma, {
          tenant: values.tenant ?? '',
          scopes: values.scopes,
          admin: values.admin,
          token: values.token,
          label: values.label,
          expiresInSeconds: values['expires-in'],
        });
      case 'tokens list':
        return await tokensList(prisma, values.tenant);
      case 'tokens revoke':
        return await tokensRevoke(prisma, argument);
      case 'tokens rotate':
        return await tokensRotate(prisma, argument, values.grace);
      case 'tenants limits':
        return await tenantsLimits(prisma, argument, {
          operationsPerSecond: values['operations-per-second'],
          maxConnections: values['max-connections'],
          maxSubscriptions: values['max-subscriptions'],
        });
      default:
        throw new UsageError(USAGE);
    }
  } finally {
    await prisma.$disconnect();
  }
}

if (values.help || positionals.length === 0) {
  console.log(USAGE);
  process.exit(positionals.length === 0 && !values.help ? 2 : 0);
}

const databaseUrl = process.env.DATABASE_URL || (await embeddedUrlFor(loadConfig().dataDir));
try {
  if (!databaseUrl) throw new UsageError('set DATABASE_URL, or start the gateway (npm start) to use its embedded PostgreSQL');
  const output = await run(databaseUrl);
  console.log(values.json ? JSON.stringify(output.json, null, 2) : output.text);
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  if (values.json) console.error(JSON.stringify({ error: message }));
  else console.error(`jobgate: ${message}`);
  process.exit(error instanceof UsageError ? 2 : 1);
}
