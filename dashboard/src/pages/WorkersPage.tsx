import { useEffect, useId, useState } from 'react';
import { useQuery } from 'urql';
import { ErrorNotice, Loading, Time } from '../components/common.tsx';
import { ShortId } from '../components/ShortId.tsx';
import { formatCount } from '../format.ts';
import type { DashboardWorkersQuery } from '../generated/graphql.ts';
import { graphql } from '../generated/index.ts';
import { useLiveRefresh } from '../live.tsx';
import { Link } from '../router.tsx';

const WorkersQuery = graphql(`
  query DashboardWorkers {
    workers {
      id
      queues
      concurrency
      inHand
      connectedAt
      lastSeenAt
    }
    queues {
      name
      queuedCount
      activeCount
    }
  }
`);

type Worker = DashboardWorkersQuery['workers'][number];

export function WorkersPage() {
  const [{ data, error, fetching }, refetch] = useQuery({ query: WorkersQuery, requestPolicy: 'cache-and-network' });
  const [only, setOnly] = useState('');
  const filterId = useId();
  // Jobs taken, settled or failed back change what workers hold.
  useLiveRefresh(
    (event) => event.type !== 'CREATED',
    () => refetch({ requestPolicy: 'network-only' }),
    2_000,
  );
  useEffect(() => {
    document.title = 'Workers · Jobgate';
  }, []);

  const workers = data?.workers ?? [];
  const byQueue = new Map<string, Worker[]>();
  for (const worker of workers) {
    for (const queue of worker.queues) {
      if (only && queue !== only) continue;
      byQueue.set(queue, [...(byQueue.get(queue) ?? []), worker]);
    }
  }
  const queueNames = [...new Set([...(data?.queues.map((q) => q.name) ?? []), ...workers.flatMap((w) => w.queues)])].sort();
  const depth = new Map(data?.queues.map((q) => [q.name, q]) ?? []);

  return (
    <section aria-labelledby="workers-title">
      <div className="page-head">
        <h1 id="workers-title">Workers</h1>
        <button type="button" onClick={() => refetch({ requestPolicy: 'network-only' })} disabled={fetching}>
          Refresh
        </button>
      </div>
      <p className="muted">
        Connected <code>workAssigned</code> subscriptions, on every gateway instance: how many jobs each may hold at once (concurrency) and holds now.
      </p>
      <div className="field-inline">
        <label htmlFor={filterId}>Queue</label>
        <select id={filterId} value={only} onChange={(event) => setOnly(event.target.value)}>
          <option value="">All queues</option>
          {queueNames.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </div>
      <ErrorNotice error={error} what="Could not load the workers" />
      {!data && fetching && <Loading what="workers" />}
      {data && byQueue.size === 0 && <p className="empty">No worker is connected{only ? ` to ${only}` : ''}.</p>}
      {[...byQueue.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([queue, list]) => {
          const concurrency = list.reduce((sum, w) => sum + w.concurrency, 0);
          const inHand = list.reduce((sum, w) => sum + w.inHand, 0);
          const counts = depth.get(queue);
          const headingId = `workers-${queue}`;
          return (
            <section key={queue} className="panel" aria-labelledby={headingId}>
              <div className="panel-head">
                <h2 id={headingId}>
                  <Link to={{ name: 'queue', queue }}>{queue}</Link>
                </h2>
                <p className="muted">
                  {list.length} {list.length === 1 ? 'worker' : 'workers'}, {formatCount(inHand)} of {formatCount(concurrency)} slots busy
                  {counts ? `, ${formatCount(counts.queuedCount)} queued` : ''}
                </p>
              </div>
              <div className="table-wrap">
                <table>
                  <caption className="sr-only">Workers taking jobs from {queue}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Worker</th>
                      <th scope="col">In hand</th>
                      <th scope="col" className="num">
                        Concurrency
                      </th>
                      <th scope="col">Queues</th>
                      <th scope="col">Connected</th>
                      <th scope="col">Last seen</th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.map((worker) => (
                      <tr key={worker.id}>
                        <th scope="row">
                          <ShortId id={worker.id} />
                        </th>
                        <td>
                          <meter min={0} max={worker.concurrency} value={worker.inHand} aria-label={`${worker.inHand} of ${worker.concurrency} in hand`} />{' '}
                          {worker.inHand}
                        </td>
                        <td className="num">{worker.concurrency}</td>
                        <td>{worker.queues.join(', ')}</td>
                        <td>
                          <Time value={worker.connectedAt} />
                        </td>
                        <td>
                          <Time value={worker.lastSeenAt} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </section>
          );
        })}
    </section>
  );
}
