import { useEffect } from 'react';
import { useQuery } from 'urql';
import { ErrorNotice, Loading, Stat } from '../components/common.tsx';
import { JobList } from '../components/JobList.tsx';
import { optionPhrases } from '../components/queue-fields.tsx';
import { QueueCharts } from '../components/QueueCharts.tsx';
import { PurgePanel, RedrivePanel } from '../components/QueueMaintenance.tsx';
import { formatCount, titleCase } from '../format.ts';
import { graphql } from '../generated/index.ts';
import { useLiveRefresh } from '../live.tsx';
import { Link } from '../router.tsx';

const QueueQuery = graphql(`
  query DashboardQueue($name: String!) {
    queue(name: $name) {
      ...QueueFields
    }
  }
`);

const HistoryQuery = graphql(`
  query DashboardQueueHistory($name: String!, $minutes: Int!, $intervalSeconds: Int!) {
    queue(name: $name) {
      name
      history(minutes: $minutes, intervalSeconds: $intervalSeconds) {
        at
        created
        completed
        failed
        cancelled
        queued
        active
      }
    }
  }
`);

const INTERVAL_SECONDS = 60;

export function QueuePage({ queue }: { queue: string }) {
  const [{ data, error, fetching }, refetch] = useQuery({ query: QueueQuery, variables: { name: queue }, requestPolicy: 'cache-and-network' });
  const [history, refetchHistory] = useQuery({
    query: HistoryQuery,
    variables: { name: queue, minutes: 60, intervalSeconds: INTERVAL_SECONDS },
    requestPolicy: 'cache-and-network',
  });
  const ofThisQueue = (event: { queue: string }) => event.queue === queue;
  useLiveRefresh(ofThisQueue, () => refetch({ requestPolicy: 'network-only' }), 1_000);
  useLiveRefresh(ofThisQueue, () => refetchHistory({ requestPolicy: 'network-only' }), 5_000);
  useEffect(() => {
    document.title = `${queue} · Queues · Jobgate`;
  }, [queue]);

  const changed = () => refetch({ requestPolicy: 'network-only' });
  const q = data?.queue;
  const counts = q
    ? {
        ALL: q.totalCount,
        CREATED: undefined,
        RETRY: undefined,
        ACTIVE: q.activeCount,
        COMPLETED: q.completedCount,
        FAILED: q.failedCount,
        CANCELLED: q.cancelledCount,
      }
    : null;

  return (
    <section aria-labelledby="queue-title">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <ol>
          <li>
            <Link to={{ name: 'queues' }}>Queues</Link>
          </li>
          <li aria-current="page">{queue}</li>
        </ol>
      </nav>
      <div className="page-head">
        <h1 id="queue-title">{queue}</h1>
        {q && <span className="badge policy">{titleCase(q.policy)} policy</span>}
      </div>
      <ErrorNotice error={error} what="Could not load the queue" />
      {!data && fetching && <Loading what="the queue" />}
      {data && !q && <p className="empty">There is no queue named “{queue}”.</p>}
      {q && (
        <>
          <dl className="stats" aria-label="Job counts">
            <Stat label="Queued" value={formatCount(q.queuedCount)} />
            <Stat label="Active" value={formatCount(q.activeCount)} tone="active" />
            <Stat label="Deferred" value={formatCount(q.deferredCount)} />
            <Stat label="Completed" value={formatCount(q.completedCount)} tone="completed" />
            <Stat label="Failed" value={formatCount(q.failedCount)} tone={q.failedCount ? 'failed' : undefined} />
            <Stat label="Cancelled" value={formatCount(q.cancelledCount)} />
            <Stat label="Total" value={formatCount(q.totalCount)} />
          </dl>
          <p className="options-line">
            <span className="muted">Options: </span>
            {optionPhrases(q).join(' · ')}
          </p>
          <section aria-labelledby="activity-title" className="panel">
            <h2 id="activity-title">Activity</h2>
            <ErrorNotice error={history.error} what="Could not load the history" />
            {history.data?.queue ? <QueueCharts points={history.data.queue.history} intervalSeconds={INTERVAL_SECONDS} /> : <Loading what="the history" />}
          </section>
          <RedrivePanel queue={queue} onChanged={changed} />
          <JobList queue={queue} counts={counts} />
          <PurgePanel queue={queue} onChanged={changed} />
          <p className="see-also">
            <Link to={{ name: 'workers' }}>Workers</Link> · <Link to={{ name: 'schedules' }}>Schedules</Link>
          </p>
        </>
      )}
    </section>
  );
}
