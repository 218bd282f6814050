/** What the producer needs of `fetch`: the global one fits, as do undici's and most polyfills. */
export type FetchLike = (
  url: string,
  init: { method: 'POST'; headers: Record<string, string>; body: string },
) => Promise<{ readonly status: number; json(): Promise<unknown> }>;
