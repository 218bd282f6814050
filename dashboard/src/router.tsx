import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from 'react';

// A small History-API router: the gateway answers every path under
// /dashboard/ with index.html. Queue routes end in "/" so that a queue named
// like a file ("emails.v2") is still routed to the page, not looked up as an asset.

export type Route =
  | { name: 'queues' }
  | { name: 'queue'; queue: string }
  | { name: 'job'; queue: string; id: string }
  | { name: 'workers' }
  | { name: 'schedules' }
  | { name: 'tenants' }
  | { name: 'notFound' };

const BASE = import.meta.env.BASE_URL.replace(/\/$/, '');

export function parseRoute(pathname: string): Route {
  if (!pathname.startsWith(BASE)) return { name: 'notFound' };
  const path = pathname.slice(BASE.length) || '/';
  if (path === '/') return { name: 'queues' };
  if (path === '/workers' || path === '/workers/') return { name: 'workers' };
  if (path === '/schedules' || path === '/schedules/') return { name: 'schedules' };
  if (path === '/tenants' || path === '/tenants/') return { name: 'tenants' };
  const job = /^\/queues\/([^/]+)\/jobs\/([^/]+)\/?$/.exec(path);
  if (job) return { name: 'job', queue: decode(job[1]!), id: decode(job[2]!) };
  const queue = /^\/queues\/([^/]+)\/?$/.exec(path);
  if (queue) return { name: 'queue', queue: decode(queue[1]!) };
  return { name: 'notFound' };
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function routeHref(route: Route): string {
  switch (route.name) {
    case 'queues':
      return `${BASE}/`;
    case 'queue':
      return `${BASE}/queues/${encodeURIComponent(route.queue)}/`;
    case 'job':
      return `${BASE}/queues/${encodeURIComponent(route.queue)}/jobs/${encodeURIComponent(route.id)}`;
    case 'workers':
    case 'schedules':
    case 'tenants':
      return `${BASE}/${route.name}`;
    case 'notFound':
      return `${BASE}/`;
  }
}

const NAVIGATE = 'jobgate:navigate';

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  window.addEventListener(NAVIGATE, onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(NAVIGATE, onChange);
  };
}

const currentPath = () => window.location.pathname;

export function usePathname(): string {
  return useSyncExternalStore(subscribe, currentPath);
}

export function useRoute(): Route {
  return parseRoute(usePathname());
}

export function navigate(to: Route | string, options: { replace?: boolean } = {}): void {
  const href = typeof to === 'string' ? to : routeHref(to);
  if (options.replace) window.history.replaceState(null, '', href);
  else window.history.pushState(null, '', href);
  window.scrollTo(0, 0);
  window.dispatchEvent(new Event(NAVIGATE));
}

type LinkProps = Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> & { to: Route; children: ReactNode };

export function Link({ to, children, onClick, ...rest }: LinkProps) {
  const href = routeHref(to);
  const handleClick = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(href);
  };
  return (
    <a href={href} onClick={handleClick} {...rest}>
      {children}
    </a>
  );
}
