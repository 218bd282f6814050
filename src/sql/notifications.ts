import type { SqlPlan } from './plan.ts';

/** A NOTIFY on `channel`, delivered when the transaction commits. */
export const notify = (channel: string, payload: string): SqlPlan => ({ text: 'SELECT pg_notify($1, $2)', values: [channel, payload] });

/** How many of `channels` this session LISTENs on (`n`). */
export const listeningTo = (channels: readonly string[]): SqlPlan => ({
  text: 'SELECT count(*)::int AS n FROM pg_listening_channels() AS c(name) WHERE name = ANY($1::text[])',
  values: [channels],
});

/** LISTEN on each of `channels` (names the gateway owns, never a client's). */
export const listen = (channels: readonly string[]): string => channels.map((channel) => `LISTEN ${channel}`).join('; ');
