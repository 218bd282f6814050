import type { Db } from 'pg-boss';

/** A statement and its parameters, as the plans in this folder build them. */
export interface SqlPlan {
  readonly text: string;
  readonly values: unknown[];
}

/** Runs `plan` on a pg-boss executor (prepared once per connection where that executor prepares). */
export const runPlan = (db: Db, plan: SqlPlan) => db.executeSql(plan.text, plan.values);

/** The rows of `plan` run on `db`, as the plan's caller knows them to be. */
export const rowsOf = async <T>(db: Db, plan: SqlPlan): Promise<T[]> => (await runPlan(db, plan)).rows as T[];
