import { randomBytes } from 'node:crypto';
import { createServer, type Server, type ServerOptions } from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import type { PgBoss } from 'pg-boss';
import { Authenticator } from './auth/authenticate.ts';
import { AuthenticationFailures } from './auth/authentication-failures.ts';
import { EventLoopLoad } from './auth/event-loop-load.ts';
import { TenantDatabaseShare } from './auth/tenant-database-share.ts';
import { TenantLimiter } from './auth/tenant-limiter.ts';
import { ConfigError, type Config } from './config.ts';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.ts';
import { installGatewaySchema } from './db/gateway-schema.ts';
import { applyPrismaMigrations } from './db/migrate.ts';
import { createPool } from './db/pools.ts';
import { PreparedStatements } from './db/prepared-statements.ts';
import { createPrisma, type PrismaClient } from './db/prisma.ts';
import { gatewayTypes } from './db/type-parsers.ts';
import { Dispatcher } from './dispatch/dispatcher.ts';
import { InstanceLiveness } from './dispatch/instance-liveness.ts';
import { LeaseTokens, loadLeaseSecret } from './dispatch/lease-tokens.ts';
import { Leases } from './dispatch/leases.ts';
import { WorkerRegistry } from './dispatch/worker-registry.ts';
import { EventCursors, loadEventCursorSecret } from './events/event-cursors.ts';
import { EventFeed } from './events/event-feed.ts';
import { EventLogRetention } from './events/event-log-retention.ts';
import { JobEventBus } from './events/job-event-bus.ts';
import { shareAbortReason } from './graphql/shared-abort-reason.ts';
import { createLogger, type Logger } from './logger.ts';
import { startBoss } from './pgboss/start.ts';
import { limitUnauthenticatedConnections } from './server/connection-gate.ts';
import { corsPolicy } from './server/cors.ts';
import { withDashboard } from './server/dashboard.ts';
import { withAuthentication } from './server/http-auth.ts';
import { withBodyLimit } from './server/http-guards.ts';
import { HttpSubscriptions } from './server/http-subscriptions.ts';
import { metricsListener, METRICS_PATH, withMetrics } from './server/metrics-endpoint.ts';
import { GatewayMetrics } from './server/metrics.ts';
import { withRequestMetrics } from './server/request-metrics.ts';
import { watchTokens } from './server/token-watch.ts';
import { attachGraphqlWs, type GatewayWebSockets } from './server/ws.ts';
import { withYogaRoutes } from './server/yoga-routes.ts';
import { createGatewayYoga } from './server/yoga.ts';
import type { Services } from './services.ts';
import { PING_SQL } from './sql/health.ts';
import { quoteIdentifier } from './sql/identifiers.ts';
import { purgeOrphanedProgress } from './tenant/job-progress.ts';
import { Tenant } from './tenant/tenant.ts';
import type { QueueObserver } from './tenant/work-identity.ts';

/** Past the grace, how long the answers of operations under way may still take before the sockets close. */
const LAST_ANSWERS_MS = 250;

/** How long a notification may take at start to reach the LISTEN connection (it takes milliseconds). */
const LISTEN_CHECK_MS = 5_000;

/** A readiness check that takes longer than this answers "not ready" rather than leaving the probe waiting. */
const READY_TIMEOUT_MS = 2_500;

export interface StartedApp {
  url: string;
  port: number;
  /** The metrics listener's /metrics. */
  metricsUrl: string;
  databaseUrl: string;
  services: Services;
}

export interface App {
  start(): Promise<StartedApp>;
  /**
   * Stops accepting, stops pushing, lets held jobs settle within the grace
   * period, puts back what is left (no retry used), closes sockets with 1001,
   * stops pg-boss gracefully. Idempotent.
   */
  stop(): Promise<void>;
}

/** Slow clients (slow-loris): node:http cuts a request whose headers or whole body take longer, with 408. */
function serverOptions(config: Config): ServerOptions {
  return {
    headersTimeout: config.headersTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    // How often node:http looks for requests over their time (30 s by default).
    connectionsCheckingInterval: Math.min(1_000, Math.ceil(config.headersTimeoutMs / 2)),
  };
}

/** Listens and resolves with the port bound and the server's base URL. */
async function listen(server: Server, port: number, host: string): Promise<{ port: number; url: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: bound } = server.address() as AddressInfo;
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return { port: bound, url: `http://${shown}:${bound}` };
}

/**
 * Operations a tenant alone on an instance may run on the database at once,
 * past its share: the gateway's and pg-boss's pools hold 10 connections each,
 * and a tenant that turns up finds room while the borrowed ones drain.
 */
