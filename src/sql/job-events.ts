import { quoteIdentifier } from './identifiers.ts';

/** The NOTIFY channel every gateway LISTENs on. */
export const JOB_EVENTS_CHANNEL = 'jobgate_job_events';

/** PostgreSQL refuses NOTIFY payloads of this many bytes or more. */
const PAYLOAD_LIMIT_BYTES = 8_000;
/** Below the payload limit, with room for the line that crosses it. */
const CHUNK_BYTES = 6_000;
/** Longer lines cannot belong to a tenant queue (its name is at most 137 characters). */
const MAX_LINE_BYTES = 1_000;

/** What pg-boss's update() may change on a waiting job: a change of any of them is an `M` line. */
const EDITABLE_COLUMNS = [
  'data',
  'priority',
  'start_after',
  'retry_limit',
  'retry_delay',
  'retry_backoff',
  'retry_delay_max',
  'expire_seconds',
  'deletion_seconds',
  'dead_letter',
  'heartbeat_seconds',
  'group_id',
  'group_tier',
];

/**
 * Job state changes become NOTIFY payloads of tab-separated lines, one per
 * change: `op, state, queue name, job id, retry count, progress, tx, seq`,
 * never job data (progress is empty but for a progress report, op P; `tx, seq`
 * is the event's position in the job-event log). Two updates that keep the
 * state count as well: a flow's job released by its last parent (`R`, pg-boss
 * clears `blocked`) and an edit of a waiting job (`M`, pg-boss's update: data,
 * priority, start time, retry settings …). A statement's lines share one
 * payload when they fit under PostgreSQL's limit, and are cut into payloads of
 * about 6,000 bytes otherwise. Notifications are delivered at commit, in
 * commit order.
 *
 * The same trigger writes each change to the job-event log (`logTable`), in
 * one INSERT per statement: the NOTIFY is the fast path, the log the durable
 * one, read after a position (docs/architecture.md says why positions leave
 * no gaps).
 *
 * Statement-level triggers with transition tables send one notification per
 * statement (or per chunk), not one per row: a claim of 60 jobs costs one
 * NOTIFY instead of 60. They sit on the parent table (statements that name
 * it) and on every partition (statements that name a partition, as most of
 * pg-boss's do). A row trigger on the parent, cloned by PostgreSQL onto every
 * partition, covers partitions created since the last adoption; it is
 * disabled on the partitions that got the statement triggers.
 *
 * pg-boss fails and retries a job by deleting and re-inserting its row in one
 * statement, so a delete only counts when the row is gone at the end of the
 * statement.
 */
