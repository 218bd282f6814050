import { existsSync } from 'node:fs';
import path from 'node:path';
import sirv from 'sirv';
import { projectRoot } from '../paths.ts';
import type { RequestHandler } from './http-guards.ts';

export const DASHBOARD_PATH = '/dashboard';

/**
 * On every dashboard response. The built app is scripts and styles of its own
 * origin only (no inline script or style element); it talks to /graphql over
 * fetch and WebSocket on the same origin, and nothing may frame it.
 */
export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * Serves the built dashboard (dashboard/dist) at /dashboard, with the SPA's
 * index.html for its client-side routes. Everything else goes to `next`.
 */
export function withDashboard(next: RequestHandler): RequestHandler {
  const dist = path.join(projectRoot, 'dashboard', 'dist');
  const serve = existsSync(dist) ? sirv(dist, { single: true, dev: false, etag: true }) : null;
  return (req, res) => {
    const url = req.url ?? '/';
    if (url !== DASHBOARD_PATH && !url.startsWith(`${DASHBOARD_PATH}/`) && !url.startsWith(`${DASHBOARD_PATH}?`)) {
      next(req, res);
      return;
    }
    for (const [name, value] of Object.entries(DASHBOARD_HEADERS)) res.setHeader(name, value);
    if (url === DASHBOARD_PATH || url.startsWith(`${DASHBOARD_PATH}?`)) {
      res.writeHead(308, { location: `${DASHBOARD_PATH}/${url.slice(DASHBOARD_PATH.length)}` }).end();
      return;
    }
    if (!serve) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('The dashboard is not built: run `npm install` (or `npm run build:dashboard`).\n');
      return;
    }
    req.url = url.slice(DASHBOARD_PATH.length) || '/';
    serve(req, res, () => {
      res.writeHead(404).end();
    });
  };
}
