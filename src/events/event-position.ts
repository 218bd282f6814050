/**
 * Where an event sits in the job-event log: ordered by `tx`, then `seq` (see
 * docs/architecture.md). `seq` alone is unique.
 */
export interface EventPosition {
  readonly tx: bigint;
  readonly seq: bigint;
}

/** Before every event. */
export const LOG_START: EventPosition = { tx: -1n, seq: -1n };

const DIGITS = /^[0-9]{1,19}$/;

/** A position from its two decimal parts (a NOTIFY line's, a log row's); undefined when they are not. */
export function positionOf(tx: string | undefined, seq: string | undefined): EventPosition | undefined {
  if (tx === undefined || seq === undefined || !DIGITS.test(tx) || !DIGITS.test(seq)) return undefined;
  return { tx: BigInt(tx), seq: BigInt(seq) };
}

export function comparePositions(a: EventPosition, b: EventPosition): number {
  if (a.tx !== b.tx) return a.tx < b.tx ? -1 : 1;
  return a.seq === b.seq ? 0 : a.seq < b.seq ? -1 : 1;
}

/** The opaque text of a position (base64url of `tx.seq`), for a cursor. */
export function encodePosition(position: EventPosition): string {
  return Buffer.from(`${position.tx}.${position.seq}`).toString('base64url');
}

/** The position an encodePosition text stands for; undefined for any other text. */
export function decodePosition(text: string): EventPosition | undefined {
  if (text.length > 64 || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  const [tx, seq, extra] = Buffer.from(text, 'base64url').toString('latin1').split('.');
  return extra === undefined ? positionOf(tx, seq) : undefined;
}