export function jobEventsInstallSql(bossSchema: string, logSchema: string): string {
  const job = `${quoteIdentifier(bossSchema)}.job`;
  const log = `${quoteIdentifier(logSchema)}.job_event`;
  const sequence = `'${quoteIdentifier(logSchema).replaceAll("'", "''")}.job_event_seq'`;
  const columns = 'tx, seq, xid, at, op, state, queue, job_id, retry_count';
  // Evaluated once per statement (an init plan), and only when a row is logged: a statement that
  // changed nothing gets no transaction id forced on it.
  const logged = (op: string, row: string) =>
    `(SELECT jobgate.job_event_tx()), nextval(${sequence}), pg_current_xact_id(), statement_timestamp(), ${op}, ${row}.state, ${row}.name, ${row}.id, ${row}.retry_count`;
  const line = (row: string) => `concat_ws(E'\\t', ${row}.op, ${row}.state, ${row}.queue, ${row}.job_id, ${row}.retry_count, '', ${row}.tx, ${row}.seq)`;
  const logAndNotify = (select: string) => `
      WITH logged AS (INSERT INTO ${log} (${columns}) ${select} RETURNING *)
      SELECT array_agg(${line('l')} ORDER BY l.seq) INTO lines FROM logged l;
      PERFORM jobgate.notify_job_lines(lines);`;
  const edited = (n: string, o: string) =>
    `(${n}.state IN ('created', 'retry') AND (${EDITABLE_COLUMNS.map((c) => `${n}.${c}`).join(', ')}) IS DISTINCT FROM (${EDITABLE_COLUMNS.map((c) => `${o}.${c}`).join(', ')}))`;
  const updateOp = (n: string, o: string) =>
    `CASE WHEN ${n}.state IS DISTINCT FROM ${o}.state THEN 'U' WHEN ${o}.blocked AND NOT ${n}.blocked THEN 'R' ELSE 'M' END`;
  const updated = (n: string, o: string) => `${n}.state IS DISTINCT FROM ${o}.state OR (${o}.blocked AND NOT ${n}.blocked) OR ${edited(n, o)}`;
  const logRow = (op: string, row: string) => `
        INSERT INTO ${log} (${columns}) SELECT ${logged(op, row)} RETURNING * INTO entry;
        PERFORM pg_notify('${JOB_EVENTS_CHANNEL}', ${line('entry')});`;
  return `
    SELECT pg_advisory_xact_lock(hashtext('jobgate:job-events'));
    CREATE SCHEMA IF NOT EXISTS jobgate;

    -- The first part of an event's position: never below the writing transaction's id (so a reader
    -- that stops below the oldest running transaction sees every event it will ever see there), and
    -- never below the latest transaction that completed before it (so an event that waited for
    -- another one's commit, on the same job, comes after it).
    CREATE OR REPLACE FUNCTION jobgate.job_event_tx() RETURNS bigint LANGUAGE sql VOLATILE AS $fn$
      SELECT greatest(pg_current_xact_id()::text::bigint, pg_snapshot_xmax(pg_current_snapshot())::text::bigint - 1)
    $fn$;

    CREATE OR REPLACE FUNCTION jobgate.notify_job_lines(lines text[]) RETURNS void LANGUAGE plpgsql AS $fn$
    DECLARE
      chunk text;
      payload text;
    BEGIN
      IF lines IS NULL OR cardinality(lines) = 0 THEN
        RETURN;
      END IF;
      -- The usual statement (a claim or a settlement of up to ~80 jobs) fits in one payload.
      payload := array_to_string(lines, E'\\n');
      IF octet_length(payload) < ${PAYLOAD_LIMIT_BYTES} THEN
        PERFORM pg_notify('${JOB_EVENTS_CHANNEL}', payload);
        RETURN;
      END IF;
      FOR chunk IN
        SELECT string_agg(line, E'\\n' ORDER BY n)
          FROM (SELECT line, n, sum(octet_length(line) + 1) OVER (ORDER BY n) / ${CHUNK_BYTES} AS part
                  FROM unnest(lines) WITH ORDINALITY AS l(line, n)
                 WHERE octet_length(line) < ${MAX_LINE_BYTES}) parted
         GROUP BY part
         ORDER BY part
      LOOP
        PERFORM pg_notify('${JOB_EVENTS_CHANNEL}', chunk);
      END LOOP;
    END
    $fn$;

    CREATE OR REPLACE FUNCTION jobgate.notify_job_inserts() RETURNS trigger LANGUAGE plpgsql AS $fn$
    DECLARE
      lines text[];
    BEGIN${logAndNotify(`SELECT ${logged("'I'", 'n')} FROM new_rows n`)}
      RETURN NULL;
    END
    $fn$;

    CREATE OR REPLACE FUNCTION jobgate.notify_job_updates() RETURNS trigger LANGUAGE plpgsql AS $fn$
    DECLARE
      lines text[];
    BEGIN${logAndNotify(`SELECT ${logged(updateOp('n', 'o'), 'n')} FROM new_rows n JOIN old_rows o ON o.name = n.name AND o.id = n.id
         WHERE ${updated('n', 'o')}`)}
      RETURN NULL;
    END
    $fn$;

    CREATE OR REPLACE FUNCTION jobgate.notify_job_deletes() RETURNS trigger LANGUAGE plpgsql AS $fn$
    DECLARE
      lines text[];
    BEGIN${logAndNotify(`SELECT ${logged("'D'", 'o')} FROM old_rows o
         WHERE NOT EXISTS (SELECT 1 FROM ${job} j WHERE j.name = o.name AND j.id = o.id)`)}
      RETURN NULL;
    END
    $fn$;

    -- The fallback for partitions not adopted yet: one NOTIFY per row.
    CREATE OR REPLACE FUNCTION jobgate.notify_job_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
    DECLARE
      entry ${log};
    BEGIN
      IF TG_OP = 'INSERT' THEN${logRow("'I'", 'NEW')}
      ELSIF TG_OP = 'UPDATE' THEN
        IF ${updated('NEW', 'OLD')} THEN${logRow(updateOp('NEW', 'OLD'), 'NEW')}
        END IF;
      ELSIF NOT EXISTS (SELECT 1 FROM ${job} j WHERE j.name = OLD.name AND j.id = OLD.id) THEN${logRow("'D'", 'OLD')}
      END IF;
      RETURN NULL;
    END
    $fn$;
    CREATE OR REPLACE TRIGGER jobgate_job_events
      AFTER INSERT OR DELETE OR UPDATE OF state, blocked, ${EDITABLE_COLUMNS.join(', ')} ON ${job}
      FOR EACH ROW EXECUTE FUNCTION jobgate.notify_job_change();

    -- Gives a table (the parent or a partition) the statement triggers, and a partition's clone of
    -- the row trigger is switched off. Idempotent; returns how many tables it changed.
    CREATE OR REPLACE FUNCTION jobgate.adopt_job_tables() RETURNS int LANGUAGE plpgsql AS $fn$
    DECLARE
      target regclass;
      adopted int := 0;
    BEGIN
      PERFORM pg_advisory_xact_lock(hashtext('jobgate:job-events'));
      FOR target IN
        SELECT '${job}'::regclass
        UNION ALL
        SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = '${job}'::regclass
      LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = target AND tgname = 'jobgate_job_inserts')
          AND (target = '${job}'::regclass
               OR NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = target AND tgname = 'jobgate_job_events' AND tgenabled <> 'D'));
        EXECUTE format('CREATE OR REPLACE TRIGGER jobgate_job_inserts AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION jobgate.notify_job_inserts()', target);
        EXECUTE format('CREATE OR REPLACE TRIGGER jobgate_job_updates AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION jobgate.notify_job_updates()', target);
        EXECUTE format('CREATE OR REPLACE TRIGGER jobgate_job_deletes AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION jobgate.notify_job_deletes()', target);
        IF target <> '${job}'::regclass THEN
          EXECUTE format('ALTER TABLE %s DISABLE TRIGGER jobgate_job_events', target);
        END IF;
        adopted := adopted + 1;
      END LOOP;
      RETURN adopted;
    END
    $fn$;
    SELECT jobgate.adopt_job_tables();
  `;
}

/** Adopts partitions created since the last install (pg-boss queues with `partition: true`). */
export const ADOPT_JOB_TABLES_SQL = 'SELECT jobgate.adopt_job_tables() AS adopted';
