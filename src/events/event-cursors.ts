import { createCipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { EVENT_CURSOR_SECRET_SQL } from '../sql/event-cursor-secret.ts';
import type { EventPosition } from './event-position.ts';

const VERSION = 1;
const TAG_BYTES = 16;
const POSITION_BYTES = 16;
const CURSOR_BYTES = 1 + TAG_BYTES + POSITION_BYTES;
/** base64url of CURSOR_BYTES; anything else is not decoded at all. */
const CURSOR_LENGTH = Math.ceil((CURSOR_BYTES * 4) / 3);

/**
 * Job-event cursors: a position in the log, sealed for one tenant. The
 * position is encrypted (AES-256-CTR) under a tag that authenticates it with
 * the tenant's id (HMAC-SHA256, the tag doubling as the counter's start, as
 * in SIV), so a cursor reveals nothing of the log's traffic, cannot be made
 * or altered, and opens for its own tenant only. The same position always
 * seals to the same text: an event's cursor is the same live, replayed or
 * read on another instance, which all share the secret.
 */
export class EventCursors {
  readonly #macKey: Buffer;
  readonly #encryptionKey: Buffer;

  constructor(secret: Buffer) {
    if (secret.length < 16) throw new Error('the event cursor secret is too short');
    this.#macKey = createHmac('sha256', secret).update('jobgate event cursor mac').digest();
    this.#encryptionKey = createHmac('sha256', secret).update('jobgate event cursor encryption').digest();
  }

  seal(tenantId: string, position: EventPosition): string {
    const plain = Buffer.alloc(POSITION_BYTES);
    plain.writeBigInt64BE(position.tx, 0);
    plain.writeBigInt64BE(position.seq, 8);
    const tag = this.#tag(tenantId, plain);
    return Buffer.concat([Buffer.of(VERSION), tag, this.#crypt(tag, plain)]).toString('base64url');
  }

  /** The position `cursor` was sealed with for this tenant; null for any other text. */
  open(tenantId: string, cursor: string): EventPosition | null {
    if (cursor.length !== CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
    const bytes = Buffer.from(cursor, 'base64url');
    if (bytes.length !== CURSOR_BYTES || bytes.readUInt8(0) !== VERSION) return null;
    const tag = bytes.subarray(1, 1 + TAG_BYTES);
    const plain = this.#crypt(tag, bytes.subarray(1 + TAG_BYTES));
    if (!timingSafeEqual(tag, this.#tag(tenantId, plain))) return null;
    return { tx: plain.readBigInt64BE(0), seq: plain.readBigInt64BE(8) };
  }

  #tag(tenantId: string, plain: Buffer): Buffer {
    return createHmac('sha256', this.#macKey).update(tenantId).update('\u0000').update(plain).digest().subarray(0, TAG_BYTES);
  }

  #crypt(tag: Buffer, input: Buffer): Buffer {
    const cipher = createCipheriv('aes-256-ctr', this.#encryptionKey, tag);
    return Buffer.concat([cipher.update(input), cipher.final()]);
  }
}

/** The shared secret, made by the migration that created it. */
export async function loadEventCursorSecret(query: (text: string) => Promise<{ rows: { value: Buffer }[] }>): Promise<Buffer> {
  const { rows } = await query(EVENT_CURSOR_SECRET_SQL);
  const secret = rows[0]?.value;
  if (!secret) throw new Error('no event cursor secret in gateway_secret: apply the database migrations (jobgate migrate)');
  return secret;
}
