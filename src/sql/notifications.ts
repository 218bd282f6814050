import type { SqlPlan } from './plan.ts';

/** A NOTIFY on `channel`, delivered when the transaction commits. */
export const notify = (channel: string, payload: string): SqlPlan => ({ text: 'SELECT pg_notify($1, $2)', values: [channel, payload] });
