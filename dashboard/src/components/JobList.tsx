import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { useClient, type CombinedError } from 'urql';
import { formatCount } from '../format.ts';
import type { JobState, JobSummaryFragment } from '../generated/graphql.ts';
import { graphql } from '../generated/index.ts';
import { useLiveRefresh, type LiveEvent } from '../live.tsx';
import { Link } from '../router.tsx';
import { ErrorNotice, JOB_STATES, STATE_LABEL, StateBadge, Time } from './common.tsx';
import { ShortId } from './ShortId.tsx';

graphql(`
  fragment JobSummary on Job {
    id
    queue
    state
    priority
    retryCount
    retryLimit
    singletonKey
    startAfter
    createdOn
    startedOn
    completedOn
  }
`);

const JobsQuery = graphql(`
  query DashboardJobs($queue: String!, $states: [JobState!], $first: Int!, $after: String) {
    jobs(queue: $queue, states: $states, first: $first, after: $after) {
      nodes {
        ...JobSummary
      }
      pageInfo {
        endCursor
        hasNextPage
      }
    }
  }
`);

const PAGE_SIZE = 50;

type Job = JobSummaryFragment;

interface ListState {
  jobs: Map<string, Job>;
  cursor: string | null;
  hasMore: boolean;
  pages: number;
}

const EMPTY: ListState = { jobs: new Map(), cursor: null, hasMore: false, pages: 0 };

