const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

export function formatCount(value: number): string {
  return integer.format(value);
}

const sameDay = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const otherDay = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

/** A time in the reader's zone: the time alone for today, with the date otherwise. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  const today = new Date();
  return date.toDateString() === today.toDateString() ? sameDay.format(date) : otherDay.format(date);
}

export function formatClock(value: number | string): string {
  return clock.format(new Date(value));
}

/** 90 → "1 min 30 s", 1209600 → "14 d". */
export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds === 0) return '0 s';
  const units: [number, string][] = [
    [86_400, 'd'],
    [3_600, 'h'],
    [60, 'min'],
    [1, 's'],
  ];
  const parts: string[] = [];
  let rest = seconds;
  for (const [size, unit] of units) {
    const amount = Math.floor(rest / size);
    if (amount > 0) {
      parts.push(`${amount} ${unit}`);
      rest -= amount * size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

/**
 * The end of an id: time-ordered ids (UUIDv7) share their beginning, the
 * creation time, with every id made about the same time; their last group is random.
 */
export function shortId(id: string): string {
  return id.length > 12 ? `…${id.slice(-12)}` : id;
}

export function formatJson(value: unknown): string {
  if (value === null || value === undefined) return '—';
  return JSON.stringify(value, null, 2);
}

export function titleCase(value: string): string {
  return value.charAt(0) + value.slice(1).toLowerCase().replaceAll('_', ' ');
}
