import type { GroupConcurrencyConfig } from 'pg-boss';
import { badInput } from '../errors.ts';

export const MAX_GROUP_TIERS = 50;
const MAX_TIER_NAME_LENGTH = 255;

/** `workAssigned(groupConcurrency:)` as GraphQL gives it. */
export interface GroupConcurrencyInput {
  default: number;
  tiers?: readonly { tier: string; limit: number }[] | null | undefined;
}

/** pg-boss's group limits from a worker's request; BAD_USER_INPUT for anything out of range. */
export function toGroupLimits(input: GroupConcurrencyInput, maxLimit: number): GroupConcurrencyConfig {
  const inRange = (value: number) => Number.isInteger(value) && value >= 1 && value <= maxLimit;
  if (!inRange(input.default)) throw badInput(`"groupConcurrency.default" must be 1-${maxLimit}`, { argument: 'groupConcurrency' });
  const tiers = input.tiers ?? [];
  if (tiers.length > MAX_GROUP_TIERS) throw badInput(`"groupConcurrency.tiers" holds at most ${MAX_GROUP_TIERS} tiers`, { argument: 'groupConcurrency' });
  // A Map, not an object: a tier may be named "__proto__".
  const byTier = new Map<string, number>();
  for (const { tier, limit } of tiers) {
    if (tier.length === 0 || tier.length > MAX_TIER_NAME_LENGTH || byTier.has(tier)) {
      throw badInput(`"groupConcurrency.tiers": each tier is named once, in 1-${MAX_TIER_NAME_LENGTH} characters`, { argument: 'groupConcurrency' });
    }
    if (!inRange(limit)) throw badInput(`"groupConcurrency.tiers": each limit must be 1-${maxLimit}`, { argument: 'groupConcurrency' });
    byTier.set(tier, limit);
  }
  return tiers.length ? { default: input.default, tiers: Object.fromEntries(byTier) } : { default: input.default };
}

/**
 * The limits a claim for several workers of one queue applies: the strictest
 * of theirs, tier by tier (a tier one worker does not name is under its
 * default). Undefined when none of them asked for limits.
 */
export function strictestGroupLimits(requested: Iterable<GroupConcurrencyConfig | undefined>): GroupConcurrencyConfig | undefined {
  const limits = [...requested].filter((config): config is GroupConcurrencyConfig => config !== undefined);
  if (limits.length === 0) return undefined;
  if (limits.length === 1) return limits[0];
  const tierNames = new Set(limits.flatMap((config) => Object.keys(config.tiers ?? {})));
  const strictest = Math.min(...limits.map((config) => config.default));
  if (tierNames.size === 0) return { default: strictest };
  const tierLimit = (config: GroupConcurrencyConfig, tier: string) =>
    config.tiers && Object.hasOwn(config.tiers, tier) ? config.tiers[tier]! : config.default;
  const tiers = Object.fromEntries([...tierNames].map((tier) => [tier, Math.min(...limits.map((config) => tierLimit(config, tier)))]));
  return { default: strictest, tiers };
}
