import { useEffect, useId, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { errorMessage } from '../client.ts';
import { ConfirmButton, ErrorNotice, Loading, Time } from '../components/common.tsx';
import { ShortId } from '../components/ShortId.tsx';
import { formatJson } from '../format.ts';
import { graphql } from '../generated/index.ts';
import { Link } from '../router.tsx';
import { useViewer } from '../viewer.ts';

const SchedulesQuery = graphql(`
  query DashboardSchedules {
    schedules {
      queue
      key
      cron
      timezone
      data
      lastJobId
      updatedOn
    }
    queues {
      name
    }
  }
`);

const ScheduleJob = graphql(`
  mutation DashboardScheduleJob($queue: String!, $cron: String!, $data: JSON, $options: ScheduleOptionsInput) {
    scheduleJob(queue: $queue, cron: $cron, data: $data, options: $options) {
      queue
      key
      cron
      timezone
    }
  }
`);

const PreviewSchedule = graphql(`
  query DashboardPreviewSchedule($cron: String!, $tz: String, $count: Int) {
    previewSchedule(cron: $cron, tz: $tz, count: $count)
  }
`);

/** How long typing pauses before the next run times are asked for. */
const PREVIEW_DELAY_MS = 300;
const PREVIEW_COUNT = 5;

/** The next run times of the cron expression being typed, or why it would be refused. */
function NextRuns({ cron, tz, id }: { cron: string; tz: string; id: string }) {
  const [asked, setAsked] = useState({ cron, tz });
  useEffect(() => {
    const timer = setTimeout(() => setAsked({ cron, tz }), PREVIEW_DELAY_MS);
    return () => clearTimeout(timer);
  }, [cron, tz]);
  const empty = !asked.cron.trim();
  const [{ data, error, fetching }] = useQuery({
    query: PreviewSchedule,
    variables: { cron: asked.cron.trim(), tz: asked.tz.trim() || null, count: PREVIEW_COUNT },
    pause: empty,
  });
  return (
    <div id={id} className="field-wide next-runs" aria-live="polite">
      {empty ? null : error ? (
        <p className="hint">Not a schedule the gateway accepts: {errorMessage(error)}</p>
      ) : data ? (
        <>
          <p className="hint">Next runs{asked.tz.trim() ? ` (${asked.tz.trim()})` : ' (UTC)'}:</p>
          <ol aria-label="Next runs">
            {data.previewSchedule.map((at) => (
              <li key={at}>
                <Time value={at} />{' '}
                <span className="muted">
                  {new Date(at).toLocaleString('en-GB', { timeZone: asked.tz.trim() || 'UTC', dateStyle: 'medium', timeStyle: 'short' })}
                </span>
              </li>
            ))}
          </ol>
        </>
      ) : fetching ? (
        <p className="hint">Working out the next runs…</p>
      ) : null}
    </div>
  );
}

const UnscheduleJob = graphql(`
  mutation DashboardUnscheduleJob($queue: String!, $key: String) {
    unscheduleJob(queue: $queue, key: $key)
  }
`);

export function SchedulesPage() {
  const viewer = useViewer();
  const [{ data, error, fetching }, refetch] = useQuery({ query: SchedulesQuery, requestPolicy: 'cache-and-network' });
  const [, unschedule] = useMutation(UnscheduleJob);
  const [outcome, setOutcome] = useState<{ ok: boolean; message: string } | null>(null);
  useEffect(() => {
    document.title = 'Schedules · Jobgate';
  }, []);

  const remove = async (queue: string, key: string) => {
    setOutcome(null);
    const result = await unschedule({ queue, key });
    if (result.error) setOutcome({ ok: false, message: `Could not remove the schedule: ${errorMessage(result.error)}` });
    else {
      setOutcome({ ok: true, message: `Schedule “${key}” of ${queue} removed.` });
      refetch({ requestPolicy: 'network-only' });
    }
  };

  const schedules = data?.schedules ?? [];
  return (
    <section aria-labelledby="schedules-title">
      <div className="page-head">
        <h1 id="schedules-title">Schedules</h1>
      </div>
      <p className="muted">Cron schedules send a job to their queue at each tick (pg-boss's own scheduler, in the schedule's time zone).</p>
      <ErrorNotice error={error} what="Could not load the schedules" />
      {outcome && (
        <p className={outcome.ok ? 'success' : 'error'} role={outcome.ok ? 'status' : 'alert'}>
          {outcome.message}
        </p>
      )}
      {!data && fetching && <Loading what="schedules" />}
      {data && schedules.length === 0 && <p className="empty">No schedules yet.</p>}
      {schedules.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Cron schedules</caption>
            <thead>
              <tr>
                <th scope="col">Queue</th>
                <th scope="col">Key</th>
                <th scope="col">Cron</th>
                <th scope="col">Time zone</th>
                <th scope="col">Data</th>
                <th scope="col">Last job</th>
                <th scope="col">Updated</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {schedules.map((schedule) => (
                <tr key={`${schedule.queue}\u0000${schedule.key}`}>
                  <td>
                    <Link to={{ name: 'queue', queue: schedule.queue }}>{schedule.queue}</Link>
                  </td>
                  <th scope="row" className="mono">
                    {schedule.key || '(default)'}
                  </th>
                  <td className="mono">{schedule.cron}</td>
                  <td>{schedule.timezone}</td>
                  <td>
                    <code className="clip" title={formatJson(schedule.data)}>
                      {schedule.data === null || schedule.data === undefined ? '—' : JSON.stringify(schedule.data)}
                    </code>
                  </td>
                  <td>
                    {schedule.lastJobId ? (
                      <Link to={{ name: 'job', queue: schedule.queue, id: schedule.lastJobId }} aria-label={`Job ${schedule.lastJobId}`}>
                        <ShortId id={schedule.lastJobId} />
                      </Link>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td>
                    <Time value={schedule.updatedOn} />
                  </td>
                  <td>
                    <ConfirmButton
                      label="Remove"
                      question={`Remove the schedule “${schedule.key || '(default)'}” of ${schedule.queue}?`}
                      consequence={<p>No more jobs are sent by it. Jobs it already sent stay in the queue.</p>}
                      confirmLabel="Yes, remove schedule"
                      danger
                      disabled={!viewer.canPublish}
                      disabledReason="Needs a token with the PUBLISH scope."
                      onConfirm={() => remove(schedule.queue, schedule.key)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ScheduleForm queues={data?.queues.map((q) => q.name) ?? []} onCreated={() => refetch({ requestPolicy: 'network-only' })} />
    </section>
  );
}

function ScheduleForm({ queues, onCreated }: { queues: string[]; onCreated: () => void }) {
  const viewer = useViewer();
  const [, schedule] = useMutation(ScheduleJob);
  const [form, setForm] = useState({ queue: '', cron: '*/5 * * * *', key: '', tz: 'UTC', data: '{}' });
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ids = { queue: useId(), queues: useId(), cron: useId(), cronHint: useId(), key: useId(), tz: useId(), data: useId(), publish: useId(), runs: useId() };
  const set = (field: keyof typeof form) => (event: { target: { value: string } }) => setForm({ ...form, [field]: event.target.value });

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setError(null);
    setDone(null);
    let data: unknown;
    try {
      data = form.data.trim() ? JSON.parse(form.data) : null;
    } catch {
      setError('Data must be JSON, e.g. {"report": "daily"}.');
      return;
    }
    if (!form.queue.trim() || !form.cron.trim()) {
      setError('A queue and a cron expression are needed.');
      return;
    }
    setBusy(true);
    const options = { ...(form.key.trim() ? { key: form.key.trim() } : {}), ...(form.tz.trim() ? { tz: form.tz.trim() } : {}) };
    const result = await schedule({ queue: form.queue.trim(), cron: form.cron.trim(), data, options });
    setBusy(false);
    if (result.error) setError(errorMessage(result.error));
    else {
      setDone(`Scheduled ${result.data?.scheduleJob.queue} at “${result.data?.scheduleJob.cron}” (${result.data?.scheduleJob.timezone}).`);
      onCreated();
    }
  };

  const disabled = !viewer.canPublish;
  return (
    <section aria-labelledby="new-schedule-title" className="panel">
      <h2 id="new-schedule-title">New schedule</h2>
      {disabled && (
        <p id={ids.publish} className="notice">
          Creating and removing schedules needs a token with the PUBLISH scope.
        </p>
      )}
      <form className="form-grid" onSubmit={(event) => void submit(event)} aria-describedby={disabled ? ids.publish : undefined}>
        <fieldset disabled={disabled || busy}>
          <div className="field">
            <label htmlFor={ids.queue}>Queue</label>
            <input id={ids.queue} list={ids.queues} value={form.queue} onChange={set('queue')} required autoComplete="off" />
            <datalist id={ids.queues}>
              {queues.map((name) => (
                <option key={name} value={name} />
              ))}
            </datalist>
          </div>
          <div className="field">
            <label htmlFor={ids.cron}>Cron</label>
            <input id={ids.cron} value={form.cron} onChange={set('cron')} required className="mono" aria-describedby={`${ids.cronHint} ${ids.runs}`} />
            <p id={ids.cronHint} className="hint">
              minute hour day month weekday, e.g. <code>0 3 * * *</code> for 03:00 daily
            </p>
          </div>
          <div className="field">
            <label htmlFor={ids.key}>Key (optional)</label>
            <input id={ids.key} value={form.key} onChange={set('key')} autoComplete="off" />
          </div>
          <div className="field">
            <label htmlFor={ids.tz}>Time zone</label>
            <input id={ids.tz} value={form.tz} onChange={set('tz')} autoComplete="off" />
          </div>
          <NextRuns cron={form.cron} tz={form.tz} id={ids.runs} />
          <div className="field field-wide">
            <label htmlFor={ids.data}>Data (JSON)</label>
            <textarea id={ids.data} value={form.data} onChange={set('data')} rows={3} className="mono" spellCheck={false} />
          </div>
          {error && (
            <p className="error field-wide" role="alert">
              {error}
            </p>
          )}
          {done && (
            <p className="success field-wide" role="status">
              {done}
            </p>
          )}
          <div className="field-wide">
            <button type="submit" className="primary">
              {busy ? 'Scheduling…' : 'Create schedule'}
            </button>
          </div>
        </fieldset>
      </form>
    </section>
  );
}
