import pg from 'pg';
import { queueNamesAsParameters } from '../db/queue-name-parameters.ts';

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
 * `value` as a quoted SQL literal (or NULL) that means what it means as a
 * parameter: an untyped literal takes its type from where it is used, as a
 * parameter does. Undefined when it has no simple literal form.
 */
export function sqlLiteral(value: unknown): string | undefined {
  const text = parameterText(value);
  return text === undefined ? undefined : text === null ? 'NULL' : escapeLiteral(text);
}

/** SQLSTATE invalid_sql_statement_name: EXECUTE of a name the connection does not hold. */
export const UNKNOWN_PREPARED_STATEMENT = '26000';

/** Texts given a name at once; the least recently used give theirs up. */
const MAX_TEXTS = 256;
/** Statements kept prepared on one connection; the least recently used is deallocated. */
const MAX_PER_CONNECTION = 32;

/** Process-wide, so two instances sharing a connection never give one name to two texts. */
let serial = 0;

/**
 * SQL-level prepared statements (PREPARE, then EXECUTE with literal
 * arguments), for a statement that has to travel in one simple-protocol
 * message with others: its plan is made once per connection, not on every
 * run. Each pooled connection is prepared on first use, one round trip once,
 * and holds at most a few dozen such statements (a queue's name written into
 * a text is made an argument, so queues share them).
 */
export class SqlPrepared {
  /** Statement text → its name, in recency order; names are never reused. */
  readonly #names = new Map<string, string>();
  /** Names prepared on each connection, in recency order. */
  readonly #prepared = new WeakMap<pg.PoolClient, Set<string>>();
  /** Off behind a transaction-pooling PgBouncer: a PREPARE outlives the transaction that made it. */
  readonly #enabled: boolean;

  constructor({ enabled = true }: { enabled?: boolean } = {}) {
    this.#enabled = enabled;
  }

  /**
   * `EXECUTE` of `text` with `values` written in, preparing it on `client`
   * first when needed; undefined when a value has no literal form (or the
   * statements are off).
   */
  async execute(client: pg.PoolClient, written: string, writtenValues: readonly unknown[]): Promise<string | undefined> {
    if (!this.#enabled) return undefined;
    // One statement for every queue: a queue's name written into the text becomes an argument.
    const { text, values } = queueNamesAsParameters(written, writtenValues) ?? { text: written, values: writtenValues };
    const args: string[] = [];
    for (const value of values) {
      const literal = sqlLiteral(value);
      if (literal === undefined) return undefined;
      args.push(literal);
    }
    const name = this.#nameFor(text);
    let prepared = this.#prepared.get(client);
    if (!prepared) this.#prepared.set(client, (prepared = new Set()));
    if (prepared.has(name)) {
      prepared.delete(name);
      prepared.add(name);
    } else {
      if (prepared.size >= MAX_PER_CONNECTION) {
        const oldest = prepared.values().next().value!;
        await client.query(`DEALLOCATE ${oldest}`).catch(() => {});
        prepared.delete(oldest);
      }
      // The extended protocol takes one statement only, so a text holding several cannot run any
      // of them here; a text that cannot be prepared is simply not run this way.
      const prepare: pg.QueryConfig & { queryMode: 'extended' } = { text: `PREPARE ${name} AS ${text}`, queryMode: 'extended' };
      const ok = await client.query(prepare).then(
        () => true,
        () => false,
      );
      if (!ok) return undefined;
      prepared.add(name);
    }
    return args.length ? `EXECUTE ${name}(${args.join(', ')})` : `EXECUTE ${name}`;
  }

  /** After an error that says `client` lost its prepared statements. */
  forget(client: pg.PoolClient): void {
    this.#prepared.delete(client);
  }

  #nameFor(text: string): string {
    let name = this.#names.get(text);
    if (name) this.#names.delete(text);
    else {
      // A connection still holding the old name lets it age out of its own recency order.
      if (this.#names.size >= MAX_TEXTS) this.#names.delete(this.#names.keys().next().value!);
      name = `jobgate_sql_${++serial}`;
    }
    this.#names.set(text, name);
    return name;
  }
}
