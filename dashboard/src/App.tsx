import { useEffect, useRef, useState } from 'react';
import { Provider } from 'urql';
import { connect, type Connection, type LiveStatus } from './client.ts';
import { REFUSED_MESSAGE, SignIn, checkToken } from './components/SignIn.tsx';
import { LiveProvider } from './live.tsx';
import { JobPage } from './pages/JobPage.tsx';
import { QueuePage } from './pages/QueuePage.tsx';
import { QueuesPage } from './pages/QueuesPage.tsx';
import { SchedulesPage } from './pages/SchedulesPage.tsx';
import { TenantsPage } from './pages/TenantsPage.tsx';
import { WorkersPage } from './pages/WorkersPage.tsx';
import { Link, useRoute, type Route } from './router.tsx';
import { clearToken, loadToken, saveToken } from './session.ts';
import { permissionsOf, useViewer, ViewerContext, type Permissions, type ViewerInfo } from './viewer.ts';

type SessionState =
  { kind: 'checking'; token: string } | { kind: 'signedOut'; notice: string | null } | { kind: 'signedIn'; token: string; viewer: ViewerInfo };

export function App() {
  const [session, setSession] = useState<SessionState>(() => {
    const token = loadToken();
    return token ? { kind: 'checking', token } : { kind: 'signedOut', notice: null };
  });

  // A token kept from earlier in this tab is checked again before use.
  useEffect(() => {
    if (session.kind !== 'checking') return;
    let current = true;
    checkToken(session.token)
      .then((check) => {
        if (!current) return;
        if (check.ok) setSession({ kind: 'signedIn', token: session.token, viewer: check.viewer });
        else {
          clearToken();
          setSession({ kind: 'signedOut', notice: check.message });
        }
      })
      .catch(() => current && setSession({ kind: 'signedOut', notice: 'Could not reach the gateway.' }));
    return () => {
      current = false;
    };
  }, [session]);

  if (session.kind === 'checking') {
    return (
      <main id="main" className="signin" aria-busy="true">
        <p role="status">Checking your token…</p>
      </main>
    );
  }
  if (session.kind === 'signedOut') {
    return (
      <SignIn
        notice={session.notice}
        onSignedIn={(token, viewer) => {
          saveToken(token);
          setSession({ kind: 'signedIn', token, viewer });
        }}
      />
    );
  }
  return (
    <SignedIn
      key={session.token}
      token={session.token}
      viewer={session.viewer}
      onSignOut={(notice) => {
        clearToken();
        setSession({ kind: 'signedOut', notice });
      }}
    />
  );
}

function SignedIn({ token, viewer, onSignOut }: { token: string; viewer: ViewerInfo; onSignOut: (notice: string | null) => void }) {
  const [connection, setConnection] = useState<Connection | null>(null);
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const signOut = useRef(onSignOut);
  signOut.current = onSignOut;

  useEffect(() => {
    const created = connect(token, {
      onStatus: setStatus,
      onRefused: () => signOut.current(REFUSED_MESSAGE),
    });
    setConnection(created);
    return () => created.dispose();
  }, [token]);

  if (!connection) return null;
  const permissions = permissionsOf(viewer);
  return (
    <ViewerContext.Provider value={permissions}>
      <Provider value={connection.client}>
        <LiveProvider connection={connection} enabled={permissions.canRead} status={status}>
          <Shell status={permissions.canRead ? status : 'offline'} onSignOut={() => onSignOut('Signed out.')} />
        </LiveProvider>
      </Provider>
    </ViewerContext.Provider>
  );
}

const STATUS_TEXT: Record<LiveStatus, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Not live',
};

function Shell({ status, onSignOut }: { status: LiveStatus; onSignOut: () => void }) {
  const viewer = useViewer();
  const route = useRoute();
  const mainRef = useRef<HTMLElement>(null);
  const firstRoute = useRef(true);
  const routeKey = JSON.stringify(route);

  // After a client-side navigation, move focus to the new page's heading.
  useEffect(() => {
    if (firstRoute.current) {
      firstRoute.current = false;
      return;
    }
    const heading = mainRef.current?.querySelector<HTMLElement>('h1');
    if (heading) {
      heading.tabIndex = -1;
      heading.focus();
    }
  }, [routeKey]);

  const nav: { route: Route; label: string; show: boolean }[] = [
    { route: { name: 'queues' }, label: 'Queues', show: viewer.canRead },
    { route: { name: 'workers' }, label: 'Workers', show: viewer.canRead },
    { route: { name: 'schedules' }, label: 'Schedules', show: viewer.canRead },
    { route: { name: 'tenants' }, label: 'All tenants', show: viewer.isAdmin },
  ];
  const section = route.name === 'queue' || route.name === 'job' ? 'queues' : route.name;

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar-inner">
          <Link to={{ name: 'queues' }} className="brand">
            <span className="brand-mark" aria-hidden="true" /> Jobgate
          </Link>
          <nav aria-label="Main">
            <ul>
              {nav
                .filter((item) => item.show)
                .map((item) => (
                  <li key={item.route.name}>
                    <Link to={item.route} aria-current={section === item.route.name ? 'page' : undefined}>
                      {item.label}
                    </Link>
                  </li>
                ))}
            </ul>
          </nav>
          <div className="who">
            <span className={`live live-${status}`} role="status" title="Updates pushed by the gateway over graphql-ws">
              <span className="live-dot" aria-hidden="true" />
              {STATUS_TEXT[status]}
            </span>
            <span className="tenant" title={`Tenant id ${viewer.tenant.id}`}>
              <span className="sr-only">Tenant </span>
              {viewer.tenant.name}
            </span>
            <span className="scopes">
              <span className="sr-only">Token scopes: </span>
              {viewer.scopes.join(' · ')}
            </span>
            <button type="button" className="link-button" onClick={onSignOut}>
              Sign out
            </button>
          </div>
        </div>
      </header>
      <main id="main" ref={mainRef} tabIndex={-1}>
        <Page route={route} viewer={viewer} />
      </main>
    </>
  );
}

function Page({ route, viewer }: { route: Route; viewer: Permissions }) {
  if (!viewer.canRead) {
    if (viewer.isAdmin && route.name !== 'notFound') return <TenantsPage />;
    return (
      <section>
        <h1>Nothing to show</h1>
        <p className="notice" role="status">
          This token's scopes ({viewer.scopes.join(', ') || 'none'}) do not include READ, which the dashboard needs to show queues and jobs. Sign out and use a
          token with READ.
        </p>
      </section>
    );
  }
  switch (route.name) {
    case 'queues':
      return <QueuesPage />;
    case 'queue':
      return <QueuePage key={route.queue} queue={route.queue} />;
    case 'job':
      return <JobPage key={`${route.queue}:${route.id}`} queue={route.queue} id={route.id} />;
    case 'workers':
      return <WorkersPage />;
    case 'schedules':
      return <SchedulesPage />;
    case 'tenants':
      return viewer.isAdmin ? <TenantsPage /> : <NotFound />;
    case 'notFound':
      return <NotFound />;
  }
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        <Link to={{ name: 'queues' }}>Back to the queues</Link>
      </p>
    </section>
  );
}
