/** What the keep-alive needs of a socket (ws's WebSocket has it). */
export interface PingableSocket {
  readonly readyState: number;
  ping(): void;
  terminate(): void;
  on(event: 'pong', listener: (this: PingableSocket) => void): unknown;
  off(event: 'pong', listener: (this: PingableSocket) => void): unknown;
}

const OPEN = 1;
/** Slices of the period, each visited once a period: a slice's sockets are pinged together. */
const SLICES = 16;

/**
 * graphql-ws's keep-alive (a ping every period; a socket that has not answered
 * the last ping by the next one is terminated) on one timer for all sockets
 * instead of an interval per socket. A socket joins the slice of the period it
 * arrived in, so the pings of many sockets spread over the period as their
 * arrivals did.
 */
export class KeepAlive {
  readonly #slices: Set<PingableSocket>[] = Array.from({ length: SLICES }, () => new Set());
  readonly #awaitingPong = new Set<PingableSocket>();
  readonly #timer: NodeJS.Timeout;
  #current = 0;
  /** One listener shared by every socket: `this` is the socket that answered. */
  readonly #ponged: (this: PingableSocket) => void;

  constructor(periodMs: number) {
    const awaiting = this.#awaitingPong;
    this.#ponged = function ponged(this: PingableSocket) {
      awaiting.delete(this);
    };
    this.#timer = setInterval(() => this.#tick(), periodMs / SLICES).unref();
  }

  add(socket: PingableSocket): void {
    this.#slices[this.#current]!.add(socket);
    socket.on('pong', this.#ponged);
  }

  remove(socket: PingableSocket): void {
    for (const slice of this.#slices) if (slice.delete(socket)) break;
    this.#awaitingPong.delete(socket);
    socket.off('pong', this.#ponged);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #tick(): void {
    this.#current = (this.#current + 1) % SLICES;
    for (const socket of this.#slices[this.#current]!) {
      if (socket.readyState !== OPEN) continue;
      if (this.#awaitingPong.has(socket)) {
        socket.terminate();
        continue;
      }
      this.#awaitingPong.add(socket);
      socket.ping();
    }
  }
}
