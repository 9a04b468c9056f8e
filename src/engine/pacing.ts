/**
 * Displacement pacing (pure): how many connections may be pushed off their servers, and when.
 *
 * `capacity.connections.maxDisplacedPerMinute` is enforced by two rules together:
 *  - a **token bucket** that refills every whole second by `maxDisplacedPerMinute / 60`, holding at
 *    most `burst` tokens. An instance leaves service when the bucket holds its connections (or, for
 *    an instance bigger than the burst, when the bucket is full; the bucket then goes into debt).
 *    This spreads departures evenly over the minute instead of releasing a minute's budget at once.
 *  - the **hard minute**: the connections displaced over any 60 s stay ≤ `maxDisplacedPerMinute`
 *    (except one instance alone in a quiet minute, so a single big instance cannot block forever).
 *    The bucket alone could exceed it by up to `burst` in the minute after a quiet spell.
 *
 * Worked example, 3,000/min (50 per second, burst 500), instances of 180 connections: after a quiet
 * spell two go at once (500 → 140 tokens), then one every 3.6 s on average (at whole seconds: 4, 4,
 * 3, 4, … s apart), which is 3,000 per minute, never more in any 60 s.
 *
 * The bucket lives in the engine state (journaled), refilled lazily from `at`, so a tick that admits
 * nothing changes nothing.
 */
import type { GlobalState } from "./state.js";

export interface PacingBucket {
  /** Tokens (connections) available at `at`; negative after an instance bigger than the burst. */
  tokens: number;
  /** A whole-second refill boundary: tokens are up to date as of this time. */
  at: number;
}

const MINUTE_MS = 60_000;
const SECOND_MS = 1_000;

/** Refill per second for a per-minute budget. */
export function refillPerSecond(perMinute: number): number {
  return perMinute / 60;
}

/**
 * The most tokens the bucket holds: 10 seconds of refill. Small enough that a quiet spell releases at
 * most a sixth of a minute's budget at once; large enough that a typical instance fits (3,000/min →
 * 500, almost three 180-connection servers).
 */
export function burstFor(perMinute: number): number {
  return refillPerSecond(perMinute) * 10;
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

export type PaceVerdict = { admit: true } | { admit: false; reason: string; retryAt: number };

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
  const need = needed(n, perMinute);
  if (b.tokens >= need) return { admit: true };
  const seconds = Math.ceil((need - b.tokens) / refillPerSecond(perMinute));
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
