/**
 * A clock that follows another process's scaled clock: a standalone `rollwave sim` advertises its
 * simulated time and scale on `GET /_sim/clock`, and a CLI run pointed at it (`--sim-clock`) reads
 * that once and then runs the same line locally. Both sides measure elapsed real time with their own
 * monotonic clock, so after the first reading they agree up to the reading's latency (about half a
 * round trip, times the scale: ~1 ms real at ×60 is 60 simulated ms) and drift only as fast as two
 * monotonic clocks on one machine drift apart, which is not at all in practice.
 *
 * Why not ask the simulator for the time on every `now()`? `now()` is synchronous (the engine reads
 * it in pure code), and the two clocks already run at the same rate.
 */
import { ScaledClock } from "./clock.js";

/** What `GET /_sim/clock` answers. `scale` is null when the simulator's clock is a manual one (tests). */
interface AdvertisedClock {
  /** The simulator's simulated time, epoch ms. */
  now: number;
  /** Simulated ms per real ms; null when the clock only moves when a test advances it. */
  scale: number | null;
}

export class ClockFollowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ClockFollowError";
  }
}

export class FollowingClock extends ScaledClock {
  /**
   * `sample.now` was the remote time at the local instant `sampledAt` (performance.now()); by
   * default, now.
   */
  constructor(
    readonly endpoint: string,
    sample: { now: number; scale: number },
    sampledAt: number = performance.now(),
  ) {
    // ScaledClock starts its line at construction; shift the start by what elapsed since the sample.
    super(sample.scale, sample.now + (performance.now() - sampledAt) * sample.scale);
  }

  /**
   * Reads `${endpoint}/_sim/clock` a few times and keeps the reading with the shortest round trip,
   * taken as the remote time at that round trip's midpoint.
   */
  static async follow(
    endpoint: string,
    o: { samples?: number; timeoutMs?: number } = {},
  ): Promise<FollowingClock> {
    const url = `${endpoint.replace(/\/+$/, "")}/_sim/clock`;
    let best: { rtt: number; mid: number; clock: AdvertisedClock } | undefined;
    for (let i = 0; i < (o.samples ?? 3); i++) {
      const sent = performance.now();
      let body: unknown;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(o.timeoutMs ?? 5_000) });
        if (!res.ok) throw new ClockFollowError(`${url} answered HTTP ${res.status}`);
        body = await res.json();
      } catch (err) {
        if (err instanceof ClockFollowError) throw err;
        throw new ClockFollowError(`cannot read ${url}: ${err instanceof Error ? err.message : String(err)}`);
      }
      const received = performance.now();
      const clock = parseAdvertised(body, url);
      const rtt = received - sent;
      if (!best || rtt < best.rtt) best = { rtt, mid: sent + rtt / 2, clock };
    }
    if (!best) throw new ClockFollowError("samples must be at least 1");
    const { scale, now } = best.clock;
    if (scale === null) {
      throw new ClockFollowError(
        `the simulator at ${endpoint} runs a manual clock (it moves only when its test advances it), which cannot be followed`,
      );
    }
    return new FollowingClock(endpoint, { now, scale }, best.mid);
  }
}

function parseAdvertised(body: unknown, url: string): AdvertisedClock {
  const b = body as Partial<AdvertisedClock> | null;
  const ok =
    b !== null &&
    typeof b === "object" &&
    typeof b.now === "number" &&
    Number.isFinite(b.now) &&
    (b.scale === null || (typeof b.scale === "number" && b.scale > 0));
  if (!ok) {
    throw new ClockFollowError(
      `${url} did not answer a clock ({"now": <epoch ms>, "scale": <n>}); is it a rollwave simulator?`,
    );
  }
  return { now: b.now as number, scale: b.scale as number | null };
}
