import { afterAll, beforeAll } from '@jest/globals';
import pg from 'pg';
import type { PgBoss } from 'pg-boss';
import { EventLogRetention } from '../../src/events/event-log-retention.ts';
import { createLogger } from '../../src/logger.ts';
import { createDatabase, dropDatabase } from './database.ts';
import { createTestTenant, startGateway, type TestGateway, type TestTenant } from './gateway.ts';
import { outsideBoss } from './jobs.ts';

export interface TwoInstances {
  /** Two gateway instances on the run's database. */
  gateway: TestGateway;
  other: TestGateway;
  tenant: TestTenant;
  /** Another tenant, for cursors and events that must stay out of reach. */
  stranger: TestTenant;
  /** A plain pg-boss worker on the same database. */
  boss: PgBoss;
}

/** Two instances, two tenants and an outside pg-boss for the enclosing block; filled in before its tests. */
export function useTwoInstances(options: { bossConnections?: number } = {}): TwoInstances {
  const fixture = {} as TwoInstances;
  beforeAll(async () => {
    const [gateway, other] = await Promise.all([startGateway(), startGateway()]);
    const boss = outsideBoss({ max: options.bossConnections, onError: (error) => console.error('test pg-boss error', error) });
    await boss.start();
    Object.assign(fixture, { gateway, other, boss, tenant: await createTestTenant(gateway), stranger: await createTestTenant(gateway) });
  }, 60_000);
  afterAll(async () => {
    await fixture.boss?.stop({ graceful: false });
    await Promise.all([fixture.gateway?.stop(), fixture.other?.stop()]);
  });
  return fixture;
}

export interface RetentionGateway {
  databaseUrl: string;
  gateway: TestGateway;
  tenant: TestTenant;
  /** Runs the event log's retention as if it were `days` later, and says how many partitions it dropped. */
  retainAsIfLater(days: number): Promise<number>;
}

/** A gateway keeping events for an hour, on a database of its own: retention moves the clock days ahead. */
export function useRetentionGateway(): RetentionGateway {
  const fixture = {} as RetentionGateway;
  let database: { name: string; url: string } | undefined;
  beforeAll(async () => {
    database = await createDatabase();
    const gateway = await startGateway({ databaseUrl: database.url, migrateOnStart: true, eventRetentionHours: 1 });
    const url = database.url;
    Object.assign(fixture, {
      databaseUrl: url,
      gateway,
      tenant: await createTestTenant(gateway),
      async retainAsIfLater(days: number) {
        const pool = new pg.Pool({ connectionString: url, max: 1 });
        try {
          return (await new EventLogRetention(pool, 1, createLogger('silent')).run(new Date(Date.now() + days * 86_400_000))).dropped;
        } finally {
          await pool.end();
        }
      },
    });
  }, 60_000);
  afterAll(async () => {
    await fixture.gateway?.stop();
    if (database) await dropDatabase(database.name);
  });
  return fixture;
}
