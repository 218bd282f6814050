import { useEffect } from 'react';
import { useQuery } from 'urql';
import { ErrorNotice, Loading, Stat } from '../components/common.tsx';
import { formatCount } from '../format.ts';
import { graphql } from '../generated/index.ts';
import { useViewer } from '../viewer.ts';

const GlobalStatsQuery = graphql(`
  query DashboardGlobalStats {
    globalStats {
      tenantCount
      queueCount
      queuedCount
      deferredCount
      activeCount
      completedCount
      failedCount
      cancelledCount
      totalCount
      tenants {
        tenantId
        tenantName
        queueCount
        queuedCount
        deferredCount
        activeCount
        completedCount
        failedCount
        totalCount
      }
    }
  }
`);

/** ADMIN: every tenant's totals (query globalStats). Other tenants' events are not pushed here: refresh to update. */
export function TenantsPage() {
  const viewer = useViewer();
  const [{ data, error, fetching }, refetch] = useQuery({ query: GlobalStatsQuery, requestPolicy: 'cache-and-network' });
  useEffect(() => {
    document.title = 'All tenants · Jobgate';
  }, []);
  const stats = data?.globalStats;

  return (
    <section aria-labelledby="tenants-title">
      <div className="page-head">
        <h1 id="tenants-title">All tenants</h1>
        <button type="button" onClick={() => refetch({ requestPolicy: 'network-only' })} disabled={fetching}>
          {fetching ? 'Refreshing…' : 'Refresh'}
        </button>
      </div>
      <p className="muted">Totals across every tenant of this gateway (ADMIN token). Other tenants' events are not pushed to you: refresh to update.</p>
      <ErrorNotice error={error} what="Could not load the totals" />
      {!data && fetching && <Loading what="totals" />}
      {stats && (
        <>
          <dl className="stats" aria-label="Totals">
            <Stat label="Tenants" value={formatCount(stats.tenantCount)} />
            <Stat label="Queues" value={formatCount(stats.queueCount)} />
            <Stat label="Queued" value={formatCount(stats.queuedCount)} />
            <Stat label="Active" value={formatCount(stats.activeCount)} tone="active" />
            <Stat label="Deferred" value={formatCount(stats.deferredCount)} />
            <Stat label="Completed" value={formatCount(stats.completedCount)} tone="completed" />
            <Stat label="Failed" value={formatCount(stats.failedCount)} tone={stats.failedCount ? 'failed' : undefined} />
            <Stat label="Cancelled" value={formatCount(stats.cancelledCount)} />
          </dl>
          <div className="table-wrap">
            <table>
              <caption className="sr-only">Totals per tenant</caption>
              <thead>
                <tr>
                  <th scope="col">Tenant</th>
                  <th scope="col" className="num">
                    Queues
                  </th>
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
                  <th scope="col" className="num">
                    Total
                  </th>
                </tr>
              </thead>
              <tbody>
                {stats.tenants.map((tenant) => (
                  <tr key={tenant.tenantId}>
                    <th scope="row">
                      {tenant.tenantName ?? '(unknown)'}
                      {tenant.tenantId === viewer.tenant.id && <span className="muted small"> (you)</span>}
                      <br />
                      <span className="mono small muted">{tenant.tenantId}</span>
                    </th>
                    <td className="num">{formatCount(tenant.queueCount)}</td>
                    <td className="num">{formatCount(tenant.queuedCount)}</td>
                    <td className="num">{formatCount(tenant.activeCount)}</td>
                    <td className="num">{formatCount(tenant.deferredCount)}</td>
                    <td className="num">{formatCount(tenant.completedCount)}</td>
                    <td className="num">{formatCount(tenant.failedCount)}</td>
                    <td className="num">{formatCount(tenant.totalCount)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
