import { Scope } from '../generated/prisma/enums.ts';

export { Scope };
export type ScopeName = (typeof Scope)[keyof typeof Scope];

export const ALL_SCOPES: readonly ScopeName[] = Object.values(Scope);
export const DEFAULT_SCOPES: readonly ScopeName[] = [Scope.PUBLISH, Scope.READ, Scope.WORK];

export function parseScopes(list: string): ScopeName[] {
  const names = list
    .split(',')
    .map((part) => part.trim().toUpperCase())
    .filter(Boolean);
  const unknown = names.filter((name) => !ALL_SCOPES.includes(name as ScopeName));
  if (unknown.length) throw new Error(`unknown scope(s): ${unknown.join(', ')}; known: ${ALL_SCOPES.join(', ')}`);
  return [...new Set(names as ScopeName[])];
}
