/**
 * When a pushed job's hold is stale for certain, as its worker can tell:
 * pg-boss fails a job still active `expireInSeconds` after it started, or
 * `heartbeatSeconds` after its last heartbeat. The job started before it was
 * received and a touch landed before its answer came, so counting from those
 * moments never gives up on a hold that may still be good.
 */
export class LeaseDeadline {
  readonly #expiresAt: number;
  readonly #heartbeatMs: number | null;
  #touchedAt: number;

  constructor(job: { expireInSeconds: number; heartbeatSeconds: number | null }, receivedAt = Date.now()) {
    this.#expiresAt = receivedAt + job.expireInSeconds * 1000;
    this.#heartbeatMs = job.heartbeatSeconds ? job.heartbeatSeconds * 1000 : null;
    this.#touchedAt = receivedAt;
  }

  /** A touch was answered. */
  touched(answeredAt = Date.now()): void {
    this.#touchedAt = answeredAt;
  }

  /** Epoch ms. */
  get staleAt(): number {
    return this.#heartbeatMs === null ? this.#expiresAt : Math.min(this.#expiresAt, this.#touchedAt + this.#heartbeatMs);
  }
}
