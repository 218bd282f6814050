import { describe, expect, it } from '@jest/globals';
import { ServerSentEventParser, type ServerSentEvent } from '../../packages/client/src/sse-parser.ts';

// The SDK's reader of text/event-stream bodies, fed the same stream cut in every way.

const STREAM =
  ':\n\n' +
  'event: next\r\nid: c1\r\ndata: {"data":{"n":1}}\r\n\r\n' +
  ': keep-alive\n\n' +
  'event: next\rdata: {"data":\rdata:{"n":2}}\r\r' +
  'data\n\n' +
  'event: next\nid\n\n' +
  'event: complete\ndata:\n\n' +
  'event: next\ndata: cut off';

const EXPECTED: ServerSentEvent[] = [
  { event: 'next', id: 'c1', data: '{"data":{"n":1}}' },
  { event: 'next', id: 'c1', data: '{"data":\n{"n":2}}' },
  { event: 'message', id: 'c1', data: '' },
  { event: 'complete', id: '', data: '' },
];

function parseInPieces(pieces: string[]): ServerSentEvent[] {
  const parser = new ServerSentEventParser();
  return pieces.flatMap((piece) => parser.push(piece));
}

describe('ServerSentEventParser', () => {
  it('reads events, comments, CR, LF and CR LF line ends, ids and multi-line data', () => {
    expect(parseInPieces([STREAM])).toEqual(EXPECTED);
  });

  it('reads the same events whatever the chunks, CR LF pairs split included', () => {
    for (let at = 1; at < STREAM.length; at++) {
      expect(parseInPieces([STREAM.slice(0, at), STREAM.slice(at)])).toEqual(EXPECTED);
    }
    expect(parseInPieces([...STREAM])).toEqual(EXPECTED);
  });
});
