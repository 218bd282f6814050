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

/** Whether `text` is one decimal part of a position. */
export function isPositionPart(text: string | undefined): text is string {
  return text !== undefined && DIGITS.test(text);
}

/** A position from its two decimal parts (a NOTIFY line's, a log row's); undefined when they are not. */
export function positionOf(tx: string | undefined, seq: string | undefined): EventPosition | undefined {
  if (!isPositionPart(tx) || !isPositionPart(seq)) return undefined;
  return { tx: BigInt(tx), seq: BigInt(seq) };
}

/** The later of two positions. */
export function laterOf(a: EventPosition, b: EventPosition): EventPosition {
  return comparePositions(a, b) >= 0 ? a : b;
}

export function comparePositions(a: EventPosition, b: EventPosition): number {
  if (a.tx !== b.tx) return a.tx < b.tx ? -1 : 1;
  return a.seq === b.seq ? 0 : a.seq < b.seq ? -1 : 1;
}