const TENANT_ALONE_DB_CONCURRENCY = 16;
export function buildApp(config: Config, logger: Logger = createLogger(config.logLevel)): App {
  shareAbortReason();
  let embedded: EmbeddedDatabase | undefined;
  let prisma: PrismaClient | undefined;
  let boss: PgBoss | undefined;
  let pool: pg.Pool | undefined;
  let claimPool: pg.Pool | undefined;
  let events: JobEventBus | undefined;
  let feed: EventFeed | undefined;
  const eventLoopLoad = new EventLoopLoad();
  let eventRetention: EventLogRetention | undefined;
  let dispatcher: Dispatcher | undefined;
  let liveness: InstanceLiveness | undefined;
  let leaseSweeper: NodeJS.Timeout | undefined;
  let stopTokenWatch: (() => void) | undefined;
  const metrics = new GatewayMetrics();
  const observer: QueueObserver = {
    sent: (tenant, queue, count) => metrics.jobsSent.inc({ tenant, queue }, count),
    settled: (tenant, queue, outcome, count) => metrics.jobsSettled.inc({ tenant, queue, outcome }, count),
  };
  let httpServer: Server | undefined;
  let metricsServer: Server | undefined;
  let sockets: GatewayWebSockets | undefined;
  let stopping: Promise<void> | undefined;

  async function isReady(): Promise<boolean> {
    if (!prisma || !boss || !pool || !claimPool || !events?.connected || stopping) return false;
    let timer: NodeJS.Timeout | undefined;
    // A probe must answer: a check stuck on a connection (PostgreSQL going away) counts as not ready.
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from PostgreSQL within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    });
    try {
      await Promise.race([
        Promise.all([prisma.$queryRawUnsafe(PING_SQL), boss.getDb().executeSql(PING_SQL), pool.query(PING_SQL), claimPool.query(PING_SQL)]),
        timedOut,
      ]);
      return true;
    } catch (error) {
      logger.warn({ err: error }, 'readiness check failed');
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  async function start(): Promise<StartedApp> {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      embedded = await startEmbeddedPostgres(config.dataDir, logger);
      databaseUrl = embedded.url;
    }
    // What needs a session of its own (the LISTEN connection, migrations' advisory locks) goes
    // straight to PostgreSQL when the rest goes through a transaction pooler.
    const directUrl = config.databaseDirectUrl ?? databaseUrl;
    const pooled = config.databaseDirectUrl !== undefined;
    if (config.migrateOnStart) {
      await applyPrismaMigrations(directUrl);
      logger.info('database migrations applied');
    }
    const connectionTimeoutMillis = config.databaseConnectTimeoutMs;
    prisma = createPrisma(databaseUrl, { connectionTimeoutMillis, logger });
    boss = await startBoss({
      databaseUrl,
      schema: config.bossSchema,
      logger,
      monitorIntervalSeconds: config.bossMonitorIntervalSeconds,
      connectionTimeoutMillis,
    });
    pool = createPool(
      { connectionString: databaseUrl, applicationName: 'jobgate', max: 10, maxUses: 50_000, connectionTimeoutMillis, types: gatewayTypes },
      logger,
    );
    await installGatewaySchema(pool, config.bossSchema);
    const startedPool = pool;
    eventRetention = new EventLogRetention(pool, config.eventRetentionHours, logger);
    await eventRetention.start();
    events = new JobEventBus(directUrl, pool, logger, { connectionTimeoutMillis });
    await events.start();
    await events.sync(LISTEN_CHECK_MS).catch(() => {
      throw new ConfigError(
        `a notification sent through DATABASE_URL did not reach the LISTEN connection (${pooled ? 'DATABASE_DIRECT_URL' : 'DATABASE_URL'}) within ${LISTEN_CHECK_MS} ms: ` +
          'job events, dispatch and token revocations would silently stop. A PgBouncer in transaction or statement mode cannot carry LISTEN: ' +
          'point DATABASE_DIRECT_URL at PostgreSQL itself (or a session-mode pool), and DATABASE_URL at the pooler (see docs/operations.md)',
      );
    });
    const startedEvents = events;
    metrics.listenProbe = () => startedEvents.connected;
    claimPool = createPool(
      { connectionString: databaseUrl, applicationName: 'jobgate-claims', max: 4, maxUses: 50_000, connectionTimeoutMillis, types: gatewayTypes },
      logger,
    );
    // Behind a transaction pooler a statement prepared on one server connection is unknown to the next.
    const bossSchema = quoteIdentifier(config.bossSchema);
    const leases = new Leases(pool, claimPool, new PreparedStatements({ enabled: !pooled }), bossSchema);
    const leaseTokens = new LeaseTokens(await loadLeaseSecret((text) => startedPool.query<{ value: Buffer }>(text)));
    const eventCursors = new EventCursors(await loadEventCursorSecret((text) => startedPool.query<{ value: Buffer }>(text)));
    feed = new EventFeed(pool, events, logger);
    eventLoopLoad.start();
    const workers = new WorkerRegistry(pool, bossSchema);
    const instanceId = randomBytes(6).toString('hex');
    dispatcher = new Dispatcher(events, leases, workers, instanceId, logger, {
      onDispatched: (tenantId, seconds) => metrics.dispatchLatency.observe({ tenant: tenantId }, seconds),
    });
    dispatcher.start();
    const startedBoss = boss;
    const startedDispatcher = dispatcher;
    liveness = new InstanceLiveness(pool, leases, instanceId, logger, {
      deadAfterSeconds: config.instanceDeadAfterSeconds,
      failBack: async (db, queue, attempts) => {
        await startedBoss.fail(queue, attempts, { message: 'the gateway instance holding the job went away' }, { db });
      },
      onRevived: () => void startedDispatcher.resync(),
    });
    await liveness.start();
    const sweep = () =>
      Promise.all([leases.purgeStale(), workers.purgeStale(), purgeOrphanedProgress(leases.db, bossSchema)]).catch((error: unknown) =>
        logger.warn({ err: error }, 'lease sweep failed'),
      );
    leaseSweeper = setInterval(() => void sweep(), 60_000).unref();
    const services: Services = {
      config,
      logger,
      prisma,
      boss: startedBoss,
      bossSchema,
      pool,
      events,
      eventSources: { feed, cursors: eventCursors, pool },
      dispatcher,
      instanceId,
      workers,
      authenticator: new Authenticator(prisma, logger),
      authenticationFailures: new AuthenticationFailures(config.authFailuresPerMinute),
      limiter: new TenantLimiter(config.tenantLimits, { busy: () => eventLoopLoad.busy, defaultRateIsQuota: config.defaultRateIsQuota }),
      databaseShare: new TenantDatabaseShare(config.tenantDatabaseConcurrency, config.databaseConnectTimeoutMs, TENANT_ALONE_DB_CONCURRENCY),
      tenant: (tenantId, holder, admission) =>
        new Tenant(startedBoss, bossSchema, tenantId, config, {
          leases,
          leaseTokens,
          admission,
          db: leases.db,
          holder,
          dispatch: startedDispatcher,
          observer,
        }),
    };
    const httpSubscriptions = new HttpSubscriptions();
    const yoga = createGatewayYoga(services, metrics, isReady, httpSubscriptions);
    const authentication = {
      graphiql: config.graphiql,
      introspection: config.introspection,
      cors: corsPolicy(config.corsOrigins),
      logger,
      failures: services.authenticationFailures,
      trustedProxies: config.trustedProxies,
    };
    const handler = withYogaRoutes(
      withAuthentication(
        services.authenticator,
        authentication,
        withBodyLimit(config.maxBodyBytes, (req, res) => void yoga(req, res)),
      ),
    );
    httpServer = createServer(
      serverOptions(config),
      withRequestMetrics(metrics.httpRequests, withMetrics(metrics, config.metricsToken, withDashboard(handler))),
    );
    limitUnauthenticatedConnections(httpServer, config.maxUnauthenticatedConnections, {
      onCount: (count) => metrics.unauthenticatedConnections.set(count),
      onDropped: () => metrics.unauthenticatedDropped.inc(),
    });
    sockets = attachGraphqlWs(httpServer, yoga, services, metrics);
    stopTokenWatch = watchTokens([sockets, httpSubscriptions], events, prisma, services.authenticator, logger);
    metricsServer = createServer(serverOptions(config), withRequestMetrics(metrics.httpRequests, metricsListener(metrics, config.metricsToken)));
    const { port, url } = await listen(httpServer, config.port, config.host);
    const metricsUrl = `${(await listen(metricsServer, config.metricsPort, config.metricsHost)).url}${METRICS_PATH}`;
    logger.info({ url: `${url}/graphql`, metrics: metricsUrl }, 'jobgate listening');
    return { url, port, metricsUrl, databaseUrl, services };
  }

  async function shutdown(): Promise<void> {
    metricsServer?.close();
    metricsServer?.closeAllConnections();
    const deadline = Date.now() + config.shutdownGraceSeconds * 1000;
    const server = httpServer;
    if (server) {
      stopTokenWatch?.();
      // A request that still arrives on a kept-alive connection is served, but
      // its connection closes after the response: otherwise busy clients keep
      // reusing their connections and the stop always waits out the grace period,
      // then cuts whatever is in flight.
      server.prependListener('request', (_req, res) => {
        res.shouldKeepAlive = false;
      });
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // The drain: nothing new is pushed, and workers settle what they hold, within the grace;
      // what is left then goes back without using a retry, and the sockets close (1001).
      dispatcher?.drain();
      await dispatcher?.heldSettled(deadline - Date.now());
      await dispatcher?.putBackHeld();
      // The last settlements' answers go out before the close, as long as the grace allows.
      await sockets?.close(Math.max(LAST_ANSWERS_MS, deadline - Date.now()));
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), Math.max(1_000, deadline - Date.now()));
      await closed;
      clearTimeout(grace);
    }
    clearInterval(leaseSweeper);
    eventRetention?.stop();
    await dispatcher?.stop();
    // Whatever is still held now, survivors take back at once.
    await liveness?.stop();
    feed?.stop();
    eventLoopLoad.stop();
    await events?.stop();
    await boss?.stop({ graceful: true, timeout: config.shutdownGraceSeconds * 1000 });
    await Promise.all([pool?.end(), claimPool?.end()]);
    await prisma?.$disconnect();
    await embedded?.stop();
    logger.info('jobgate stopped');
  }

  return {
    start,
    stop: () => (stopping ??= shutdown()),
  };
}
