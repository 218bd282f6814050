import pg from 'pg';

const { escapeLiteral } = pg;

/**
 * A value as the text PostgreSQL would receive for it as a text-format
 * parameter (what node-postgres sends), or undefined when it has no simple
 * literal form here (buffers, nested arrays, objects inside arrays).
 */
function parameterText(value: unknown): string | null | undefined {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return undefined;
  if (Array.isArray(value)) {
    const elements: string[] = [];
    for (const element of value) {
      if (element === null || element === undefined) elements.push('NULL');
      else if (typeof element === 'string' || typeof element === 'number' || typeof element === 'boolean') {
        elements.push(`"${String(element).replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`);
      } else return undefined;
    }
    return `{${elements.join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * `text` with its `$n` parameters written in as quoted literals, so that it
 * can share one simple-protocol message with other statements. A quoted
 * literal without a cast is typed from its context, as a parameter is, so the
 * statement means the same. Returns undefined when that cannot be done safely:
 * dollar-quoted bodies, a parameter without a value, or a value without a
 * simple literal form.
 */
export function inlineParameters(text: string, values: readonly unknown[]): string | undefined {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const char = text[i]!;
    const next = text[i + 1];
    const previous = text[i - 1] ?? ' ';
    if (char === "'" && /[eEuUbBxX&]/.test(previous)) {
      return undefined; // escape-string and other prefixed literals are not scanned here
    } else if (char === "'" || char === '"') {
      // A quoted literal or identifier; a doubled quote inside it is an escaped quote.
      let end = i + 1;
      for (;;) {
        end = text.indexOf(char, end);
        if (end === -1) return undefined;
        if (text[end + 1] === char) end += 2;
        else break;
      }
      out += text.slice(i, end + 1);
      i = end + 1;
    } else if (char === '-' && next === '-') {
      const end = text.indexOf('\n', i);
      out += end === -1 ? text.slice(i) : text.slice(i, end);
      i = end === -1 ? text.length : end;
    } else if (char === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end === -1) return undefined;
      out += text.slice(i, end + 2);
      i = end + 2;
    } else if (char === '$' && !/\w/.test(previous)) {
      const match = /^\$(\d+)/.exec(text.slice(i, i + 12));
      if (!match) return undefined; // a dollar-quoted body
      const index = Number(match[1]) - 1;
      if (index < 0 || index >= values.length) return undefined;
      const literal = parameterText(values[index]);
      if (literal === undefined) return undefined;
      out += literal === null ? 'NULL' : escapeLiteral(literal);
      i += match[0].length;
    } else {
      out += char;
      i++;
    }
  }
  return out;
}
