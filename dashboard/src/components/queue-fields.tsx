import { formatSeconds } from '../format.ts';
import type { QueueFieldsFragment } from '../generated/graphql.ts';
import { graphql } from '../generated/index.ts';

export const QueueFields = graphql(`
  fragment QueueFields on Queue {
    name
    policy
    deadLetter
    queuedCount
    activeCount
    deferredCount
    completedCount
    failedCount
    cancelledCount
    totalCount
    options {
      retryLimit
      retryDelay
      retryBackoff
      retryDelayMax
      expireInSeconds
      retentionSeconds
      deleteAfterSeconds
      heartbeatSeconds
      partition
    }
  }
`);

export type QueueSummary = QueueFieldsFragment;

/** The queue's options as short phrases ("2 retries, 30 s apart"). */
export function optionPhrases(queue: QueueSummary): string[] {
  const o = queue.options;
  const retries =
    o.retryLimit === 0
      ? 'no retries'
      : `${o.retryLimit} ${o.retryLimit === 1 ? 'retry' : 'retries'}${o.retryDelay ? `, ${formatSeconds(o.retryDelay)} apart` : ''}${o.retryBackoff ? ', backing off' : ''}`;
  const phrases = [retries, `expires after ${formatSeconds(o.expireInSeconds)}`, `kept ${formatSeconds(o.deleteAfterSeconds)} when done`];
  if (o.heartbeatSeconds) phrases.push(`heartbeat ${formatSeconds(o.heartbeatSeconds)}`);
  if (queue.deadLetter) phrases.push(`dead letters → ${queue.deadLetter}`);
  if (o.partition) phrases.push('own partition');
  return phrases;
}
