/**
 * The capacity guard's arithmetic before a rollout, for `plan` and `deploy --dry-run`: per AZ, the
 * connections now, the most instances the guard would let out at once, which limit binds and the
 * displacement rate to expect. Pure, from one connection reading (read by `readFleetConnections`).
 *
 * Worked example (per AZ, cross-zone off): AZ a has 10 instances carrying 1,800 connections, limit
 * 250 at 10% headroom (225 usable each). The instances that stay must hold 1,800: ⌈1,800 / 225⌉ = 8,
 * so at most 10 − 8 = 2 may be out at once. With `maxUnavailablePerAz: 3` the capacity binds (2).
 */
import type { AwsReader } from "../aws/types.js";
import type { Fleet } from "../fleet/types.js";
import type { Plan } from "../plan/types.js";
import type { WavePlan } from "../waves/types.js";
import { zonalInstances } from "./capacity.js";

/** One connection reading of the planned instances, or why there is none. */
type ConnectionReading =
  | { ok: true; values: Record<string, number>; at: number }
  | { ok: false; reason: string };

export type BindingLimit = "maxUnavailable" | "maxUnavailablePerAz" | "capacity" | "displacement";

interface CapacityAz {
  az: string;
  /** Planned instances in this AZ (in service at the start). */
  instances: number;
  /** Connections on them now (missing datapoints at the limit); null without a reading. */
  connections: number | null;
  /** Instances without a datapoint, counted at the limit. */
  missing: number;
  /** Checked within the AZ (cross-zone off, or `perAz`) rather than fleet-wide. */
  perAz: boolean;
  /** Most instances of this AZ out at once: the smallest of the limits below. */
  maxOut: number;
  binds: BindingLimit;
  /** Out at once allowed by capacity alone (null: fleet-wide, see the total, or no reading). */
  capacityMaxOut: number | null;
  /** Connections displaced per minute to expect while the AZ runs at `maxOut` (null without a reading). */
  displacedPerMinute: number | null;
}

export interface CapacityPreview {
  /** `metric`: the metric's name; for a probe, its command (`statistic` is then `latest`). */
  source: {
    kind: "metric" | "probe";
    metric: string;
    statistic: string;
    readAt: number | null;
    error?: string;
  };
  perInstanceLimit: number;
  headroom: number;
  maxAgeSeconds: number;
  maxDisplacedPerMinute: number | null;
  /** The drain's shortest expected length, the cycle the displacement estimate uses (s). */
  drainSeconds: number;
  azs: CapacityAz[];
  total: {
    instances: number;
    connections: number | null;
    maxOut: number;
    binds: BindingLimit;
    capacityMaxOut: number | null;
    displacedPerMinute: number | null;
  };
}

/** One batched GetMetricData (≤ 500 ids a call) over the planned instances, like the engine's. */
export async function readFleetConnections(
  reader: AwsReader,
  plan: Plan,
  ids: string[],
  now: number,
): Promise<ConnectionReading> {
  const c = plan.capacity.connections;
  if (c?.source.kind !== "metric") return { ok: false, reason: "no connection metric in the plan" };
  try {
    const values = await reader.getInstanceMetric({
      namespace: c.source.namespace,
      metricName: c.source.name,
      dimension: c.source.dimension,
      statistic: c.source.statistic,
      instanceIds: ids,
      periodSeconds: 60,
      start: new Date(now - c.maxAgeMs - 60_000),
      end: new Date(now + 1000),
    });
    return { ok: true, values, at: now };
  } catch (e) {
    return { ok: false, reason: `GetMetricData failed: ${(e as Error).message}` };
  }
}

/** Out at once that capacity allows: the rest must hold `load` at `usable` each. */
function capacityOut(n: number, load: number, usable: number): number {
  if (usable <= 0) return 0;
  return Math.max(0, n - Math.ceil(load / usable));
}

function pick(limits: [BindingLimit, number | null][]): { maxOut: number; binds: BindingLimit } {
  let best: { maxOut: number; binds: BindingLimit } | undefined;
  for (const [binds, v] of limits) {
    if (v === null) continue;
    if (!best || v < best.maxOut) best = { maxOut: v, binds };
  }
  return best ?? { maxOut: 0, binds: "maxUnavailable" };
}

