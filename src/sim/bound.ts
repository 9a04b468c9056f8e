/**
 * The physical bound on a rollout's makespan (rollout-speed issue §1), from what the simulator drew
 * (`intrinsic` in GET /_sim/state), never from plan constants:
 *
 *   bound = canary + bake + max( Σ service ÷ window,  Σ displaced ÷ maxDisplacedPerMinute,  longest )
 *
 * - an instance's **service time** is its intrinsic commands + drain + health, plus the plan's
 *   `stableFor` once per cycle;
 * - **canary** is the longest canary instance (canaries run side by side), and the sums and the
 *   longest instance in the max are over the other instances;
 * - the **window** is the smallest of `maxUnavailable`, the per-AZ caps added up, and the capacity
 *   limit (how many may be out at once without breaking the floor).
 *
 * Worked example: canary 1 instance of 400 s, bake 600 s, 9 others of 400 s each with 100 displaced
 * connections, window 3, 600 displaced/min: max(3,600 s ÷ 3 = 1,200 s, 900 ÷ 600 min = 90 s,
 * 400 s) = 1,200 s, bound = 400 + 600 + 1,200 = 2,200 s.
 */
import type { SimIntrinsic } from "./model/api.js";

interface BoundInstance {
  instanceId: string;
  /** Commands + drain + health, as drawn (SimIntrinsic.serviceMs). */
  serviceMs: number;
  /** Connections displaced by its drain(s). */
  displaced: number;
  /** How many times it went out of service and back (stableFor is paid per cycle); default 1. */
  cycles?: number;
}

interface BoundInput {
  instances: BoundInstance[];
  /** Instances in the canary wave (their time counts as the canary, not in the sums). */
  canaryIds?: string[];
  bakeMs?: number;
  /** The plan's health.stableFor. */
  stableForMs?: number;
  /** The effective window: see `effectiveWindow`. */
  window: number;
  /** The plan's capacity.maxDisplacedPerMinute; absent or null = no displacement limit. */
  maxDisplacedPerMinute?: number | null;
}

interface Bound {
  boundMs: number;
  canaryMs: number;
  bakeMs: number;
  /** The max of the three terms below. */
  batchMs: number;
  terms: { serviceOverWindowMs: number; displacedOverRateMs: number; longestInstanceMs: number };
  /** Which term set the batch phase. */
  limitedBy: "window" | "displacement" | "longest-instance";
}

export function physicalBound(input: BoundInput): Bound {
  if (!(input.window >= 1)) throw new RangeError(`the window must be at least 1, got ${input.window}`);
  const stable = input.stableForMs ?? 0;
  const canary = new Set(input.canaryIds ?? []);
  const time = (i: BoundInstance) => i.serviceMs + stable * Math.max(1, i.cycles ?? 1);
  let canaryMs = 0;
  let serviceSum = 0;
  let displacedSum = 0;
  let longest = 0;
  for (const i of input.instances) {
    if (canary.has(i.instanceId)) {
      canaryMs = Math.max(canaryMs, time(i));
      continue;
    }
    serviceSum += time(i);
    displacedSum += i.displaced;
    longest = Math.max(longest, time(i));
  }
  const rate = input.maxDisplacedPerMinute;
  const terms = {
    serviceOverWindowMs: serviceSum / input.window,
    displacedOverRateMs: rate && rate > 0 ? (displacedSum / rate) * 60_000 : 0,
    longestInstanceMs: longest,
  };
  const batchMs = Math.max(terms.serviceOverWindowMs, terms.displacedOverRateMs, terms.longestInstanceMs);
  const limitedBy =
    batchMs === terms.serviceOverWindowMs
      ? "window"
      : batchMs === terms.displacedOverRateMs
        ? "displacement"
        : "longest-instance";
  const bakeMs = input.bakeMs ?? 0;
  return { boundMs: canaryMs + bakeMs + batchMs, canaryMs, bakeMs, batchMs, terms, limitedBy };
}

/**
 * The most instances that may be out of service at once: the smallest of `maxUnavailable`, the
 * per-AZ caps added up (each AZ can contribute at most its cap), and the capacity limit.
 */
export function effectiveWindow(o: {
  maxUnavailable: number;
  perAzCaps?: number[] | Record<string, number>;
  capacityLimit?: number;
}): number {
  const caps = o.perAzCaps === undefined ? undefined : Object.values(o.perAzCaps);
  const azTotal = caps === undefined ? Number.POSITIVE_INFINITY : caps.reduce((a, b) => a + b, 0);
  return Math.min(o.maxUnavailable, azTotal, o.capacityLimit ?? Number.POSITIVE_INFINITY);
}

/** The bound's instances from GET /_sim/state's `intrinsic`: only instances that were cycled. */
export function boundInstances(intrinsic: SimIntrinsic[]): BoundInstance[] {
  return intrinsic
    .filter((i) => i.cycles > 0)
    .map((i) => ({
      instanceId: i.instanceId,
      serviceMs: i.serviceMs,
      displaced: i.displaced,
      cycles: i.cycles,
    }));
}

/** Totals of the intrinsic times, for `rollout.finished.sim.intrinsic`. */
export function intrinsicTotals(intrinsic: SimIntrinsic[]): {
  instances: number;
  commandSeconds: number;
  drainSeconds: number;
  healthSeconds: number;
  serviceSeconds: number;
  longestInstanceSeconds: number;
  displacedConnections: number;
  drainsEndedByDelay: number;
} {
  const cycled = intrinsic.filter((i) => i.cycles > 0);
  const sum = (f: (i: SimIntrinsic) => number) => cycled.reduce((a, i) => a + f(i), 0);
  const s = (ms: number) => Math.round(ms / 100) / 10;
  return {
    instances: cycled.length,
    commandSeconds: s(sum((i) => i.commandMs)),
    drainSeconds: s(sum((i) => i.drainMs)),
    healthSeconds: s(sum((i) => i.healthMs)),
    serviceSeconds: s(sum((i) => i.serviceMs)),
    longestInstanceSeconds: s(cycled.reduce((a, i) => Math.max(a, i.serviceMs), 0)),
    displacedConnections: sum((i) => i.displaced),
    drainsEndedByDelay: sum((i) => i.drainsEndedByDelay),
  };
}
