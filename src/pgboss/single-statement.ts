import type pg from 'pg';
import type { Db } from 'pg-boss';

type QueryResult = pg.QueryResult<Record<string, unknown>>;

/** Raised when a pg-boss call that runs one statement (complete, fail, send) runs a second. */
export class SecondStatement extends Error {
  constructor() {
    super('pg-boss ran a second statement where it runs one');
  }
}

/**
 * An executor for a pg-boss call known to run exactly one statement, so that
 * statement can travel in one message with the gateway's own (the one-trip
 * settlement): `run` gets it; a second one is refused rather than run outside
 * the caller's transaction. `ran` says whether the call reached its statement.
 */
export function singleStatementDb(run: (text: string, values: unknown[]) => Promise<QueryResult>): { db: Db; ran: () => boolean } {
  let sent = false;
  return {
    db: {
      executeSql: async (text, values) => {
        if (sent) throw new SecondStatement();
        sent = true;
        return run(text, values ?? []);
      },
    },
    ran: () => sent,
  };
}
