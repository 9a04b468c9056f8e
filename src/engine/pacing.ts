/**
 * Displacement pacing (pure): how many connections may be pushed off their servers, and when.
 *
 * `capacity.connections.maxDisplacedPerMinute` is enforced by two rules together:
 *  - a **token bucket** that refills every whole second by `maxDisplacedPerMinute / 60`, holding at
 *    most `burst` (20 s of refill) tokens. A group of departures starts when the bucket is full and
 *    takes instances while it holds their connections (an instance bigger than the burst goes alone
 *    on a full bucket, which then goes into debt). Departures come in small groups every ~20 s at
 *    the full rate, instead of a minute's budget at once and then nothing: the group keeps the
 *    calls batched (instances that leave together are drained, deployed and read together, ≤ 3
 *    calls per instance), one at a time would cost a SendCommand and a read per instance.
 *  - the **hard minute**: the connections displaced over any 60 s stay ≤ `maxDisplacedPerMinute`
 *    (except one instance alone in a quiet minute, so a single big instance cannot block forever).
 *    The bucket alone could exceed it by up to `burst` in the minute after a quiet spell.
 *
 * Worked example, 3,000/min (50 per second, burst 1,000), instances of 180 connections: five go at
 * once (1,000 → 100 tokens), the bucket is full again 18 s later, five more go: 3,000 per minute,
 * never more in any 60 s.
 *
 * The bucket lives in the engine state (journaled), refilled lazily from `at`, so a tick that admits
 * nothing changes nothing.
 */
import type { GlobalState } from "./state.js";

interface PacingBucket {
  /** Tokens (connections) available at `at`; negative after an instance bigger than the burst. */
  tokens: number;
  /** A whole-second refill boundary: tokens are up to date as of this time. */
  at: number;
}

const MINUTE_MS = 60_000;
const SECOND_MS = 1_000;

/** Refill per second for a per-minute budget. */
function refillPerSecond(perMinute: number): number {
  return perMinute / 60;
}

/**
 * The most tokens the bucket holds: 20 seconds of refill (3,000/min → 1,000, five 180-connection
 * servers). Small enough that at most a third of a minute's budget leaves at once; large enough for
 * groups that keep the calls per instance low.
 */
export function burstFor(perMinute: number): number {
  return refillPerSecond(perMinute) * 20;
}

/** The bucket as of `now` (whole seconds of refill since `at`, capped at the burst). */
export function refill(b: PacingBucket | undefined, now: number, perMinute: number): PacingBucket {
  const burst = burstFor(perMinute);
  if (!b) return { tokens: burst, at: Math.floor(now / SECOND_MS) * SECOND_MS };
  const seconds = Math.floor((now - b.at) / SECOND_MS);
  if (seconds <= 0) return b;
  return {
    tokens: Math.min(burst, b.tokens + seconds * refillPerSecond(perMinute)),
    at: b.at + seconds * SECOND_MS,
  };
}

type PaceVerdict = { admit: true } | { admit: false; reason: string; retryAt: number };

/** Tokens an instance with `n` connections needs: its connections, at most a full bucket. */
function needed(n: number, perMinute: number): number {
  return Math.min(n, burstFor(perMinute));
}

/**
 * May an instance carrying `n` connections leave service at `now`? `retryAt` (when not) is the
 * earliest time the answer can change, for the runner's sleep.
 */
export function paceVerdict(g: GlobalState, now: number, n: number, perMinute: number): PaceVerdict {
  const recent = g.displaced.filter((d) => d.at > now - MINUTE_MS);
  const sum = recent.reduce((a, d) => a + d.n, 0);
  if (recent.length > 0 && sum + n > perMinute) {
    // The hard minute: wait until enough of the oldest displacements are more than 60 s old.
    let left = sum + n - perMinute;
    let retryAt = now + SECOND_MS;
    for (const d of [...recent].sort((a, b) => a.at - b.at)) {
      left -= d.n;
      retryAt = d.at + MINUTE_MS + 1;
      if (left <= 0) break;
    }
    return {
      admit: false,
      reason: `capacity: displacing ${n} more connections would exceed ${perMinute}/min (${sum} in the last minute)`,
      retryAt,
    };
  }
  const b = refill(g.pacing, now, perMinute);
  const burst = burstFor(perMinute);
  // A group starts on a full bucket and goes on, within this tick, while the tokens last.
  const inGroup = g.displaced.at(-1)?.at === now;
  if (b.tokens >= (inGroup ? needed(n, perMinute) : burst)) return { admit: true };
  const seconds = Math.ceil((burst - b.tokens) / refillPerSecond(perMinute));
  return {
    admit: false,
    reason: `capacity: pacing displacement at ${perMinute}/min`,
    retryAt: b.at + Math.max(1, seconds) * SECOND_MS,
  };
}

/** Record an admitted instance's `n` displaced connections (mutates `g`, a clone owned by decide). */
export function chargeDisplacement(g: GlobalState, now: number, n: number, perMinute: number | null): void {
  g.displaced = g.displaced.filter((d) => d.at > now - MINUTE_MS);
  g.displaced.push({ at: now, n });
  if (perMinute === null) return;
  const b = refill(g.pacing, now, perMinute);
  g.pacing = { tokens: b.tokens - n, at: b.at };
}
