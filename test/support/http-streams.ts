import { request } from 'node:http';

/** One server-sent event as a client sees it. */
export interface ServerSentEvent {
  event: string | null;
  id: string | null;
  data: string;
}

/** An HTTP response read as a text stream, part by part, with the means to hang up. */
export interface OpenStream {
  status: number;
  headers: Headers;
  /** The next event of a `text/event-stream` body (comments skipped); null once the body ends. */
  nextEvent(timeoutMs?: number): Promise<ServerSentEvent | null>;
  /** Everything until the body ends. */
  rest(timeoutMs?: number): Promise<string>;
  /** What has come so far once it contains `text` (kept for later reads). */
  until(text: string, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

/** Opens a streaming request with fetch and reads its body as it comes. */
export async function openStream(url: string, init: RequestInit): Promise<OpenStream> {
  const controller = new AbortController();
  const response = await fetch(url, { ...init, signal: controller.signal });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  let ended = false;
  const read = async (timeoutMs: number): Promise<boolean> => {
    if (ended) return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`nothing more within ${timeoutMs} ms; so far: ${JSON.stringify(buffered)}`)), timeoutMs);
    });
    try {
      const { value, done } = await Promise.race([reader.read(), timeout]);
      if (done) ended = true;
      else buffered += value;
      return !done;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    status: response.status,
    headers: response.headers,
    async nextEvent(timeoutMs = 5_000) {
      for (;;) {
        const end = buffered.indexOf('\n\n');
        if (end >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const lines = block.split('\n').filter((line) => !line.startsWith(':'));
          if (lines.length === 0) continue;
          const field = (name: string) => lines.filter((line) => line.startsWith(`${name}:`)).map((line) => line.slice(name.length + 1).trimStart());
          return { event: field('event')[0] ?? null, id: field('id')[0] ?? null, data: field('data').join('\n') };
        }
        if (!(await read(timeoutMs))) return null;
      }
    },
    async rest(timeoutMs = 5_000) {
      while (await read(timeoutMs));
      const all = buffered;
      buffered = '';
      return all;
    },
    async until(text, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (!buffered.includes(text)) {
        if (!(await read(Math.max(1, deadline - Date.now())))) throw new Error(`the body ended without ${JSON.stringify(text)}: ${JSON.stringify(buffered)}`);
      }
      return buffered;
    },
    async close() {
      controller.abort();
      await reader.cancel().catch(() => {});
    },
  };
}

/**
 * Sends a request and hangs up at once, before any answer: `afterHeaders` waits
 * for the response head first. Resolves when the socket is gone.
 */
export function hangUp(url: string, init: { method: string; headers: Record<string, string>; body?: string }, afterHeaders = false): Promise<void> {
  return new Promise((resolve) => {
    const req = request(url, { method: init.method, headers: init.headers });
    req.on('error', () => {});
    req.on('close', () => resolve());
    req.on('response', (response) => {
      response.on('error', () => {});
      req.destroy();
    });
    req.end(init.body, () => {
      if (!afterHeaders) req.destroy();
    });
  });
}
