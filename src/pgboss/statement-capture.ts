import type pg from 'pg';
import type { Db } from 'pg-boss';

type QueryResult = pg.QueryResult<Record<string, unknown>>;

/**
 * Stands in for pg-boss's executor to learn the one statement a call runs,
 * and hands that call its result once the statement has run elsewhere.
 */
export class CapturedStatement {
  text = '';
  values: unknown[] | undefined;
  readonly #reached: Promise<void>;
  #onReached: () => void = () => {};
  #taken = false;
  readonly #result: Promise<QueryResult>;
  #succeed: (result: QueryResult) => void = () => {};
  #fail: (error: unknown) => void = () => {};

  constructor() {
    this.#reached = new Promise((resolve) => (this.#onReached = resolve));
    this.#result = new Promise((resolve, reject) => {
      this.#succeed = resolve;
      this.#fail = reject;
    });
    // Failed before any call asked for it, it is nobody's error.
    this.#result.catch(() => {});
  }

  readonly db: Db = {
    executeSql: (text, values) => {
      if (this.#taken) return Promise.reject(new Error('a second statement where one was expected'));
      this.#taken = true;
      this.text = text;
      this.values = values;
      this.#onReached();
      return this.#result;
    },
  };

  /** True once `call` runs its statement; false when it ends without one. */
  reachedBy(call: Promise<unknown>): Promise<boolean> {
    return Promise.race([
      this.#reached.then(() => true),
      call.then(
        () => this.#taken,
        () => this.#taken,
      ),
    ]);
  }

  succeed(result: QueryResult): void {
    this.#succeed(result);
  }

  fail(error: unknown): void {
    this.#fail(error);
  }
}
