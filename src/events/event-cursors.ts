import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual, type Cipheriv, type Decipheriv } from 'node:crypto';
import { EVENT_CURSOR_SECRET_SQL } from '../sql/event-cursor-secret.ts';
import type { EventPosition } from './event-position.ts';

const VERSION = 1;
const BLOCK = 16;
const CURSOR_BYTES = 1 + 2 * BLOCK;
/** base64url of CURSOR_BYTES; anything else is not decoded at all. */
const CURSOR_LENGTH = Math.ceil((CURSOR_BYTES * 4) / 3);
/** Tenants whose tag is kept; past this the cache starts over. */
const MAX_TAGS = 10_000;

/**
 * Job-event cursors: a position in the log, sealed for one tenant. Two AES-256
 * blocks in CBC with a zero IV: the position, then the tenant's tag (HMAC of
 * its id); opening checks that the second block decrypts to the tag, which
 * authenticates both (a fixed-length CBC-MAC). So a cursor reveals nothing of
 * the log's traffic, cannot be made or altered, and opens for its own tenant
 * only; the same position always seals to the same text, so an event's cursor
 * is the same live, replayed or on another instance (all share the secret).
 * The chaining is done here over ECB ciphers made once: each seal or open
 * costs two block operations, not a cipher's set-up.
 */
export class EventCursors {
  readonly #tagKey: Buffer;
  readonly #encrypt: Cipheriv;
  readonly #decrypt: Decipheriv;
  readonly #tags = new Map<string, Buffer>();

  constructor(secret: Buffer) {
    if (secret.length < 16) throw new Error('the event cursor secret is too short');
    this.#tagKey = createHmac('sha256', secret).update('jobgate event cursor tag').digest();
    const key = createHmac('sha256', secret).update('jobgate event cursor encryption').digest();
    this.#encrypt = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
    this.#decrypt = createDecipheriv('aes-256-ecb', key, null).setAutoPadding(false);
  }

  seal(tenantId: string, position: EventPosition): string {
    const plain = Buffer.alloc(BLOCK);
    plain.writeBigInt64BE(position.tx, 0);
    plain.writeBigInt64BE(position.seq, 8);
    const first = this.#encrypt.update(plain);
    const second = this.#encrypt.update(xor(first, this.#tag(tenantId)));
    return Buffer.concat([Buffer.of(VERSION), first, second]).toString('base64url');
  }

  /** The position `cursor` was sealed with for this tenant; null for any other text. */
  open(tenantId: string, cursor: string): EventPosition | null {
    if (cursor.length !== CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
    const bytes = Buffer.from(cursor, 'base64url');
    if (bytes.length !== CURSOR_BYTES || bytes.readUInt8(0) !== VERSION) return null;
    const first = bytes.subarray(1, 1 + BLOCK);
    const tag = xor(this.#decrypt.update(bytes.subarray(1 + BLOCK)), first);
    if (!timingSafeEqual(tag, this.#tag(tenantId))) return null;
    const plain = this.#decrypt.update(first);
    return { tx: plain.readBigInt64BE(0), seq: plain.readBigInt64BE(8) };
  }

  #tag(tenantId: string): Buffer {
    let tag = this.#tags.get(tenantId);
    if (tag) return tag;
    if (this.#tags.size >= MAX_TAGS) this.#tags.clear();
    tag = createHmac('sha256', this.#tagKey).update(tenantId).digest().subarray(0, BLOCK);
    this.#tags.set(tenantId, tag);
    return tag;
  }
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(BLOCK);
  for (let i = 0; i < BLOCK; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** The shared secret, made by the migration that created it. */
export async function loadEventCursorSecret(query: (text: string) => Promise<{ rows: { value: Buffer }[] }>): Promise<Buffer> {
  const { rows } = await query(EVENT_CURSOR_SECRET_SQL);
  const secret = rows[0]?.value;
  if (!secret) throw new Error('no event cursor secret in gateway_secret: apply the database migrations (jobgate migrate)');
  return secret;
}
