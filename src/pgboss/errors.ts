import { badInput } from '../errors.ts';

/** A queue pg-boss does not know: NOT_FOUND for the tenant. */
export function isQueueNotFound(error: unknown): boolean {
  const failure = error as { code?: string; constraint?: string; message?: string; cause?: { code?: string } } | null;
  return (
    failure?.code === 'PGBOSS_QUEUE_NOT_FOUND' ||
    // schedule() reports a missing queue as the foreign key violation of its schedule row.
    (failure?.code === '23503' && failure.constraint === 'schedule_name_fkey') ||
    // Through our own executor pg-boss reports a queue deleted since it cached it without its code.
    (failure?.cause?.code === '23503' && /^Queue .* does not exist$/.test(failure.message ?? ''))
  );
}

/** pg-boss validates its arguments with node:assert: those are the caller's mistakes. */
export function asInputError(error: unknown): unknown {
  const failure = error as { code?: string; message?: string } | null;
  return failure?.code === 'ERR_ASSERTION' ? badInput(failure.message ?? 'invalid options') : error;
}
