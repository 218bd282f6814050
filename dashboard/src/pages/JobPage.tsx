import { useEffect, useState } from 'react';
import { useMutation, useQuery, type CombinedError } from 'urql';
import { errorMessage } from '../client.ts';
import { ConfirmButton, ErrorNotice, Loading, StateBadge, Time } from '../components/common.tsx';
import { ShortId } from '../components/ShortId.tsx';
import { formatJson, formatSeconds, formatTime, shortId } from '../format.ts';
import type { JobDetailFieldsFragment, JobState } from '../generated/graphql.ts';
import { graphql } from '../generated/index.ts';
import { useJobEvents } from '../job-events.ts';
import { useLiveRefresh, type LiveEvent } from '../live.tsx';
import { Link, navigate } from '../router.tsx';
import { useViewer } from '../viewer.ts';

graphql(`
  fragment JobDetailFields on Job {
    id
    queue
    state
    data
    output
    priority
    retryCount
    retryLimit
    retryDelay
    retryBackoff
    retryDelayMax
    expireInSeconds
    deleteAfterSeconds
    heartbeatSeconds
    heartbeatOn
    singletonKey
    groupId
    deadLetter
    policy
    startAfter
    createdOn
    startedOn
    completedOn
    keepUntil
  }
`);

const JobQuery = graphql(`
  query DashboardJob($queue: String!, $id: ID!) {
    job(queue: $queue, id: $id) {
      ...JobDetailFields
    }
  }
`);

const CancelJob = graphql(`
  mutation DashboardCancelJob($queue: String!, $id: ID!) {
    cancelJob(queue: $queue, id: $id) {
      ...JobDetailFields
    }
  }
`);

const RetryJob = graphql(`
  mutation DashboardRetryJob($queue: String!, $id: ID!) {
    retryJob(queue: $queue, id: $id) {
      ...JobDetailFields
    }
  }
`);

const ResumeJob = graphql(`
  mutation DashboardResumeJob($queue: String!, $id: ID!) {
    resumeJob(queue: $queue, id: $id) {
      ...JobDetailFields
    }
  }
`);

const DeleteJob = graphql(`
  mutation DashboardDeleteJob($queue: String!, $id: ID!) {
    deleteJob(queue: $queue, id: $id)
  }
`);

type Job = JobDetailFieldsFragment;

const DONE = { cancel: 'Job cancelled.', retry: 'Job queued for a retry.', resume: 'Job resumed.', delete: 'Job deleted.' } as const;
const AFTER: Record<keyof typeof DONE, JobState | undefined> = { cancel: 'CANCELLED', retry: 'RETRY', resume: 'CREATED', delete: undefined };

const WAITING: readonly JobState[] = ['CREATED', 'RETRY'];

interface TimelineEntry {
  at: string;
  label: string;
  detail?: string;
  /** From the job-event log, or from what pg-boss recorded on the job when the log no longer has it. */
  source: 'log' | 'stored';
}

const EVENT_LABEL: Record<LiveEvent['type'], string> = {
  CREATED: 'Created',
  ACTIVE: 'Started',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  CANCELLED: 'Cancelled',
  RETRY: 'Waiting to retry',
  DELETED: 'Deleted',
  PROGRESS: 'Progress reported',
  READY: 'Released by its dependencies',
  UPDATED: 'Edited',
};

/** How far apart a logged event and a stored timestamp may be and still be the same moment. */
const SAME_MOMENT_MS = 5_000;

function near(at: string, stored: string | null | undefined): boolean {
  return Boolean(stored) && Math.abs(Date.parse(at) - Date.parse(stored!)) <= SAME_MOMENT_MS;
}

