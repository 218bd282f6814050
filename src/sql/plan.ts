import type { Db } from 'pg-boss';

/** A statement and its parameters, as the plans in this folder build them. */
export interface SqlPlan {
  readonly text: string;
  readonly values: unknown[];
}

/** Runs `plan` on a pg-boss executor (prepared once per connection where that executor prepares). */
export const runPlan = (db: Db, plan: SqlPlan) => db.executeSql(plan.text, plan.values);
