/**
 * Pieces of the malformed-input fuzz suite (test/e2e/fuzz.test.ts): a seeded
 * pseudo-random generator, so that a failure reproduces with the same seed,
 * and a raw graphql-ws socket that sends exactly the bytes it is given.
 */
import WebSocket from 'ws';

/** mulberry32: small, fast, and good enough to pick test cases. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** In [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  bool(): boolean {
    return this.next() < 0.5;
  }

  bytes(length: number): Buffer {
    const buffer = Buffer.alloc(length);
    for (let i = 0; i < length; i++) buffer[i] = this.int(0, 255);
    return buffer;
  }

  /** A string of `length` characters drawn from `alphabet`. */
  string(length: number, alphabet: string): string {
    const chars = [...alphabet];
    let out = '';
    for (let i = 0; i < length; i++) out += this.pick(chars);
    return out;
  }

  /** A random JSON value (bounded size). */
  json(depth = 0): unknown {
    const kind = this.int(0, depth > 3 ? 4 : 6);
    switch (kind) {
      case 0:
        return null;
      case 1:
        return this.int(-1e6, 1e6) / (this.bool() ? 1 : 7);
      case 2:
        return this.bool();
      case 3:
      case 4:
        return this.string(this.int(0, 12), 'abcxyz_ -/.{}[]"\\\u00e9\u4e2d\ud83d\ude00');
      case 5:
        return Array.from({ length: this.int(0, 4) }, () => this.json(depth + 1));
      default:
        return Object.fromEntries(Array.from({ length: this.int(0, 4) }, () => [this.string(this.int(1, 6), 'abcdefgtypeidpayload'), this.json(depth + 1)]));
    }
  }
}

/** The seed of this run: JOBGATE_FUZZ_SEED when set (to replay a failure), a fixed one otherwise. */
export function fuzzSeed(): number {
  const raw = process.env.JOBGATE_FUZZ_SEED;
  if (raw !== undefined && raw !== '') {
    const seed = Number(raw);
    if (!Number.isInteger(seed)) throw new Error(`JOBGATE_FUZZ_SEED must be an integer, got "${raw}"`);
    return seed;
  }
  return 0x6a0b5eed;
}

export interface RawMessage {
  type: string;
  id?: string;
  payload?: any;
}

/** A graphql-transport-ws socket driven frame by frame. */
export class RawSocket {
  readonly ws: WebSocket;
  readonly messages: RawMessage[] = [];
  /** Frames the server sent that were not valid JSON messages. */
  readonly garbage: string[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: { predicate: (message: RawMessage) => boolean; resolve: (message: RawMessage) => void }[] = [];

  constructor(url: string) {
    this.ws = new WebSocket(url, 'graphql-transport-ws');
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })));
    this.ws.on('error', () => {});
    this.ws.on('message', (data) => {
      let message: RawMessage;
      try {
        message = JSON.parse(String(data)) as RawMessage;
      } catch {
        this.garbage.push(String(data));
        return;
      }
      this.messages.push(message);
      for (const waiter of [...this.#waiters]) {
        if (waiter.predicate(message)) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          waiter.resolve(message);
        }
      }
    });
  }

  static async open(url: string): Promise<RawSocket> {
    const socket = new RawSocket(url);
    await socket.opened;
    return socket;
  }

  /** Opens a socket and authenticates it (connection_init → connection_ack). */
  static async authenticated(url: string, token: string): Promise<RawSocket> {
    const socket = await RawSocket.open(url);
    socket.sendJson({ type: 'connection_init', payload: { token } });
    await socket.waitFor((message) => message.type === 'connection_ack', 5_000);
    return socket;
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  sendJson(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  /** A text frame with exactly these bytes (not necessarily valid UTF-8). */
  sendText(data: string | Buffer): void {
    this.ws.send(data, { binary: false });
  }

  sendBinary(data: Buffer): void {
    this.ws.send(data, { binary: true });
  }

  waitFor(predicate: (message: RawMessage) => boolean, timeoutMs = 5_000): Promise<RawMessage> {
    const found = this.messages.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((waiter) => waiter.resolve !== done);
        reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages).slice(0, 2_000)}`));
      }, timeoutMs);
      const done = (message: RawMessage) => {
        clearTimeout(timer);
        resolve(message);
      };
      this.#waiters.push({ predicate, resolve: done });
      void this.closed.then(({ code, reason }) => {
        if (!this.#waiters.some((waiter) => waiter.resolve === done)) return;
        this.#waiters = this.#waiters.filter((waiter) => waiter.resolve !== done);
        clearTimeout(timer);
        reject(new Error(`socket closed (${code} ${reason}) while waiting; got ${JSON.stringify(this.messages).slice(0, 2_000)}`));
      });
    });
  }

  /** The close code, or null when the socket is still open after `timeoutMs`. */
  async closeCodeWithin(timeoutMs: number): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      this.closed.then(({ code }) => code),
      new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs))),
    ]);
    clearTimeout(timer);
    return result;
  }

  /** Proves the connection still works: a ping is answered with a pong. */
  async assertAlive(): Promise<void> {
    const before = this.messages.filter((message) => message.type === 'pong').length;
    this.sendJson({ type: 'ping' });
    await this.waitFor(() => this.messages.filter((message) => message.type === 'pong').length > before, 5_000);
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000);
  }

  terminate(): void {
    this.ws.terminate();
  }
}
