import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { LEASE_SECRET_SQL } from '../sql/lease-secret.ts';

/** What a lease token stands for: one attempt of one job, pushed to one worker connection. */
export interface LeaseClaim {
  retryCount: number;
  holder: string;
}

const VERSION = 1;
const HEADER_BYTES = 5;
const MAC_BYTES = 32;
/** Far above any token this gateway issues; longer input is not decoded at all. */
const MAX_TOKEN_LENGTH = 512;

/**
 * Lease tokens: the attempt and the holder in the clear, signed with the
 * secret all instances share (HMAC-SHA256 over queue, job, attempt and
 * holder). A token is checked without a database read, so a forged one costs
 * nothing; whether the hold it names is still current is for the job's lease
 * row to say. The queue is the qualified name, so a token binds its tenant.
 */
export class LeaseTokens {
  /** A key object: an HMAC keyed by a Buffer imports the key anew each time, several times the cost of the MAC itself. */
  readonly #secret: KeyObject;

  constructor(secret: Buffer) {
    if (secret.length < 16) throw new Error('the lease secret is too short');
    this.#secret = createSecretKey(secret);
  }

  issue(queue: string, id: string, retryCount: number, holder: string): string {
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt8(VERSION, 0);
    header.writeUInt32BE(retryCount, 1);
    return Buffer.concat([header, Buffer.from(holder, 'utf8'), this.#mac(queue, id, retryCount, holder)]).toString('base64url');
  }

  /** The attempt and holder `token` was issued for, if this gateway issued it for this job of this queue. */
  read(token: string, queue: string, id: string): LeaseClaim | null {
    if (token.length > MAX_TOKEN_LENGTH) return null;
    const bytes = Buffer.from(token, 'base64url');
    if (bytes.length <= HEADER_BYTES + MAC_BYTES || bytes.readUInt8(0) !== VERSION) return null;
    const retryCount = bytes.readUInt32BE(1);
    const holder = bytes.subarray(HEADER_BYTES, bytes.length - MAC_BYTES).toString('utf8');
    const mac = bytes.subarray(bytes.length - MAC_BYTES);
    return timingSafeEqual(mac, this.#mac(queue, id, retryCount, holder)) ? { retryCount, holder } : null;
  }

  #mac(queue: string, id: string, retryCount: number, holder: string): Buffer {
    return createHmac('sha256', this.#secret).update(`${queue}\u0000${id}\u0000${retryCount}\u0000${holder}`).digest();
  }
}

/** The shared secret, made by the migration that created its table. */
export async function loadLeaseSecret(query: (text: string) => Promise<{ rows: { value: Buffer }[] }>): Promise<Buffer> {
  const { rows } = await query(LEASE_SECRET_SQL);
  const secret = rows[0]?.value;
  if (!secret) throw new Error('no lease secret in gateway_secret: apply the database migrations (jobgate migrate)');
  return secret;
}