const FINAL: readonly JobState[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

/**
 * The job's events from the job-event log, completed with what pg-boss
 * recorded on the row (created, last started, finished) for the moments the
 * log no longer holds (it keeps JOBGATE_EVENT_RETENTION_HOURS).
 */
function timeline(job: Job, logged: readonly LiveEvent[], omitted: number): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  let createdSeen = false;
  let startedSeen = false;
  let finishedSeen = false;
  let previous: LiveEvent | undefined;
  for (const event of logged) {
    let label = EVENT_LABEL[event.type];
    let detail: string | undefined;
    if (event.type === 'CREATED') {
      if (!previous && !omitted && near(event.at, job.createdOn)) createdSeen = true;
      else label = previous?.type === 'CANCELLED' ? 'Resumed' : 'Back in the queue';
    } else if (event.type === 'ACTIVE') {
      detail = `attempt ${event.retryCount + 1}`;
      if (near(event.at, job.startedOn)) startedSeen = true;
    } else if (event.type === 'RETRY') {
      detail = `after attempt ${event.retryCount}`;
    } else if (FINAL.includes(event.state) && near(event.at, job.completedOn)) {
      finishedSeen = true;
    }
    entries.push({ at: event.at, label, detail, source: 'log' });
    previous = event;
  }
  if (!createdSeen) entries.push({ at: job.createdOn, label: 'Created', source: 'stored' });
  if (job.startedOn && !startedSeen) entries.push({ at: job.startedOn, label: 'Started', detail: `attempt ${job.retryCount + 1}`, source: 'stored' });
  if (FINAL.includes(job.state) && job.completedOn && !finishedSeen) {
    entries.push({ at: job.completedOn, label: EVENT_LABEL[job.state as LiveEvent['type']], source: 'stored' });
  }
  if (WAITING.includes(job.state) && Date.parse(job.startAfter) > Date.now()) {
    entries.push({ at: job.startAfter, label: 'Runs no earlier than this', source: 'stored' });
  }
  return entries.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

export function JobPage({ queue, id }: { queue: string; id: string }) {
  const viewer = useViewer();
  const [{ data, error, fetching }, refetch] = useQuery({ query: JobQuery, variables: { queue, id }, requestPolicy: 'cache-and-network' });
  const history = useJobEvents(queue, id);
  const [deleted, setDeleted] = useState(false);
  // A success message stays while the job is in the state the action put it in.
  const [outcome, setOutcome] = useState<{ ok: boolean; message: string; state?: JobState } | null>(null);
  const [, cancelJob] = useMutation(CancelJob);
  const [, retryJob] = useMutation(RetryJob);
  const [, resumeJob] = useMutation(ResumeJob);
  const [, deleteJob] = useMutation(DeleteJob);

  useLiveRefresh(
    (event) => event.jobId === id && event.queue === queue,
    () => refetch({ requestPolicy: 'network-only' }),
    500,
    (event) => {
      if (event.type === 'DELETED') setDeleted(true);
    },
  );
  useEffect(() => {
    document.title = `Job ${shortId(id)} · ${queue} · Jobgate`;
  }, [id, queue]);

  const job = deleted ? null : data?.job;

  const run = async (verb: 'cancel' | 'retry' | 'resume' | 'delete', action: () => Promise<{ error?: CombinedError | undefined }>): Promise<boolean> => {
    setOutcome(null);
    const result = await action();
    if (result.error) {
      setOutcome({ ok: false, message: `Could not ${verb} the job: ${errorMessage(result.error)}` });
      return false;
    }
    setOutcome({ ok: true, message: DONE[verb], state: AFTER[verb] });
    return true;
  };

  const noPublish = viewer.canPublish ? undefined : 'Needs a token with the PUBLISH scope.';
  const reason = (applies: boolean, when: string) => noPublish ?? (applies ? undefined : when);
  const state = job?.state;
  const cancelReason = reason(state !== undefined && ['CREATED', 'RETRY', 'ACTIVE'].includes(state), 'Only waiting or active jobs can be cancelled.');
  const retryReason = reason(state === 'FAILED', 'Only failed jobs can be retried.');
  const resumeReason = reason(state === 'CANCELLED', 'Only cancelled jobs can be resumed.');
  const deleteReason = reason(job !== undefined && job !== null, 'The job is gone.');
  const outputLabel = state === 'FAILED' || (state !== undefined && WAITING.includes(state) && job?.retryCount) ? 'Error' : 'Output';

  return (
    <section aria-labelledby="job-title">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <ol>
          <li>
            <Link to={{ name: 'queues' }}>Queues</Link>
          </li>
          <li>
            <Link to={{ name: 'queue', queue }}>{queue}</Link>
          </li>
          <li aria-current="page">
            Job <ShortId id={id} />
          </li>
        </ol>
      </nav>
      <div className="page-head">
        <h1 id="job-title">
          Job <span className="mono break">{id}</span>
        </h1>
        {job && <StateBadge state={job.state} />}
      </div>
      <ErrorNotice error={error} what="Could not load the job" />
      {outcome && (!outcome.state || outcome.state === job?.state) && (
        <p className={outcome.ok ? 'success' : 'error'} role={outcome.ok ? 'status' : 'alert'}>
          {outcome.message}
        </p>
      )}
      {!data && fetching && <Loading what="the job" />}
      {(deleted || (data && !data.job)) && (
        <p className="empty">
          This job does not exist (any more) in queue “{queue}”. <Link to={{ name: 'queue', queue }}>Back to {queue}</Link>
        </p>
      )}
      {job && (
        <>
          <div className="actions" role="group" aria-label="Job actions">
            <ConfirmButton
              label="Cancel job"
              question="Cancel this job?"
              consequence={<p>It will not run (again) unless it is resumed. A worker holding it now is not interrupted, but can no longer complete it.</p>}
              confirmLabel="Yes, cancel job"
              disabled={cancelReason !== undefined}
              disabledReason={cancelReason}
              onConfirm={() => run('cancel', () => cancelJob({ queue, id }))}
            />
            <ConfirmButton
              label="Retry job"
              question="Retry this failed job?"
              consequence={<p>It goes back to the queue with one more attempt allowed.</p>}
              confirmLabel="Yes, retry job"
              disabled={retryReason !== undefined}
              disabledReason={retryReason}
              onConfirm={() => run('retry', () => retryJob({ queue, id }))}
            />
            <ConfirmButton
              label="Resume job"
              question="Resume this cancelled job?"
              consequence={<p>It goes back to the queue and runs when a worker takes it.</p>}
              confirmLabel="Yes, resume job"
              disabled={resumeReason !== undefined}
              disabledReason={resumeReason}
              onConfirm={() => run('resume', () => resumeJob({ queue, id }))}
            />
            <ConfirmButton
              label="Delete job"
              question="Delete this job?"
              consequence={<p>The job and its data are removed for good. This cannot be undone.</p>}
              confirmLabel="Yes, delete job"
              danger
              disabled={deleteReason !== undefined}
              disabledReason={deleteReason}
              onConfirm={async () => {
                if (await run('delete', () => deleteJob({ queue, id }))) navigate({ name: 'queue', queue });
              }}
            />
          </div>
          {noPublish && <p className="notice">This token can look but not change: the job actions need the PUBLISH scope.</p>}
          <div className="detail-grid">
            <section aria-labelledby="facts-title" className="panel">
              <h2 id="facts-title">Details</h2>
              <dl className="facts">
                <dt>Queue</dt>
                <dd>
                  <Link to={{ name: 'queue', queue }}>{queue}</Link>
                </dd>
                <dt>State</dt>
                <dd>
                  <StateBadge state={job.state} />
                </dd>
                <dt>Retries</dt>
                <dd>
                  {job.retryCount} of {job.retryLimit}
                  {job.retryDelay ? `, ${formatSeconds(job.retryDelay)} apart` : ''}
                  {job.retryBackoff ? ', backing off' : ''}
                  {job.retryDelayMax ? ` (at most ${formatSeconds(job.retryDelayMax)})` : ''}
                </dd>
                <dt>Priority</dt>
                <dd>{job.priority}</dd>
                <dt>Created</dt>
                <dd>
                  <Time value={job.createdOn} />
                </dd>
                <dt>Start after</dt>
                <dd>
                  <Time value={job.startAfter} />
                </dd>
                <dt>Started</dt>
                <dd>
                  <Time value={job.startedOn} />
                </dd>
                <dt>Finished</dt>
                <dd>
                  <Time value={job.completedOn} />
                </dd>
                <dt>Expires after</dt>
                <dd>{formatSeconds(job.expireInSeconds)} active</dd>
                <dt>Kept until</dt>
                <dd>
                  <Time value={job.keepUntil} />
                </dd>
                {job.heartbeatSeconds !== null && job.heartbeatSeconds !== undefined && (
                  <>
                    <dt>Heartbeat</dt>
                    <dd>
                      every {formatSeconds(job.heartbeatSeconds)}, last <Time value={job.heartbeatOn} />
                    </dd>
                  </>
                )}
                {job.singletonKey && (
                  <>
                    <dt>Singleton key</dt>
                    <dd className="mono">{job.singletonKey}</dd>
                  </>
                )}
                {job.groupId && (
                  <>
                    <dt>Group</dt>
                    <dd>{job.groupId}</dd>
                  </>
                )}
                {job.deadLetter && (
                  <>
                    <dt>Dead letter queue</dt>
                    <dd>
                      <Link to={{ name: 'queue', queue: job.deadLetter }}>{job.deadLetter}</Link>
                    </dd>
                  </>
                )}
              </dl>
            </section>
            <section aria-labelledby="timeline-title" className="panel">
              <h2 id="timeline-title">Timeline</h2>
              {history.error && (
                <p className="error" role="alert">
                  {history.error}
                </p>
              )}
              {history.omitted > 0 && <p className="muted small">The {history.omitted} oldest events are left out.</p>}
              <ol className="timeline" aria-busy={history.loading}>
                {timeline(job, history.events, history.omitted).map((entry, index) => (
                  <li key={`${entry.at}-${entry.label}-${index}`} className={`timeline-${entry.source}`}>
                    <time dateTime={entry.at}>{formatTime(entry.at)}</time> <strong>{entry.label}</strong>
                    {entry.detail && <span className="muted"> · {entry.detail}</span>}
                    {entry.source === 'stored' && <span className="muted small"> · recorded on the job</span>}
                  </li>
                ))}
              </ol>
            </section>
          </div>
          <div className="detail-grid">
            <section aria-labelledby="data-title" className="panel">
              <h2 id="data-title">Data</h2>
              <pre className="json" tabIndex={0} aria-labelledby="data-title">
                {formatJson(job.data)}
              </pre>
            </section>
            <section aria-labelledby="output-title" className="panel">
              <h2 id="output-title">{outputLabel}</h2>
              <pre className={`json${outputLabel === 'Error' ? ' json-error' : ''}`} tabIndex={0} aria-labelledby="output-title">
                {formatJson(job.output)}
              </pre>
            </section>
          </div>
        </>
      )}
    </section>
  );
}
