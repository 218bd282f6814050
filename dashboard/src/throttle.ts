export interface Throttled {
  (): void;
  cancel(): void;
}

/**
 * Runs `action` at most once per `ms`: at once when it has been quiet, else
 * once more at the end of the window. Live events arrive in bursts; this keeps
 * the refetches they trigger to a steady trickle.
 */
export function throttle(action: () => void, ms: number): Throttled {
  let last = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = () => {
    timer = undefined;
    last = Date.now();
    action();
  };
  const throttled = () => {
    if (timer !== undefined) return;
    const wait = last + ms - Date.now();
    if (wait <= 0) run();
    else timer = setTimeout(run, wait);
  };
  throttled.cancel = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  return throttled;
}
