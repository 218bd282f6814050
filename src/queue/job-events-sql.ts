/** The NOTIFY channel every gateway LISTENs on. */
export const JOB_EVENTS_CHANNEL = 'jobgate_job_events';

const quote = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

/**
 * A row trigger on pg-boss's job table (cloned onto every partition, present
 * and future) that NOTIFYs one small tab-separated line per state change:
 * `op, state, queue name, job id, retry count`, never job data. Notifications
 * are delivered at commit, in commit order. pg-boss fails and retries a job by
 * deleting and re-inserting its row in one statement, so a delete only counts
 * as a deletion when the row is gone at the end of the statement.
 */
export function jobEventsInstallSql(bossSchema: string): string {
  const job = `${quote(bossSchema)}.job`;
  return `
    SELECT pg_advisory_xact_lock(hashtext('jobgate:job-events'));
    CREATE SCHEMA IF NOT EXISTS jobgate;
    CREATE OR REPLACE FUNCTION jobgate.notify_job_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('${JOB_EVENTS_CHANNEL}', concat_ws(E'\\t', 'I', NEW.state, NEW.name, NEW.id, NEW.retry_count));
      ELSIF TG_OP = 'UPDATE' THEN
        IF NEW.state IS DISTINCT FROM OLD.state THEN
          PERFORM pg_notify('${JOB_EVENTS_CHANNEL}', concat_ws(E'\\t', 'U', NEW.state, NEW.name, NEW.id, NEW.retry_count));
        END IF;
      ELSIF NOT EXISTS (SELECT 1 FROM ${job} j WHERE j.name = OLD.name AND j.id = OLD.id) THEN
        PERFORM pg_notify('${JOB_EVENTS_CHANNEL}', concat_ws(E'\\t', 'D', OLD.state, OLD.name, OLD.id, OLD.retry_count));
      END IF;
      RETURN NULL;
    END
    $fn$;
    CREATE OR REPLACE TRIGGER jobgate_job_events
      AFTER INSERT OR DELETE OR UPDATE OF state ON ${job}
      FOR EACH ROW EXECUTE FUNCTION jobgate.notify_job_change();
  `;
}
