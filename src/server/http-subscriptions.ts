import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { unauthenticated } from '../errors.ts';
import type { Context } from '../graphql/context.ts';
import type { TokenSessions } from './token-sessions.ts';

/** setTimeout's longest delay; a later expiry is armed by the periodic token re-check. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Live {
  end(): void;
  expiry: NodeJS.Timeout | undefined;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<ExecutionResult> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/**
 * Subscriptions over HTTP (server-sent events and the like), by the token
 * that opened them, so that revocation and expiry end them as they close a
 * token's sockets: each gets a last result with UNAUTHENTICATED, then ends.
 */
export class HttpSubscriptions implements TokenSessions {
  readonly #byToken = new Map<string, Set<Live>>();

  /** The Yoga plugin that registers every subscription made over HTTP. */
  plugin(): Plugin<Context> {
    return {
      onSubscribe: ({ args }) => {
        const context = args.contextValue;
        if (context.connection !== null) return;
        return {
          onSubscribeResult: ({ result, setResult }) => {
            if (isAsyncIterable(result)) setResult(this.#endable(result, context.viewer.tokenId, context.viewer.expiresAt));
          },
        };
      },
    };
  }

  /**
   * The source's results until the token is revoked or expires, then one
   * with UNAUTHENTICATED. A plain iterator rather than a generator or a
   * Repeater: those run nothing until first read, so returning one never
   * read would not return the source (and free the subscription's slot).
   */
  #endable(source: AsyncIterable<ExecutionResult>, tokenId: string, expiresAt: Date | null): AsyncIterableIterator<ExecutionResult> {
    const iterator = source[Symbol.asyncIterator]();
    let revoke: () => void = () => {};
    const revoked = new Promise<'revoked'>((resolve) => (revoke = () => resolve('revoked')));
    const live: Live = { end: () => revoke(), expiry: undefined };
    this.#arm(live, expiresAt);
    let lives = this.#byToken.get(tokenId);
    if (!lives) this.#byToken.set(tokenId, (lives = new Set()));
    lives.add(live);
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(live.expiry);
      lives.delete(live);
      if (lives.size === 0 && this.#byToken.get(tokenId) === lives) this.#byToken.delete(tokenId);
    };
    const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
    return {
      next: async () => {
        if (finished) return done;
        const next = await Promise.race([iterator.next(), revoked]);
        if (next === 'revoked') {
          finish();
          void iterator.return?.();
          return { done: false, value: { errors: [unauthenticated()] } };
        }
        if (next.done) finish();
        return next;
      },
      return: async () => {
        finish();
        await iterator.return?.();
        return done;
      },
      throw: async (error: unknown) => {
        finish();
        if (iterator.throw) return iterator.throw(error);
        throw error;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  #arm(live: Live, expiresAt: Date | null): void {
    clearTimeout(live.expiry);
    const untilExpiry = expiresAt ? expiresAt.getTime() - Date.now() : null;
    live.expiry = untilExpiry !== null && untilExpiry < MAX_TIMER_MS ? setTimeout(() => live.end(), Math.max(0, untilExpiry)).unref() : undefined;
  }

  /** Ends every subscription opened with this token; how many. */
  endForToken(tokenId: string): number {
    const lives = [...(this.#byToken.get(tokenId) ?? [])];
    for (const live of lives) live.end();
    return lives.length;
  }

  /** Ends the token's subscriptions when it expires (its expiry changed). */
  expireTokenAt(tokenId: string, expiresAt: Date | null): void {
    for (const live of this.#byToken.get(tokenId) ?? []) this.#arm(live, expiresAt);
  }

  tokenIds(): string[] {
    return [...this.#byToken.keys()];
  }
}
