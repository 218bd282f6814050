import { useEffect } from 'react';
import { useQuery } from 'urql';
import { ErrorNotice, Loading } from '../components/common.tsx';
import { optionPhrases } from '../components/queue-fields.tsx';
import { formatCount, titleCase } from '../format.ts';
import { graphql } from '../generated/index.ts';
import { useLiveRefresh } from '../live.tsx';
import { Link } from '../router.tsx';

const QueuesQuery = graphql(`
  query DashboardQueues {
    queues {
      ...QueueFields
    }
  }
`);

export function QueuesPage() {
  const [{ data, error, fetching }, refetch] = useQuery({ query: QueuesQuery, requestPolicy: 'cache-and-network' });
  useLiveRefresh(
    () => true,
    () => refetch({ requestPolicy: 'network-only' }),
    1_000,
  );
  useEffect(() => {
    document.title = 'Queues · Jobgate';
  }, []);

  const queues = data?.queues ?? [];
  return (
    <section aria-labelledby="queues-title">
      <div className="page-head">
        <h1 id="queues-title">Queues</h1>
        {data && <p className="muted">{queues.length === 1 ? '1 queue' : `${formatCount(queues.length)} queues`}, counts live</p>}
      </div>
      <ErrorNotice error={error} what="Could not load the queues" />
      {!data && fetching && <Loading what="queues" />}
      {data && queues.length === 0 && (
        <p className="empty">
          No queues yet. A queue appears here as soon as a job is sent to it (mutation <code>sendJob</code>).
        </p>
      )}
      {queues.length > 0 && (
        <div className="table-wrap">
          <table className="queues-table">
            <caption className="sr-only">Queues with their job counts, policy and options</caption>
            <thead>
              <tr>
                <th scope="col">Queue</th>
                <th scope="col" className="num">
                  Queued
                </th>
                <th scope="col" className="num">
                  Active
                </th>
                <th scope="col" className="num">
                  Deferred
                </th>
                <th scope="col" className="num">
                  Completed
                </th>
                <th scope="col" className="num">
                  Failed
                </th>
                <th scope="col">Policy</th>
                <th scope="col">Options</th>
              </tr>
            </thead>
            <tbody>
              {queues.map((queue) => (
                <tr key={queue.name} data-queue={queue.name}>
                  <th scope="row">
                    <Link to={{ name: 'queue', queue: queue.name }}>{queue.name}</Link>
                  </th>
                  <td className="num" data-count="queued">
                    {formatCount(queue.queuedCount)}
                  </td>
                  <td className="num" data-count="active">
                    {formatCount(queue.activeCount)}
                  </td>
                  <td className="num" data-count="deferred">
                    {formatCount(queue.deferredCount)}
                  </td>
                  <td className="num" data-count="completed">
                    {formatCount(queue.completedCount)}
                  </td>
                  <td className={`num${queue.failedCount ? ' has-failed' : ''}`} data-count="failed">
                    {formatCount(queue.failedCount)}
                  </td>
                  <td>{titleCase(queue.policy)}</td>
                  <td className="options">{optionPhrases(queue).join(' · ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
