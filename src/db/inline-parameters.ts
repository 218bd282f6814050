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

/** A statement text cut at its parameters: text, parameter index, text, ... */
type Template = (string | number)[];

/** Statement texts seen, cut once: pg-boss's settle statements are few and recur. */
const templates = new Map<string, Template | null>();
const MAX_TEMPLATES = 128;

/** Cuts `text` at its `$n` parameters; null when it holds what is not scanned here. */
function cut(text: string): Template | null {
  const parts: Template = [];
  let from = 0;
  let i = 0;
  while (i < text.length) {
    const char = text[i]!;
    const next = text[i + 1];
    const previous = text[i - 1] ?? ' ';
    if (char === "'" && /[eEuUbBxX&]/.test(previous)) {
      return null; // escape-string and other prefixed literals are not scanned here
    } else if (char === "'" || char === '"') {
      // A quoted literal or identifier; a doubled quote inside it is an escaped quote.
      let end = i + 1;
      for (;;) {
        end = text.indexOf(char, end);
        if (end === -1) return null;
        if (text[end + 1] === char) end += 2;
        else break;
      }
      i = end + 1;
    } else if (char === '-' && next === '-') {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end;
    } else if (char === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end === -1) return null;
      i = end + 2;
    } else if (char === '$' && !/\w/.test(previous)) {
      const match = /^\$(\d+)/.exec(text.slice(i, i + 12));
      if (!match) return null; // a dollar-quoted body
      parts.push(text.slice(from, i), Number(match[1]) - 1);
      i += match[0].length;
      from = i;
    } else {
      i++;
    }
  }
  parts.push(text.slice(from));
  return parts;
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
  let template = templates.get(text);
  if (template === undefined) {
    template = cut(text);
    if (templates.size >= MAX_TEMPLATES) templates.clear();
    templates.set(text, template);
  }
  if (template === null) return undefined;
  let out = '';
  for (const part of template) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    if (part < 0 || part >= values.length) return undefined;
    const literal = parameterText(values[part]);
    if (literal === undefined) return undefined;
    out += literal === null ? 'NULL' : escapeLiteral(literal);
  }
  return out;
}
