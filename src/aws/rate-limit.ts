/**
 * A client-side token bucket running on the injected clock, awaited before every request a client
 * sends (including each SDK retry). Waiters are served first come, first served.
 *
 * Worked example, burst 2 and 1/s, five requests at t=0: two go at t=0, then one at t=1s, t=2s, t=3s.
 */
import type { Clock } from "../util/clock.js";
import type { RateLimit } from "./services.js";

export class TokenBucket {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly limit: RateLimit,
    private readonly clock: Clock,
  ) {
    if (!(limit.burst >= 1) || !(limit.perSecond > 0)) {
      throw new RangeError(`rate limit needs burst >= 1 and perSecond > 0, got ${JSON.stringify(limit)}`);
    }
    this.tokens = limit.burst;
    this.last = clock.now();
  }

  /** Resolves when one request may be sent. Rejects only if `signal` aborts while waiting. */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(() => this.takeOne(signal));
    // A waiter that aborted must not block the ones behind it.
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Tokens available now (fractional), for tests and diagnostics. */
  available(): number {
    this.refill();
    return this.tokens;
  }

  private async takeOne(signal?: AbortSignal): Promise<void> {
    for (;;) {
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      const waitMs = Math.max(1, Math.ceil(((1 - this.tokens) / this.limit.perSecond) * 1000));
      await this.clock.sleep(waitMs, signal);
    }
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.last);
    this.tokens = Math.min(this.limit.burst, this.tokens + (elapsed / 1000) * this.limit.perSecond);
    this.last = now;
  }
}
