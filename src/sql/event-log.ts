/** What a read of the job-event log returns per event, as text: ORDER BY names the table's own columns. */
const COLUMNS = 'tx::text AS tx, seq::text AS seq, at, op, state, queue, job_id::text AS job_id, retry_count, progress::text AS progress';

const EVENT_COLUMNS =
  'e.tx::text AS tx, e.seq::text AS seq, e.at, e.op, e.state, e.queue, e.job_id::text AS job_id, e.retry_count, e.progress::text AS progress';

/**
 * The next page of every tenant's events after a position ($1 tx, $2 seq), in
 * position order, up to the high-water mark (`horizon`, the oldest running
 * transaction: no event can still appear below it); $3 the page size. One row
 * with a null `seq` when there is nothing to read: the horizon still comes back.
 */
export const READ_FEED_SQL = `WITH h AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS horizon)
  SELECT h.horizon::text AS horizon, ${EVENT_COLUMNS} FROM h LEFT JOIN LATERAL (
    SELECT * FROM job_event
     WHERE (tx, seq) > ($1::bigint, $2::bigint) AND tx < h.horizon
     ORDER BY job_event.tx, job_event.seq
     LIMIT $3) e ON true
  ORDER BY e.tx, e.seq`;

/**
 * A page of events after a position ($1 tx, $2 seq), in position order, up to
 * and including $7 tx, $8 seq, or, when $7 is null, up to the high-water mark.
 * Filters, each null for any: $3 a queue-name prefix (`<tenant>/`), $4 a
 * qualified queue, $5 a job id; $6 the page size. The newest position retention
 * has dropped (`floor_tx`, `floor_seq`) comes with it, read in the same snapshot:
 * below it, events may be gone. One row with a null `seq` when there is no event.
 * (The floor's LIMIT keeps the planner's row estimate at one: a table it has no
 * statistics of is guessed at ~1,800 rows, the cost passes jit_above_cost, and
 * compiling took 100 times what the page costs.)
 */
export const READ_EVENTS_SQL = `SELECT f.tx::text AS floor_tx, f.seq::text AS floor_seq, ${EVENT_COLUMNS} FROM (SELECT tx, seq FROM job_event_floor LIMIT 1) f LEFT JOIN LATERAL (
    SELECT * FROM job_event
     WHERE (tx, seq) > ($1::bigint, $2::bigint)
       AND ($7::bigint IS NULL OR (tx, seq) <= ($7::bigint, $8::bigint))
       AND ($7::bigint IS NOT NULL OR tx < pg_snapshot_xmin(pg_current_snapshot())::text::bigint)
       AND ($3::text IS NULL OR starts_with(queue, $3::text))
       AND ($4::text IS NULL OR queue = $4::text)
       AND ($5::uuid IS NULL OR job_id = $5::uuid)
     ORDER BY job_event.tx, job_event.seq
     LIMIT $6) e ON true
  ORDER BY e.tx, e.seq`;

/** The high-water mark now: every event of a transaction below `horizon` has been committed (or never will be). */
export const HIGH_WATER_SQL = 'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon';

/** The transactions a snapshot taken now does not see start at `xmax`: every event already committed sits below it. */
export const CURRENT_XMAX_SQL = 'SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xmax';

/**
 * Events committed in snapshot $2 but not in snapshot $1 (both `pg_snapshot`
 * text), after a position ($3 tx, $4 seq), in position order; $5 the page size.
 * No such event sits below the older snapshot's oldest running transaction.
 */
export const READ_EVENTS_BETWEEN_SQL = `SELECT ${COLUMNS} FROM job_event
  WHERE tx >= pg_snapshot_xmin($1::pg_snapshot)::text::bigint
    AND (tx, seq) > ($3::bigint, $4::bigint)
    AND pg_visible_in_snapshot(xid, $2::pg_snapshot)
    AND NOT pg_visible_in_snapshot(xid, $1::pg_snapshot)
  ORDER BY job_event.tx, job_event.seq
  LIMIT $5`;

export const CURRENT_SNAPSHOT_SQL = 'SELECT pg_current_snapshot()::text AS snapshot';

