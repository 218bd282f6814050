import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The gateway's Prometheus metrics, in a registry of its own (several
 * gateways may share a process in tests). Tenant ids label per-tenant series;
 * job data and tokens never appear. Every label takes its values from a
 * closed set (or from tenants and their queues): never from a URL, a header,
 * a variable or an operation name, which any client can vary without end.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly connections = new Gauge({ name: 'jobgate_ws_connections', help: 'Open graphql-ws connections', labelNames: ['tenant'], registers: [this.registry] });
  readonly subscriptions = new Gauge({
    name: 'jobgate_subscriptions',
    help: 'Active subscriptions',
    labelNames: ['tenant', 'field'],
    registers: [this.registry],
  });
  readonly subscriptionStreams = new Gauge({
    name: 'jobgate_subscription_streams',
    help: 'Executions serving jobEvents subscriptions; subscribers with the same scopes, document and variables share one',
    labelNames: ['tenant'],
    registers: [this.registry],
  });
  readonly operations = new Counter({
    name: 'jobgate_operations_total',
    help: 'GraphQL operations by tenant, type and root field',
    labelNames: ['tenant', 'type', 'field'],
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'jobgate_errors_total',
    help: 'GraphQL errors by tenant and code',
    labelNames: ['tenant', 'code'],
    registers: [this.registry],
  });
  readonly jobsSent = new Counter({
    name: 'jobgate_jobs_sent_total',
    help: 'Jobs created through the gateway',
    labelNames: ['tenant', 'queue'],
    registers: [this.registry],
  });
  readonly jobsSettled = new Counter({
    name: 'jobgate_jobs_settled_total',
    help: 'Jobs completed or failed through the gateway',
    labelNames: ['tenant', 'queue', 'outcome'],
    registers: [this.registry],
  });
  readonly dispatchLatency = new Histogram({
    name: 'jobgate_dispatch_latency_seconds',
    help: 'From a job becoming ready to its push to a worker',
    labelNames: ['tenant'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly httpRequests = new Histogram({
    name: 'jobgate_http_request_duration_seconds',
    help: 'HTTP requests by route, method and status class, from arrival to the end of the response',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  readonly unauthenticatedConnections = new Gauge({
    name: 'jobgate_unauthenticated_connections',
    help: 'Open HTTP connections that have not carried a valid token (yet)',
    registers: [this.registry],
  });
  readonly unauthenticatedDropped = new Counter({
    name: 'jobgate_unauthenticated_connections_dropped_total',
    help: 'Connections without a valid token closed to make room for new ones',
    registers: [this.registry],
  });
  /** Read when scraped: set by the app once the LISTEN connection exists. */
  listenProbe: () => boolean = () => false;
  readonly listenConnected: Gauge;
  readonly slowConsumers = new Counter({
    name: 'jobgate_slow_consumer_disconnects_total',
    help: 'Connections closed for not reading, by the bound they passed (events held, bytes waiting)',
    labelNames: ['tenant', 'limit'],
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'jobgate_rate_limited_total',
    help: 'Refusals by per-tenant limits',
    labelNames: ['tenant', 'limit'],
    registers: [this.registry],
  });

  constructor() {
    const probe = () => this.listenProbe();
    this.listenConnected = new Gauge({
      name: 'jobgate_listen_connected',
      help: '1 while the LISTEN connection for job events and control messages is up',
      registers: [this.registry],
      collect() {
        this.set(probe() ? 1 : 0);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'jobgate_process_' });
  }
}
