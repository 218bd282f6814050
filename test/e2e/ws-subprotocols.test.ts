import { describe, expect, it } from '@jest/globals';
import WebSocket from 'ws';
import { useGateway } from '../support/gateway.ts';

// A WebSocket upgrade on /graphql that offers no subprotocol the gateway speaks is
// refused at the HTTP level, with a body that names the one it does speak.

const gateway = useGateway();

interface Refusal {
  status: number;
  contentType: string | undefined;
  body: string;
}

/** The HTTP answer to an upgrade that the server refuses; fails if the socket opens instead. */
function refusal(protocols: string | string[] | undefined): Promise<Refusal> {
  return new Promise((resolve, reject) => {
    const socket = protocols === undefined ? new WebSocket(gateway.wsUrl) : new WebSocket(gateway.wsUrl, protocols);
    socket.on('open', () => {
      socket.close();
      reject(new Error(`upgrade accepted with subprotocol "${socket.protocol}"`));
    });
    socket.on('error', () => {});
    socket.on('unexpected-response', (_request, response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, contentType: response.headers['content-type'], body }));
    });
  });
}

describe('WebSocket subprotocols', () => {
  it.each([
    ['subscriptions-transport-ws (graphql-ws)', 'graphql-ws'],
    ['no subprotocol at all', undefined],
    ['only unknown ones', ['mqtt', 'graphql-wss']],
  ])('refuses an upgrade offering %s with 400 naming graphql-transport-ws', async (_label, protocols) => {
    const { status, contentType, body } = await refusal(protocols);
    expect(status).toBe(400);
    expect(contentType).toBe('application/json');
    const parsed = JSON.parse(body) as { errors: { message: string; extensions: { code: string } }[] };
    expect(parsed.errors[0]!.extensions.code).toBe('UNSUPPORTED_SUBPROTOCOL');
    expect(parsed.errors[0]!.message).toContain('graphql-transport-ws');
  });

  it('accepts graphql-transport-ws, also when offered after another one', async () => {
    for (const protocols of ['graphql-transport-ws', ['graphql-ws', 'graphql-transport-ws']]) {
      const socket = new WebSocket(gateway.wsUrl, protocols);
      await new Promise<void>((resolve, reject) => {
        socket.once('open', resolve);
        socket.once('error', reject);
      });
      expect(socket.protocol).toBe('graphql-transport-ws');
      socket.close();
    }
  });
});
