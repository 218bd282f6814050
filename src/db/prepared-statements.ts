import type pg from 'pg';
import type { Db } from 'pg-boss';
import { queueNamesAsParameters } from './queue-name-parameters.ts';

/** Anything that runs a query config: a pool, or one of its clients inside a transaction. */
export interface Queryable {
  query(config: pg.QueryConfig): Promise<pg.QueryResult>;
}

/** Process-wide, so two caches sharing a connection never give one name to two texts. */
let serial = 0;

/** Errors that mean PostgreSQL took a name as a parameter where it needed the literal: the text runs as written instead. */
const PARAMETER_REFUSED = new Set(['42P18', '42804', '42883', '42601']);

export interface PreparedStatementOptions {
  /** Distinct texts kept prepared at once; the least recently used make room. */
  capacity?: number;
  /** Runs of a text before it is prepared, so one-off texts never take a slot. */
  threshold?: number;
  /**
   * False behind a transaction-pooling PgBouncer, where a statement prepared
   * on one server connection is unknown to the next: nothing is named.
   */
  enabled?: boolean;
}

/**
 * Names for the parameterised SQL texts that run again and again (pg-boss's
 * insert and settle statements, the gateway's own reads), so that
 * node-postgres prepares each one once per connection and PostgreSQL stops
 * parsing and planning it on every call: pg-boss's single-job insert spends
 * about as long being planned as being run. Texts without parameters may
 * hold several statements and are never prepared; nor is pg-boss's fetch
 * (it has none): PostgreSQL keeps one plan for a statement without
 * parameters, and a fetch planned while its queue's table was empty went on
 * joining every row of it once the table held 100,000 jobs (2 s a fetch,
 * against 2 ms planned afresh). A text evicted from the
 * cache gets a fresh name when it returns; the pool recycles connections
 * (`maxUses`), so statements left prepared on them do not pile up.
 */
export class PreparedStatements {
  readonly #capacity: number;
  readonly #threshold: number;
  /** Insertion order is recency order: a hit moves its text to the end. */
  readonly #names = new Map<string, string>();
  readonly #runs = new Map<string, number>();
  readonly enabled: boolean;

  constructor({ capacity = 256, threshold = 2, enabled = true }: PreparedStatementOptions = {}) {
    this.#capacity = capacity;
    this.#threshold = threshold;
    this.enabled = enabled;
  }

  /** The query config for one run of `text`: named once the text has earned it. */
  config(text: string, values: readonly unknown[] | undefined): pg.QueryConfig {
    if (!values?.length) return { text };
    if (!this.enabled) return { text, values: [...values] };
    const name = this.#nameFor(text);
    const params = values ? [...values] : [];
    return name ? { name, text, values: params } : { text, values: params };
  }

  /**
   * pg-boss's executor over `queryable`, preparing the texts that recur; a
   * queue's name written into a text becomes a parameter, so one prepared
   * statement serves every queue.
   */
  db(queryable: Queryable): Db {
    return {
      executeSql: async (text, values) => {
        const shared = values?.length && this.enabled ? queueNamesAsParameters(text, values) : null;
        if (!shared) return queryable.query(this.config(text, values));
        try {
          return await queryable.query(this.config(shared.text, shared.values));
        } catch (error) {
          if (!PARAMETER_REFUSED.has((error as { code?: string }).code ?? '')) throw error;
          return queryable.query(this.config(text, values));
        }
      },
    };
  }

  /** How many texts are prepared now (for tests and metrics). */
  get size(): number {
    return this.#names.size;
  }

  #nameFor(text: string): string | undefined {
    const known = this.#names.get(text);
    if (known) {
      this.#names.delete(text);
      this.#names.set(text, known);
      return known;
    }
    const runs = (this.#runs.get(text) ?? 0) + 1;
    if (runs < this.#threshold) {
      // Bounded: the run counts only decide which texts recur, so starting over loses little.
      if (this.#runs.size >= this.#capacity * 8) this.#runs.clear();
      this.#runs.set(text, runs);
      return undefined;
    }
    this.#runs.delete(text);
    if (this.#names.size >= this.#capacity) this.#names.delete(this.#names.keys().next().value!);
    const name = `jobgate_${(++serial).toString(36)}`;
    this.#names.set(text, name);
    return name;
  }
}