/** The schema the log table resolves to (the gateway's own), quoted; null before its migration. */
export const EVENT_LOG_SCHEMA_SQL = `SELECT n.nspname AS schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass('job_event')`;

/**
 * The retention of the log, as a function the gateway calls (every instance, one
 * at a time): creates the day partitions from `at_time`'s day to two days ahead
 * (UTC), drops those whose day ended `retention` before `at_time`, and empties
 * the default partition once all it caught is that old, raising the log's floor
 * (`job_event_floor`) to the newest position it drops. A day whose rows already
 * sit in the default partition (no instance ran then) is not created.
 */
export function eventLogRetentionInstallSql(logSchema: string): string {
  const schema = logSchema.replaceAll("'", "''");
  return `
    -- What is dropped is gone for a cursor below it: the floor only rises.
    CREATE OR REPLACE FUNCTION jobgate.raise_job_event_floor(last_tx bigint, last_seq bigint) RETURNS void
    LANGUAGE plpgsql AS $fn$
    BEGIN
      IF last_tx IS NOT NULL THEN
        EXECUTE format('UPDATE %I.job_event_floor SET tx = $1, seq = $2 WHERE (tx, seq) < ($1, $2)', '${schema}') USING last_tx, last_seq;
      END IF;
    END
    $fn$;

    CREATE OR REPLACE FUNCTION jobgate.keep_job_event_partitions(at_time timestamptz, retention interval, OUT created int, OUT dropped int)
    LANGUAGE plpgsql AS $fn$
    DECLARE
      log_schema constant text := '${schema}';
      today constant date := (at_time AT TIME ZONE 'UTC')::date;
      day date;
      part text;
      newest timestamptz;
      last_tx bigint;
      last_seq bigint;
    BEGIN
      created := 0;
      dropped := 0;
      FOR day IN SELECT d::date FROM generate_series(today, today + 2, interval '1 day') AS d LOOP
        part := 'job_event_' || to_char(day, 'YYYYMMDD');
        CONTINUE WHEN to_regclass(format('%I.%I', log_schema, part)) IS NOT NULL;
        BEGIN
          EXECUTE format('CREATE TABLE %I.%I (LIKE %I.job_event)', log_schema, part, log_schema);
          -- ATTACH, not CREATE ... PARTITION OF: it does not lock out the writers of the log.
          EXECUTE format('ALTER TABLE %I.job_event ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
            log_schema, log_schema, part, day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
          created := created + 1;
        EXCEPTION WHEN check_violation THEN
          NULL;
        END;
      END LOOP;
      FOR part IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = format('%I.job_event', log_schema)::regclass
           AND c.relname ~ '^job_event_[0-9]{8}$'
           AND (to_date(substr(c.relname, 11), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC' <= at_time - retention
         ORDER BY c.relname
      LOOP
        EXECUTE format('SELECT tx, seq FROM %I.%I ORDER BY tx DESC, seq DESC LIMIT 1', log_schema, part) INTO last_tx, last_seq;
        PERFORM jobgate.raise_job_event_floor(last_tx, last_seq);
        EXECUTE format('DROP TABLE %I.%I', log_schema, part);
        dropped := dropped + 1;
      END LOOP;
      EXECUTE format('SELECT max(at) FROM %I.job_event_default', log_schema) INTO newest;
      IF newest <= at_time - retention THEN
        EXECUTE format('SELECT tx, seq FROM %I.job_event_default ORDER BY tx DESC, seq DESC LIMIT 1', log_schema) INTO last_tx, last_seq;
        PERFORM jobgate.raise_job_event_floor(last_tx, last_seq);
        EXECUTE format('TRUNCATE %I.job_event_default', log_schema);
      END IF;
    END
    $fn$;
  `;
}

/** Taken inside the retention's transaction: false while another instance is at it. */
export const RETENTION_LOCK_SQL = "SELECT pg_try_advisory_xact_lock(hashtext('jobgate:job-event-retention')) AS mine";

/** $1 the time, $2 retention in hours. */
export const KEEP_PARTITIONS_SQL = 'SELECT created, dropped FROM jobgate.keep_job_event_partitions($1::timestamptz, make_interval(hours => $2::int))';
