/** GraphQL gives null for omitted optional inputs; the queue layer takes undefined. */
export type WithoutNulls<T> = { [K in keyof T]: Exclude<T[K], null> };

export function withoutNulls<T extends object>(input: T | null | undefined): WithoutNulls<T> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input ?? {})) {
    if (value !== null) result[key] = value;
  }
  return result as WithoutNulls<T>;
}
