import { PgBoss, type ConstructorOptions } from 'pg-boss';

/** A pg-boss instance in the bench process: the raw side of every comparison. */
export async function startRawBoss(databaseUrl: string, schema: string, extra: Partial<ConstructorOptions> = {}): Promise<PgBoss> {
  const boss = new PgBoss({ connectionString: databaseUrl, schema, application_name: 'bench-raw', max: 10, ...extra });
  boss.on('error', (error) => console.error('raw pg-boss error:', error));
  await boss.start();
  return boss;
}

export async function stopRawBoss(boss: PgBoss): Promise<void> {
  await boss.stop({ graceful: true, timeout: 5_000 });
}
