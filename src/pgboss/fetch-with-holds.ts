/**
 * pg-boss's fetch, as the text it runs, wrapped so that the same statement
 * also records what it fetched: `recordHolds` gets a SELECT of
 * `(job_id, retry_count, n)`, n numbering the rows in the order the fetch
 * returns them, and returns a data-modifying statement over it. Relies on the
 * fetch returning the columns "id" and "retryCount" (pinned by
 * test/contract/pg-boss.test.ts); should they change, the statement fails and
 * the caller's general path runs instead. Never prepared, like pg-boss's fetch:
 * a plan cached while a queue's table was small goes on scanning it when it is not.
 */
export function fetchWithHolds(fetch: string, recordHolds: (numbered: string) => string): string {
  return `WITH fetched AS (${fetch}),
  numbered AS (SELECT id AS job_id, "retryCount" AS retry_count, row_number() OVER () AS n FROM fetched),
  recorded AS (${recordHolds('SELECT job_id, retry_count, n FROM numbered')})
  SELECT fetched.* FROM fetched JOIN numbered ON numbered.job_id = fetched.id ORDER BY numbered.n`;
}
