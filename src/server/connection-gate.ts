import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionGateHooks {
  /** How many connections count as unauthenticated now. */
  onCount(count: number): void;
  /** One was closed to make room. */
  onDropped(): void;
}

const gates = new WeakMap<Socket, ConnectionGate>();

/** The connection carried a valid token (an HTTP request, or graphql-ws's connection_init): it stops counting. */
export function markAuthenticated(socket: Socket): void {
  gates.get(socket)?.release(socket);
}

/**
 * Bounds the connections that have not carried a valid token yet: slow or
 * silent clients, stalled uploads, sockets awaiting connection_init. Past
 * `max`, the oldest of them is closed; refusing the newest instead would let
 * a few hundred idle sockets lock every client out.
 */
export function limitUnauthenticatedConnections(server: Server, max: number, hooks: ConnectionGateHooks): void {
  const gate = new ConnectionGate(max, hooks);
  server.on('connection', (socket: Socket) => gate.admit(socket));
}

class ConnectionGate {
  readonly #max: number;
  readonly #hooks: ConnectionGateHooks;
  /** In arrival order: the first is the oldest. */
  readonly #unauthenticated = new Set<Socket>();

  constructor(max: number, hooks: ConnectionGateHooks) {
    this.#max = max;
    this.#hooks = hooks;
  }

  admit(socket: Socket): void {
    while (this.#unauthenticated.size >= this.#max) {
      const [oldest] = this.#unauthenticated;
      this.release(oldest!);
      oldest!.destroy();
      this.#hooks.onDropped();
    }
    this.#unauthenticated.add(socket);
    gates.set(socket, this);
    socket.once('close', () => this.release(socket));
    this.#hooks.onCount(this.#unauthenticated.size);
  }

  release(socket: Socket): void {
    gates.delete(socket);
    if (this.#unauthenticated.delete(socket)) this.#hooks.onCount(this.#unauthenticated.size);
  }
}
