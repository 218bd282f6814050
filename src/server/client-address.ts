import type { IncomingMessage } from 'node:http';

/** An IPv4 address as itself, also when a dual-stack socket reports it IPv4-mapped (`::ffff:10.0.0.1`). */
export const plainAddress = (address: string): string => address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');

/**
 * The address a request came from: its socket's remote address, unless that
 * is one of `trustedProxies`; then the nearest address in X-Forwarded-For
 * that is not a trusted proxy (the one the last trusted proxy saw). Clients
 * can write anything into X-Forwarded-For, so only what trusted proxies
 * appended counts.
 */
export function clientAddress(req: IncomingMessage, trustedProxies: ReadonlySet<string>): string {
  let address = plainAddress(req.socket.remoteAddress ?? 'unknown');
  if (!trustedProxies.has(address)) return address;
  const header = req.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((hop) => plainAddress(hop.trim()))
    .filter(Boolean);
  for (let hop = forwarded.length - 1; hop >= 0 && trustedProxies.has(address); hop--) address = forwarded[hop]!;
  return address;
}