function newestFirst(a: Job, b: Job): number {
  if (a.createdOn !== b.createdOn) return Date.parse(b.createdOn) - Date.parse(a.createdOn);
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * A queue's jobs, newest first, a page (50) at a time: never the whole list.
 * Live: each event of the queue updates the job's state in place at once,
 * and refetches the first page (throttled) to bring in new jobs.
 */
function useJobList(queue: string, filter: JobState | 'ALL') {
  const client = useClient();
  const [list, setList] = useState<ListState>(EMPTY);
  const [error, setError] = useState<CombinedError | null>(null);
  const [loading, setLoading] = useState(true);
  const states = filter === 'ALL' ? null : [filter];
  const generation = useRef(0);

  const fetchPage = useCallback(
    (after: string | null) => client.query(JobsQuery, { queue, states, first: PAGE_SIZE, after }, { requestPolicy: 'network-only' }).toPromise(),
    [client, queue, filter],
  );

  const refreshFirst = useCallback(async () => {
    const current = generation.current;
    const result = await fetchPage(null);
    if (current !== generation.current) return;
    setLoading(false);
    if (result.error || !result.data) {
      setError(result.error ?? null);
      return;
    }
    setError(null);
    const page = result.data.jobs;
    setList((previous) => {
      // Only the first page loaded: take it as it is. More loaded: merge, keep the cursor.
      if (previous.pages <= 1) {
        return { jobs: new Map(page.nodes.map((job) => [job.id, job])), cursor: page.pageInfo.endCursor ?? null, hasMore: page.pageInfo.hasNextPage, pages: 1 };
      }
      const jobs = new Map(previous.jobs);
      for (const job of page.nodes) jobs.set(job.id, job);
      return { ...previous, jobs };
    });
  }, [fetchPage]);

  const loadMore = useCallback(async () => {
    if (!list.cursor) return;
    const current = generation.current;
    setLoading(true);
    const result = await fetchPage(list.cursor);
    if (current !== generation.current) return;
    setLoading(false);
    if (result.error || !result.data) {
      setError(result.error ?? null);
      return;
    }
    const page = result.data.jobs;
    setList((previous) => {
      const jobs = new Map(previous.jobs);
      for (const job of page.nodes) jobs.set(job.id, job);
      return { jobs, cursor: page.pageInfo.endCursor ?? null, hasMore: page.pageInfo.hasNextPage, pages: previous.pages + 1 };
    });
  }, [fetchPage, list.cursor]);

  useEffect(() => {
    generation.current += 1;
    setList(EMPTY);
    setLoading(true);
    void refreshFirst();
  }, [refreshFirst]);

  const applyEvent = useCallback((event: LiveEvent) => {
    setList((previous) => {
      const job = previous.jobs.get(event.jobId);
      if (!job) return previous;
      const jobs = new Map(previous.jobs);
      if (event.type === 'DELETED') jobs.delete(event.jobId);
      else jobs.set(event.jobId, { ...job, state: event.state, retryCount: event.retryCount });
      return { ...previous, jobs };
    });
  }, []);

  useLiveRefresh(
    (event) => event.queue === queue,
    () => void refreshFirst(),
    1_000,
    applyEvent,
  );

  const jobs = [...list.jobs.values()].filter((job) => filter === 'ALL' || job.state === filter).sort(newestFirst);
  return { jobs, hasMore: list.hasMore, loading, error, loadMore };
}

export function JobList({ queue, counts }: { queue: string; counts: Partial<Record<JobState | 'ALL', number>> | null }) {
  const [filter, setFilter] = useState<JobState | 'ALL'>('ALL');
  const { jobs, hasMore, loading, error, loadMore } = useJobList(queue, filter);
  const filterId = useId();
  const total = counts?.[filter];

  return (
    <section aria-labelledby="jobs-title" className="panel">
      <div className="panel-head">
        <h2 id="jobs-title">Jobs</h2>
        <div className="field-inline">
          <label htmlFor={filterId}>State</label>
          <select id={filterId} value={filter} onChange={(event) => setFilter(event.target.value as JobState | 'ALL')}>
            <option value="ALL">All states{counts?.ALL !== undefined ? ` (${formatCount(counts.ALL)})` : ''}</option>
            {JOB_STATES.map((state) => (
              <option key={state} value={state}>
                {STATE_LABEL[state]}
                {counts?.[state] !== undefined ? ` (${formatCount(counts[state])})` : ''}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ErrorNotice error={error} what="Could not load the jobs" />
      <div className="table-wrap">
        <table className="jobs-table" aria-busy={loading}>
          <caption className="sr-only">
            Jobs of {queue}
            {filter === 'ALL' ? '' : ` in state ${STATE_LABEL[filter]}`}, newest first
          </caption>
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">State</th>
              <th scope="col">Created</th>
              <th scope="col">Started</th>
              <th scope="col">Finished</th>
              <th scope="col" className="num">
                Retries
              </th>
              <th scope="col" className="num">
                Priority
              </th>
            </tr>
          </thead>
          <tbody>
            {jobs.length === 0 && !loading && (
              <tr>
                <td colSpan={7} className="empty">
                  {filter === 'ALL' ? 'No jobs in this queue.' : `No ${STATE_LABEL[filter]} jobs.`}
                </td>
              </tr>
            )}
            {jobs.map((job) => (
              <tr key={job.id} data-job-id={job.id} data-state={job.state}>
                <th scope="row">
                  <Link to={{ name: 'job', queue, id: job.id }} aria-label={`Job ${job.id}`}>
                    <ShortId id={job.id} />
                  </Link>
                  {job.singletonKey && <span className="muted small"> {job.singletonKey}</span>}
                </th>
                <td>
                  <StateBadge state={job.state} />
                </td>
                <td>
                  <Time value={job.createdOn} />
                </td>
                <td>
                  <Time value={job.startedOn} />
                </td>
                <td>
                  <Time value={job.completedOn} />
                </td>
                <td className="num">
                  {job.retryCount}/{job.retryLimit}
                </td>
                <td className="num">{job.priority}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="list-foot">
        <p className="muted">{loading ? 'Loading…' : `Showing ${formatCount(jobs.length)}${total !== undefined ? ` of ${formatCount(total)}` : ''}`}</p>
        {hasMore && (
          <button type="button" onClick={() => void loadMore()} disabled={loading}>
            Load {PAGE_SIZE} more
          </button>
        )}
      </div>
    </section>
  );
}
