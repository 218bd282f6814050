import { describe, expect, it } from '@jest/globals';
import { strictestGroupLimits, toGroupLimits } from '../../src/dispatch/group-limits.ts';

describe('group limits', () => {
  it('the strictest of several workers, tier by tier; a tier a worker does not name is under its default', () => {
    expect(strictestGroupLimits([undefined, undefined])).toBeUndefined();
    expect(strictestGroupLimits([undefined, { default: 3 }])).toEqual({ default: 3 });
    expect(strictestGroupLimits([{ default: 3 }, { default: 2 }])).toEqual({ default: 2 });
    expect(strictestGroupLimits([{ default: 5, tiers: { gold: 8, silver: 1 } }, { default: 4 }])).toEqual({ default: 4, tiers: { gold: 4, silver: 1 } });
    expect(
      strictestGroupLimits([
        { default: 5, tiers: { gold: 8 } },
        { default: 6, tiers: { gold: 7, bronze: 2 } },
      ]),
    ).toEqual({ default: 5, tiers: { gold: 7, bronze: 2 } });
  });

  it("turns the GraphQL input into pg-boss's config and refuses what is out of range", () => {
    expect(toGroupLimits({ default: 2 }, 10)).toEqual({ default: 2 });
    expect(toGroupLimits({ default: 2, tiers: [{ tier: 'gold', limit: 5 }] }, 10)).toEqual({ default: 2, tiers: { gold: 5 } });
    for (const input of [
      { default: 0 },
      { default: 11 },
      { default: 1.5 },
      { default: 1, tiers: [{ tier: '', limit: 1 }] },
      { default: 1, tiers: [{ tier: 'a', limit: 0 }] },
      {
        default: 1,
        tiers: [
          { tier: 'a', limit: 1 },
          { tier: 'a', limit: 2 },
        ],
      },
      {
        default: 1,
        tiers: [
          { tier: '__proto__', limit: 1 },
          { tier: '__proto__', limit: 1 },
        ],
      },
    ]) {
      expect(() => toGroupLimits(input, 10)).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }));
    }
  });
});
