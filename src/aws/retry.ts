/**
 * The SDK retry strategy rollwave gives every client: the SDK's own error classification
 * (throttling / transient / server / client) decides *whether* to retry; this strategy decides
 * *how long* to wait, on the injected clock, so that backoff scales with a simulator's clock and
 * is steppable in tests.
 *
 * Why not the SDK's StandardRetryStrategy as is: it sleeps on wall-clock timers, and its shared
 * retry quota (500 tokens, 5 per throttled retry) runs dry in a long throttling storm, after which
 * every call fails at once. A rollout must slow down in a storm, never fail, so throttled calls get
 * their own, larger attempt budget and there is no shared quota.
 *
 * Backoff is "full jitter": a random delay in [0, min(cap, base · 2^retry)), base 1 s for
 * throttling and 100 ms for transient errors, cap 20 s. With the defaults a call that keeps
 * being throttled retries for about 8 minutes before it gives up.
 *
 * Operations that are not idempotent (SSM SendCommand: no client token) get one attempt against an
 * ambiguous failure — a 5xx, a timeout, a reset connection — since AWS may have done the work and
 * only the answer was lost; a second attempt would run the step twice. The caller decides what an
 * ambiguous failure means (the engine looks the command up by its Comment token before sending
 * again). A throttling error is still retried: AWS refused the request before doing anything.
 */
import type { RetryErrorInfo, RetryStrategyV2, RetryToken } from "@smithy/types";
import type { Clock } from "../util/clock.js";

export interface RetryPolicy {
  /** Attempts (first try included) for transient errors: 5xx, timeouts, connection resets. */
  maxAttempts: number;
  /** Attempts (first try included) while the service keeps answering with throttling errors. */
  maxThrottledAttempts: number;
  baseDelayMs: number;
  throttleBaseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  maxAttempts: 10,
  maxThrottledAttempts: 50,
  baseDelayMs: 100,
  throttleBaseDelayMs: 1_000,
  maxDelayMs: 20_000,
};

class Token implements RetryToken {
  constructor(
    readonly count: number,
    readonly throttled: number,
  ) {}
  getRetryCount(): number {
    return this.count;
  }
  /** The strategy already slept on the clock; the SDK's middleware must not sleep again. */
  getRetryDelay(): number {
    return 0;
  }
}

export class ClockRetryStrategy implements RetryStrategyV2 {
  readonly mode = "standard";
  constructor(
    private readonly clock: Clock,
    private readonly policy: RetryPolicy,
    /** Called for every throttling error, before deciding to retry (so the last one counts too). */
    private readonly onThrottled: (errorInfo: RetryErrorInfo) => void,
    private readonly random: () => number = Math.random,
    /** True for a failure of an operation that must not be repeated on an ambiguous error. */
    private readonly singleAttempt: (errorInfo: RetryErrorInfo) => boolean = () => false,
  ) {}

  async acquireInitialRetryToken(_scope: string): Promise<RetryToken> {
    return new Token(0, 0);
  }

  async refreshRetryTokenForRetry(previous: RetryToken, errorInfo: RetryErrorInfo): Promise<RetryToken> {
    const token = previous instanceof Token ? previous : new Token(previous.getRetryCount(), 0);
    const throttled = errorInfo.errorType === "THROTTLING";
    if (throttled) this.onThrottled(errorInfo);
    if (!throttled && errorInfo.errorType !== "TRANSIENT") throw new Error("not retryable");
    if (!throttled && this.singleAttempt(errorInfo))
      throw new Error("not repeated: the request may have been applied");
    const attempts = token.count + 1;
    const throttledAttempts = token.throttled + (throttled ? 1 : 0);
    const transientAttempts = attempts - throttledAttempts;
    // Each kind of failure has its own budget: a storm of throttling does not use up the few
    // attempts a flaky network needs, and the other way round.
    const exhausted = throttled
      ? throttledAttempts >= this.policy.maxThrottledAttempts
      : transientAttempts >= this.policy.maxAttempts;
    if (exhausted) throw new Error("retry attempts exhausted");
    const base = throttled ? this.policy.throttleBaseDelayMs : this.policy.baseDelayMs;
    const ceiling = Math.min(this.policy.maxDelayMs, base * 2 ** Math.min(token.count, 30));
    await this.clock.sleep(Math.floor(this.random() * ceiling));
    return new Token(attempts, throttledAttempts);
  }

  recordSuccess(_token: RetryToken): void {}
}
