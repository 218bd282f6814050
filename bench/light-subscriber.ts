import WebSocket from 'ws';

/**
 * A subscriber that speaks graphql-transport-ws itself on `ws`: one socket,
 * one subscription, each `next` parsed and handed on. A thousand of them
 * share this process, so each message costs as little client CPU as the
 * protocol allows (the graphql-ws client adds ~12 µs of its own per message,
 * which a thousand subscribers on as many machines would not queue behind).
 */
export interface LightSubscriber {
  close(): void;
}

export function openLightSubscriber(
  url: string,
  token: string,
  query: string,
  variables: Record<string, unknown>,
  onData: (data: Record<string, unknown>) => void,
  onError: (error: unknown) => void,
  timeoutMs = 30_000,
): Promise<LightSubscriber> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error('subscriber connection timed out'));
    }, timeoutMs);
    const fail = (error: unknown) => {
      clearTimeout(timer);
      reject(error instanceof Error ? error : new Error(String(error)));
    };
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { token } })));
    socket.once('error', fail);
    socket.once('close', (code) => fail(new Error(`subscriber socket closed: ${code}`)));
    socket.on('message', (raw) => {
      const message = JSON.parse((raw as Buffer).toString()) as { type: string; payload?: { data?: Record<string, unknown>; errors?: unknown } };
      switch (message.type) {
        case 'next':
          if (message.payload?.data) onData(message.payload.data);
          else onError(new Error(JSON.stringify(message.payload?.errors)));
          return;
        case 'connection_ack':
          socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables } }));
          clearTimeout(timer);
          socket.removeAllListeners('close');
          socket.on('close', (code) => code !== 1000 && onError(new Error(`subscriber socket closed: ${code}`)));
          resolve({ close: () => socket.close(1000) });
          return;
        case 'ping':
          socket.send(JSON.stringify({ type: 'pong' }));
          return;
        default:
          onError(new Error(`unexpected message: ${(raw as Buffer).toString()}`));
      }
    });
  });
}
