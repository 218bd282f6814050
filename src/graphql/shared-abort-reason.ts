/**
 * graphql-js 17 gives every execution (each query, mutation and subscription
 * event) an AbortController and aborts it, without a reason, when the
 * execution ends. Node then builds a new DOMException with a stack trace each
 * time: about 12 µs, a tenth of the gateway's CPU while it streams events.
 * An abort without a reason gets one AbortError made once instead; its name,
 * message and type are those Node would give.
 */
const ABORTED = new DOMException('This operation was aborted', 'AbortError');
const abortWithReason = AbortController.prototype.abort;
let installed = false;

export function shareAbortReason(): void {
  if (installed) return;
  installed = true;
  AbortController.prototype.abort = function abort(this: AbortController, reason?: unknown): void {
    abortWithReason.call(this, reason === undefined ? ABORTED : reason);
  };
}