export function capacityPreview(
  plan: Plan,
  fleet: Fleet,
  wavePlan: WavePlan,
  reading: ConnectionReading | undefined,
): CapacityPreview | undefined {
  const c = plan.capacity.connections;
  if (!c) return undefined;
  const limit = c.perInstanceLimit;
  const usable = limit * (1 - c.headroom);
  const zonal = zonalInstances(plan, fleet);
  const planned = wavePlan.waves.flatMap((w) => w.instances);
  const values = reading?.ok ? reading.values : undefined;
  const delays = fleet.targetGroups.map((tg) => tg.deregistrationDelaySeconds);
  const drainSeconds = Math.max(1, Math.min(Math.max(0, ...delays), Math.round(plan.drain.timeoutMs / 1000)));
  const perMinute = (out: number, load: number, n: number) =>
    n === 0 ? 0 : Math.round((out * (load / n) * 60) / drainSeconds);

  const byAz = new Map<string, { n: number; load: number; missing: number; zonal: boolean }>();
  for (const p of planned) {
    const a = byAz.get(p.az) ?? { n: 0, load: 0, missing: 0, zonal: false };
    a.n++;
    const v = values?.[p.id];
    if (v !== undefined) a.load += v;
    else {
      a.load += limit;
      a.missing++;
    }
    if (zonal.has(p.id)) a.zonal = true;
    byAz.set(p.az, a);
  }
  const w = wavePlan.window;
  const azs: CapacityAz[] = [...byAz.keys()].sort().map((az) => {
    const a = byAz.get(az) as { n: number; load: number; missing: number; zonal: boolean };
    const capOut = values && a.zonal ? capacityOut(a.n, a.load, usable) : null;
    const perAzCap = w.perAz[az];
    const limits: [BindingLimit, number | null][] = [
      ["maxUnavailable", Math.min(w.maxUnavailable, a.n)],
      ["maxUnavailablePerAz", perAzCap ?? null],
      ["capacity", capOut],
    ];
    const { maxOut, binds } = pick(limits);
    return {
      az,
      instances: a.n,
      connections: values ? a.load : null,
      missing: values ? a.missing : 0,
      perAz: a.zonal,
      maxOut,
      binds,
      capacityMaxOut: capOut,
      displacedPerMinute: values ? perMinute(maxOut, a.load, a.n) : null,
    };
  });

  const n = planned.length;
  const load = values ? azs.reduce((s, a) => s + (a.connections ?? 0), 0) : null;
  const anyFleetWide = azs.some((a) => !a.perAz);
  const capOut = load !== null && anyFleetWide ? capacityOut(n, load, usable) : null;
  const sumAz = azs.reduce((s, a) => s + a.maxOut, 0);
  // The AZs' own limits add up: what binds there binds the sum.
  const azBinds: BindingLimit = azs.some((a) => a.binds === "capacity")
    ? "capacity"
    : azs.some((a) => a.binds === "maxUnavailablePerAz")
      ? "maxUnavailablePerAz"
      : "maxUnavailable";
  const fleetLimits: [BindingLimit, number | null][] = [
    ["maxUnavailable", w.maxUnavailable],
    [azBinds, sumAz],
    ["capacity", capOut],
  ];
  // The displacement budget: at the fleet's average load, how many instances may leave within
  // one drain cycle (a lower bound on how long each stays out).
  const avg = load !== null && n > 0 ? load / n : null;
  if (c.maxDisplacedPerMinute !== null && avg !== null && avg > 0) {
    fleetLimits.push([
      "displacement",
      Math.max(1, Math.floor(((c.maxDisplacedPerMinute / avg) * drainSeconds) / 60)),
    ]);
  }
  const total = pick(fleetLimits);
  const unpaced = load !== null ? perMinute(total.maxOut, load, n) : null;
  return {
    source: {
      ...(c.source.kind === "metric"
        ? { kind: "metric", metric: `${c.source.namespace}/${c.source.name}`, statistic: c.source.statistic }
        : { kind: "probe", metric: `probe ${JSON.stringify(c.source.command)}`, statistic: "latest" }),
      readAt: reading?.ok ? reading.at : null,
      ...(reading && !reading.ok ? { error: reading.reason } : {}),
    },
    perInstanceLimit: limit,
    headroom: c.headroom,
    maxAgeSeconds: Math.round(c.maxAgeMs / 1000),
    maxDisplacedPerMinute: c.maxDisplacedPerMinute,
    drainSeconds,
    azs,
    total: {
      instances: n,
      connections: load,
      maxOut: total.maxOut,
      binds: total.binds,
      capacityMaxOut: capOut,
      displacedPerMinute:
        unpaced === null
          ? null
          : c.maxDisplacedPerMinute === null
            ? unpaced
            : Math.min(unpaced, c.maxDisplacedPerMinute),
    },
  };
}
