import { describe, expect, it } from '@jest/globals';
import { shareAbortReason } from '../../src/graphql/shared-abort-reason.ts';

describe('aborts without a reason', () => {
  it('share one AbortError, as Node would make it, and keep a reason given', () => {
    shareAbortReason();
    const [first, second, given] = [new AbortController(), new AbortController(), new AbortController()];
    first.abort();
    second.abort();
    const reason = new Error('given');
    given.abort(reason);
    expect(first.signal.aborted).toBe(true);
    expect(first.signal.reason).toBeInstanceOf(DOMException);
    expect(first.signal.reason).toMatchObject({ name: 'AbortError', message: 'This operation was aborted' });
    expect(second.signal.reason).toBe(first.signal.reason);
    expect(given.signal.reason).toBe(reason);
    expect(() => first.signal.throwIfAborted()).toThrow('This operation was aborted');
  });
});
