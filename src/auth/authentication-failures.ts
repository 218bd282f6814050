import { isIPv6 } from 'node:net';

/** Addresses remembered at most; past it the one that failed least recently is forgotten. */
export const MAX_TRACKED_ADDRESSES = 10_000;

interface Bucket {
  tokens: number;
  refilledAt: number;
}

/**
 * The key an address counts under: an IPv4-mapped IPv6 address as its IPv4
 * address, any other IPv6 address by its /64 (one host commonly holds a whole
 * /64, and would otherwise get a fresh bucket per address).
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/**
 * Failed authentications (a missing, unknown, revoked or expired token) per
 * client address on this instance: a token bucket of `perMinute` failures,
 * as many at once, refilling at `perMinute` a minute. While an address's
 * bucket is empty its requests are refused before any token is looked up.
 * The table holds at most `maxAddresses`, least recently failed first out.
 */
export class AuthenticationFailures {
  readonly #perMinute: number;
  readonly #maxAddresses: number;
  /** In order of the last failure: the first is the stalest. */
  readonly #buckets = new Map<string, Bucket>();

  constructor(perMinute: number, maxAddresses = MAX_TRACKED_ADDRESSES) {
    this.#perMinute = perMinute;
    this.#maxAddresses = maxAddresses;
  }

  get trackedAddresses(): number {
    return this.#buckets.size;
  }

  #refilled(key: string, now: number): Bucket | undefined {
    const bucket = this.#buckets.get(key);
    if (!bucket) return undefined;
    bucket.tokens = Math.min(this.#perMinute, bucket.tokens + ((now - bucket.refilledAt) / 60_000) * this.#perMinute);
    bucket.refilledAt = now;
    // Full again: as good as never seen.
    if (bucket.tokens >= this.#perMinute) {
      this.#buckets.delete(key);
      return undefined;
    }
    return bucket;
  }

  /** Null while the address may try a token; otherwise the whole seconds until it may again. */
  retryAfterSeconds(address: string, now = Date.now()): number | null {
    const bucket = this.#refilled(addressKey(address), now);
    if (!bucket || bucket.tokens >= 1) return null;
    return Math.max(1, Math.ceil(((1 - bucket.tokens) * 60) / this.#perMinute));
  }

  /** Counts one failed authentication from the address. */
  failed(address: string, now = Date.now()): void {
    const key = addressKey(address);
    const bucket = this.#refilled(key, now) ?? { tokens: this.#perMinute, refilledAt: now };
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    this.#buckets.delete(key);
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > this.#maxAddresses) this.#buckets.delete(this.#buckets.keys().next().value!);
  }
}
