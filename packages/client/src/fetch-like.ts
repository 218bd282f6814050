/** What the producer needs of `fetch`: the global one fits, as do undici's and most polyfills. */
export type FetchLike = (url: string, init: { method: 'POST'; headers: Record<string, string>; body: string; signal?: AbortSignal }) => Promise<FetchResponse>;

/** The parts of a `Response` the producer reads; `events()` and `sendAndWait` need `body` as a stream. */
export interface FetchResponse {
  readonly status: number;
  readonly headers?: { get(name: string): string | null };
  readonly body?: ReadableStream<Uint8Array> | null;
  json(): Promise<unknown>;
}
