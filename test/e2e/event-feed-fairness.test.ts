/**
 * The event feed hands every tenant's events on in turns: one tenant's flood
 * delays another tenant's event by a slice, not by the flood, and a tenant
 * whose events pile up past what the feed holds for it gets the rest from the
 * log, every one once, in order.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import type { LoggedJobEvent } from '../../src/events/event-log.ts';
import { comparePositions } from '../../src/events/event-position.ts';
import { gqlData } from '../support/clients.ts';
import { createTestTenant, startGateway, type TestGateway, type TestTenant } from '../support/gateway.ts';
import { sleep } from '../support/subscriptions.ts';

const CREATE_QUEUE = 'mutation($name: String!) { createQueue(name: $name) { name } }';
/** More than the feed holds for one tenant (5,000), so the rest of the flood comes from the log. */
const FLOOD = 12_000;

/** A listener as slow as a subscriber that costs `ms` of CPU per event. */
function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('event feed fairness between tenants', () => {
  let gateway: TestGateway;
  let flooder: TestTenant;
  let neighbour: TestTenant;
  let writer: pg.Client;

  beforeAll(async () => {
    gateway = await startGateway();
    flooder = await createTestTenant(gateway);
    neighbour = await createTestTenant(gateway);
    for (const tenant of [flooder, neighbour]) await gqlData(gateway.graphqlUrl, tenant.token, CREATE_QUEUE, { name: 'q' });
    writer = new pg.Client({ connectionString: gateway.databaseUrl });
    await writer.connect();
  });

  afterAll(async () => {
    await writer.end();
    await gateway.stop();
  });

  it("delivers a neighbour's event during a flood, and every flooded event once, in order", async () => {
    const { feed } = gateway.services.eventSources;
    const flooded: LoggedJobEvent[] = [];
    let floodedWhenNeighbourArrived: number | null = null;
    const fromFlooder = await feed.subscribeTenant(flooder.tenant.id, (event) => {
      flooded.push(event);
      busyFor(0.2);
    });
    const fromNeighbour = await feed.subscribeTenant(neighbour.tenant.id, () => {
      floodedWhenNeighbourArrived ??= flooded.length;
    });
    try {
      // One statement: FLOOD events of one transaction, read by the feed in pages before the neighbour's.
      await writer.query("INSERT INTO pgboss.job (name, data) SELECT $1, '{}' FROM generate_series(1, $2::int)", [`${flooder.tenant.id}/q`, FLOOD]);
      await writer.query("INSERT INTO pgboss.job (name, data) VALUES ($1, '{}')", [`${neighbour.tenant.id}/q`]);
      // Resolves only once every event committed before it has been handed on, those read back from the log too.
      await feed.caughtUp();
      expect(flooded.length).toBe(FLOOD);
      expect(floodedWhenNeighbourArrived).not.toBeNull();
      // Handed on in turns: at 0.2 ms an event, the whole flood would have taken 2.4 s first.
      expect(floodedWhenNeighbourArrived!).toBeLessThan(FLOOD / 2);
      for (let n = 1; n < flooded.length; n++) expect(comparePositions(flooded[n - 1]!.position, flooded[n]!.position)).toBeLessThan(0);
      expect(new Set(flooded.map((event) => event.jobId)).size).toBe(FLOOD);
      expect(flooded.every((event) => event.type === 'CREATED')).toBe(true);
    } finally {
      fromFlooder.unsubscribe();
      fromNeighbour.unsubscribe();
    }
  });

  it('keeps handing on live events after the flood, with nothing held back', async () => {
    const { feed } = gateway.services.eventSources;
    const seen: LoggedJobEvent[] = [];
    const subscription = await feed.subscribeTenant(flooder.tenant.id, (event) => {
      seen.push(event);
      busyFor(0.2);
    });
    try {
      await writer.query("INSERT INTO pgboss.job (name, data) SELECT $1, '{}' FROM generate_series(1, $2::int)", [`${flooder.tenant.id}/q`, FLOOD]);
      for (let n = 0; n < 5; n++) {
        await writer.query("INSERT INTO pgboss.job (name, data) VALUES ($1, '{}')", [`${flooder.tenant.id}/q`]);
        await sleep(20);
      }
      await feed.caughtUp();
      expect(seen.length).toBe(FLOOD + 5);
      expect(new Set(seen.map((event) => event.position.seq)).size).toBe(FLOOD + 5);
      for (let n = 1; n < seen.length; n++) expect(comparePositions(seen[n - 1]!.position, seen[n]!.position)).toBeLessThan(0);
    } finally {
      subscription.unsubscribe();
    }
  });
});
