import { Kind, type OperationDefinitionNode } from 'graphql';

/** The subscriptions that push jobs to a worker. */
const PUSH_FIELDS = new Set(['workAssigned', 'workAssignedBatches']);

/**
 * Whether an operation subscribes to pushes of jobs: their events carry jobs
 * already held for the worker, resolved from memory, and are bounded by its
 * concurrency, so neither the response-size bound nor the database share applies to them.
 */
export function isPushSubscription(operation: OperationDefinitionNode | undefined): boolean {
  return (
    operation?.operation === 'subscription' &&
    operation.selectionSet.selections.some((selection) => selection.kind === Kind.FIELD && PUSH_FIELDS.has(selection.name.value))
  );
}
