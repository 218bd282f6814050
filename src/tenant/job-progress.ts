import type { Db } from 'pg-boss';
import type { QuotedIdentifier } from '../sql/identifiers.ts';
import { runPlan, rowsOf } from '../sql/plan.ts';
import { purgeOrphanedProgress as purgeOrphanedProgressSql, readProgress as readProgressPlan } from '../sql/progress.ts';

export async function readProgress(db: Db, qualified: string, id: string): Promise<unknown> {
  const [row] = await rowsOf<{ progress: unknown }>(db, readProgressPlan(qualified, id));
  return row?.progress ?? null;
}

/** Drops the progress of jobs pg-boss no longer keeps. */
export async function purgeOrphanedProgress(db: Db, schema: QuotedIdentifier): Promise<number> {
  const { rowCount } = (await runPlan(db, { text: purgeOrphanedProgressSql(schema), values: [] })) as { rowCount?: number | null };
  return rowCount ?? 0;
}
