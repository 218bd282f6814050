import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { EventCursors } from '../../src/events/event-cursors.ts';

describe('job-event cursors', () => {
  const cursors = new EventCursors(randomBytes(32));
  const position = { tx: 123_456_789_012n, seq: 42n };

  it('open for their own tenant to the position they were sealed with, the same text every time', () => {
    const cursor = cursors.seal('tenant-a', position);
    expect(cursors.open('tenant-a', cursor)).toEqual(position);
    expect(cursors.seal('tenant-a', position)).toBe(cursor);
    expect(cursors.open('tenant-a', cursors.seal('tenant-a', { tx: 7n, seq: -1n }))).toEqual({ tx: 7n, seq: -1n });
  });

  it("are nothing to another tenant, to another gateway's secret, or once altered", () => {
    const cursor = cursors.seal('tenant-a', position);
    expect(cursors.open('tenant-b', cursor)).toBeNull();
    expect(new EventCursors(randomBytes(32)).open('tenant-a', cursor)).toBeNull();
    const bytes = Buffer.from(cursor, 'base64url');
    for (let i = 0; i < bytes.length; i++) {
      const altered = Buffer.from(bytes);
      altered[i]! ^= 1;
      expect(cursors.open('tenant-a', altered.toString('base64url'))).toBeNull();
    }
    for (const bad of ['', 'x', cursor + 'A', cursor.slice(1), '!'.repeat(cursor.length), 'a'.repeat(10_000)]) expect(cursors.open('tenant-a', bad)).toBeNull();
  });

  it('do not show the position: neighbouring positions share no prefix', () => {
    const a = cursors.seal('tenant-a', { tx: 1000n, seq: 1n });
    const b = cursors.seal('tenant-a', { tx: 1000n, seq: 2n });
    expect(a.slice(0, 4)).not.toBe(b.slice(0, 4));
    expect(a).not.toContain('1000');
  });
});
