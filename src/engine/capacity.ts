/**
 * Capacity: the floor a plan declares (handed to the simulator, which checks it independently),
 * the connection-capacity admission check and the connection-aware drain predicate.
 */
import type { TargetGroup } from "../aws/types.js";
import type { Fleet } from "../fleet/types.js";
import type { Plan } from "../plan/types.js";
import { formatDuration } from "../util/duration.js";
import type { WavePlan } from "../waves/types.js";
import type { AdmissionCheck, DrainPredicate } from "./decide-context.js";
import type { ConnectionTotals, InstancePhase } from "./events.js";
import { paceVerdict } from "./pacing.js";
import { type EngineState, type InstanceRun, occupiesSlot } from "./state.js";

/**
 * In-service instances the rollout promises to keep, overall and per AZ: those in service at the
 * start (running and healthy in every group) minus the window. Worked example: 300 instances in
 * 3 AZs (100 each), window 30 overall / 10 per AZ → `{ total: 270, perAz: { a: 90, b: 90, c: 90 } }`.
 */
export function capacityFloor(
  fleet: Fleet,
  wavePlan: WavePlan,
): { total: number; perAz: Record<string, number> } {
  const planned = new Set(wavePlan.waves.flatMap((w) => w.instances.map((i) => i.id)));
  const inService: Record<string, number> = {};
  let total = 0;
  for (const i of fleet.instances) {
    if (!planned.has(i.id)) continue;
    if (i.state !== "running" || i.targets.length === 0 || !i.targets.every((t) => t.state === "healthy"))
      continue;
    inService[i.az] = (inService[i.az] ?? 0) + 1;
    total++;
  }
  const perAz: Record<string, number> = {};
  for (const [az, n] of Object.entries(inService)) {
    const cap = wavePlan.window.perAz[az] ?? wavePlan.window.maxUnavailable;
    perAz[az] = Math.max(0, n - cap);
  }
  return { total: Math.max(0, total - wavePlan.window.maxUnavailable), perAz };
}

/** Phases in which an instance carries devices, or still sheds them (its drain has not ended). */
const CARRYING = new Set<InstancePhase>([
  "pending",
  "done",
  "rolledBack",
  "preDrain",
  "deregistering",
  "draining",
  "registering",
  "warming",
]);

/**
 * Does this instance count at `perInstanceLimit` when it has no datapoint? Yes when it carries
 * devices or is still shedding them (in service, leaving, or back in rotation); no once its drain
 * has ended (deploying, validating, rolling back) or it is gone or failed out of service.
 */
export function carriesDevices(i: InstanceRun): boolean {
  if (i.phase === "failed") return !i.out;
  return CARRYING.has(i.phase);
}

/**
 * The devices the fleet must hold: every reading, plus `limit` for each instance that carries
 * devices but has no datapoint (missing data never counts as zero).
 */
function connectionLoad(
  s: EngineState,
  conns: Record<string, number>,
  limit: number,
): { total: number; missing: number } {
  let total = 0;
  let missing = 0;
  for (const v of Object.values(conns)) total += v;
  for (const i of Object.values(s.instances)) {
    if (conns[i.id] === undefined && carriesDevices(i)) {
      total += limit;
      missing++;
    }
  }
  return { total, missing };
}

/** Does this group route per zone (cross-zone off)? Unknown: the AWS default of its type. */
function routesPerZone(tg: TargetGroup): boolean {
  return tg.crossZone === undefined ? tg.type !== "application" : !tg.crossZone;
}

/**
 * Instances whose capacity is checked within their AZ: every one with `capacity.connections.perAz`,
 * else those in any group that routes per zone (or in a group the fleet does not describe). With
 * cross-zone off, a device displaced in AZ a can only reconnect to servers in AZ a.
 */
export function zonalInstances(plan: Plan, fleet: Fleet): Set<string> {
  const tgs = new Map(fleet.targetGroups.map((t) => [t.arn, t]));
  const all = plan.capacity.connections?.perAz === true;
  const out = new Set<string>();
  for (const i of fleet.instances) {
    if (
      all ||
      i.targets.some((t) => {
        const tg = tgs.get(t.targetGroupArn);
        return !tg || routesPerZone(tg);
      })
    )
      out.add(i.id);
  }
  return out;
}

/** One AZ's load (missing datapoints at the limit, as in `connectionLoad`) and its instances in service. */
function azLoad(
  s: EngineState,
  conns: Record<string, number>,
  limit: number,
  az: string,
): { total: number; missing: number; inService: number } {
  let total = 0;
  let missing = 0;
  let inService = 0;
  for (const i of Object.values(s.instances)) {
    if (i.az !== az) continue;
    const v = conns[i.id];
    if (v !== undefined) total += v;
    else if (carriesDevices(i)) {
      total += limit;
      missing++;
    }
    if (!occupiesSlot(i) && i.phase !== "skipped") inService++;
  }
  return { total, missing, inService };
}

