import type { PgBoss } from 'pg-boss';
import { badInput } from '../errors.ts';

export const DEFAULT_PREVIEW_COUNT = 10;
export const MAX_PREVIEW_COUNT = 100;

/**
 * The next times a cron expression (or RFC 5545 rule) fires in a time zone,
 * after `from` (default now), as pg-boss's scheduler reads it; nothing is
 * stored. An expression or zone pg-boss refuses is BAD_USER_INPUT, with
 * `argument` naming which.
 */
export function previewSchedule(
  boss: PgBoss,
  cron: string,
  options: { tz?: string | undefined; count?: number | undefined; from?: Date | undefined } = {},
): Date[] {
  const count = options.count ?? DEFAULT_PREVIEW_COUNT;
  if (!Number.isInteger(count) || count < 1 || count > MAX_PREVIEW_COUNT) throw badInput(`"count" must be 1-${MAX_PREVIEW_COUNT}`, { argument: 'count' });
  const { tz } = options;
  try {
    return boss.previewSchedule(cron, { tz: tz ?? 'UTC', count, ...(options.from ? { from: options.from } : {}) });
  } catch (error) {
    const message = (error as Error).message;
    throw badInput(`invalid schedule: ${message}`, { argument: tz && !/cron|char|expression|occurrence/i.test(message) ? 'tz' : 'cron' });
  }
}
