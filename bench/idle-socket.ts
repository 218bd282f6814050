import WebSocket from 'ws';

/**
 * An authenticated graphql-transport-ws socket that mostly sits idle: raw `ws`
 * (no graphql-ws client state, so tens of thousands fit in the bench process),
 * opened from a chosen loopback source address, answering pings, able to start
 * subscriptions later.
 */
export interface IdleSocket {
  /** Starts subscription `id`; `onData` gets each `next` payload's data. */
  subscribe(id: string, query: string, variables: Record<string, unknown>, onData: () => void, onError: (error: Error) => void): void;
  terminate(): void;
}

interface ServerMessage {
  type: string;
  id?: string;
  payload?: { data?: unknown; errors?: unknown };
}

/** Resolves once `connection_ack` arrived for `token` sent in `connection_init`'s payload. */
export function openIdleSocket(url: string, token: string, localAddress: string, timeoutMs = 30_000): Promise<IdleSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws', { localAddress, perMessageDeflate: false });
    const handlers = new Map<string, { onData: () => void; onError: (error: Error) => void }>();
    let acked = false;
    const timer = setTimeout(() => fail(new Error('idle socket: no connection_ack in time')), timeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.terminate();
      reject(error);
    };
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { token } })));
    socket.on('error', (error) => (acked ? handlers.forEach((handler) => handler.onError(error)) : fail(error)));
    socket.on('close', (code) => {
      const error = new Error(`idle socket closed: ${code}`);
      if (!acked) return fail(error);
      for (const handler of handlers.values()) handler.onError(error);
    });
    socket.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as ServerMessage;
      const handler = message.id === undefined ? undefined : handlers.get(message.id);
      switch (message.type) {
        case 'connection_ack':
          acked = true;
          clearTimeout(timer);
          resolve({
            subscribe(id, query, variables, onData, onError) {
              handlers.set(id, { onData, onError });
              socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
            },
            terminate: () => socket.terminate(),
          });
          return;
        case 'ping':
          socket.send(JSON.stringify({ type: 'pong' }));
          return;
        case 'pong':
          return;
        case 'next':
          if (message.payload?.data) handler?.onData();
          else handler?.onError(new Error(JSON.stringify(message.payload?.errors)));
          return;
        case 'error':
          handler?.onError(new Error(JSON.stringify(message.payload)));
          return;
        case 'complete':
          return;
        default:
          handler?.onError(new Error(`unexpected message: ${String(raw)}`));
      }
    });
  });
}