/**
 * Hold an instance back when the connections it carries would not fit on the instances that stay.
 *
 *   load ≤ inServiceAfter × perInstanceLimit × (1 − headroom)
 *
 * where the load sums every instance's latest reading, and an instance that carries devices but has
 * no datapoint counts at `perInstanceLimit`. It fails safe: with no reading, or one older than
 * `maxAge` (the read failed, or none was made), it holds, with the reason. With
 * `maxDisplacedPerMinute`, departures are paced by a token bucket refilled every second and never
 * exceed the budget over any 60 s (pacing.ts; an instance with no datapoint is charged its limit;
 * the first instance of a quiet minute is always admitted, so a single large instance cannot block
 * the rollout forever).
 * Worked example: 1,000 instances × limit 300 × (1 − 0.1) = 270,000 ≥ 180,000 → admit; with 660
 * left in service 660 × 270 = 178,200 < 180,000 → hold. Missing data: 10 instances, 8 report 150,
 * 2 report nothing → load 8 × 150 + 2 × 250 = 1,700 ≤ 9 × 225 = 2,025 → admit; 8 report 220 →
 * 2,260 > 2,025 → hold.
 */
export function connectionCapacityCheck(plan: Plan, fleet?: Fleet): AdmissionCheck | null {
  const c = plan.capacity.connections;
  if (!c) return null;
  const maxAge = formatDuration(c.maxAgeMs);
  const zonal = fleet ? zonalInstances(plan, fleet) : new Set<string>();
  const source = c.source.kind === "metric" ? "the metric" : "the probe";
  return (ctx) => {
    const conns = ctx.connections;
    const err = ctx.connectionsError;
    if (!conns || ctx.connectionsAt === undefined) {
      return {
        admit: false,
        reason: err
          ? `capacity: no connection reading, ${source} could not be read: ${err}`
          : "capacity: no connection reading yet",
      };
    }
    if (ctx.now - ctx.connectionsAt > c.maxAgeMs) {
      return {
        admit: false,
        reason: `capacity: the connection reading is older than maxAge ${maxAge}${err ? `; ${source} could not be read: ${err}` : ""}`,
      };
    }
    if (c.perAz || zonal.has(ctx.instance.id)) {
      const az = ctx.instance.az;
      const z = azLoad(ctx.state, conns, c.perInstanceLimit, az);
      const after = z.inService - 1;
      const room = after * c.perInstanceLimit * (1 - c.headroom);
      if (z.total > room) {
        const gaps =
          z.missing > 0
            ? `, ${z.missing} instance(s) without a datapoint counted at ${c.perInstanceLimit}`
            : "";
        const why = c.perAz ? "capacity.connections.perAz" : "cross-zone load balancing off";
        return {
          admit: false,
          reason: `capacity: ${z.total} connections in ${az} would not fit on the ${after} instance(s) left there (${Math.floor(room)} with ${Math.round(c.headroom * 100)}% headroom${gaps}; per AZ: ${why})`,
        };
      }
    }
    const { total, missing } = connectionLoad(ctx.state, conns, c.perInstanceLimit);
    const room = ctx.inServiceAfter * c.perInstanceLimit * (1 - c.headroom);
    if (!(c.perAz || zonal.has(ctx.instance.id)) && total > room) {
      const gaps =
        missing > 0 ? `, ${missing} instance(s) without a datapoint counted at ${c.perInstanceLimit}` : "";
      return {
        admit: false,
        reason: `capacity: ${total} connections would not fit on ${ctx.inServiceAfter} instance(s) (${Math.floor(room)} with ${Math.round(c.headroom * 100)}% headroom${gaps})`,
      };
    }
    if (c.maxDisplacedPerMinute !== null) {
      const p = paceVerdict(
        ctx.state.global,
        ctx.now,
        conns[ctx.instance.id] ?? c.perInstanceLimit,
        c.maxDisplacedPerMinute,
      );
      if (!p.admit) return p;
    }
    return { admit: true };
  };
}

/** Users measure minutes before a deregistered NLB target stops receiving new connections. */
export const NLB_NEW_CONNECTION_GRACE_MS = 120_000;

/**
 * Drain is done when the instance's connections fall to `drain.untilConnections` (needs a connection
 * source: the metric, or the probe).
 * In an NLB group it is not done before `nlbGraceMs` (default 2 min, never past the group's own
 * deregistration delay) since deregistration: until then the NLB may still send new connections,
 * so a momentary zero proves nothing. `fleet` tells which groups are NLBs: it is required, since
 * without it the grace would silently not apply.
 */
export function connectionDrainPredicate(
  plan: Plan,
  fleet: Fleet,
  nlbGraceMs = NLB_NEW_CONNECTION_GRACE_MS,
): DrainPredicate | undefined {
  const until = plan.drain.untilConnections;
  if (until === null || !plan.capacity.connections) return undefined;
  const grace = new Map<string, number>();
  for (const tg of fleet.targetGroups) {
    if (tg.type === "network") grace.set(tg.arn, Math.min(nlbGraceMs, tg.deregistrationDelaySeconds * 1000));
  }
  return ({ instance, connections, now }) => {
    if (connections === undefined || connections > until) return false;
    const wait = Math.max(0, ...instance.targets.map((t) => grace.get(t.arn) ?? 0));
    return now - instance.phaseSince >= wait;
  };
}

/** Connections displaced and cut over the rollout, from each instance's record. */
export function connectionTotals(s: EngineState): ConnectionTotals {
  const out: ConnectionTotals = { displaced: 0, cut: 0, cutPerInstance: {} };
  for (const i of Object.values(s.instances)) {
    out.displaced += i.displaced ?? 0;
    if (i.cut) {
      out.cut += i.cut;
      out.cutPerInstance[i.id] = i.cut;
    }
  }
  return out;
}
