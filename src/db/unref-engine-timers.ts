/**
 * Preloaded into the Prisma CLI (`node --import`). Prisma 6's wasm schema
 * engine arms a 10 s timer around its advisory lock and never clears it, so
 * every `migrate` lingers ten seconds after finishing. Unref'ing long timers
 * lets the CLI exit once its database work is done; while a query is still
 * pending its socket keeps the process alive and the timer still fires.
 */
const armTimer = globalThis.setTimeout;
const LONG_TIMER_MS = 5_000;

globalThis.setTimeout = ((handler: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
  const timer = armTimer(handler, ms, ...args);
  if ((ms ?? 0) >= LONG_TIMER_MS) timer.unref();
  return timer;
}) as typeof globalThis.setTimeout;
