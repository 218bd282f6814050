// The worker's timers in Node and in browsers: Node's own functions where they exist.

/** Runs `callback` on the next turn of the event loop (setImmediate in Node). */
export function nextTurn(callback: () => void): void {
  if (typeof setImmediate === 'function') setImmediate(callback);
  else setTimeout(callback, 0);
}

/** A timeout that does not keep a Node process alive. */
export function backgroundTimeout(callback: () => void, ms: number): void {
  const timer: unknown = setTimeout(callback, ms);
  // Node answers a Timeout object, browsers a number.
  if (typeof timer === 'object' && timer !== null && 'unref' in timer && typeof timer.unref === 'function') (timer as { unref(): void }).unref();
}
