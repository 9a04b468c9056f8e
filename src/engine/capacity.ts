/**
 * Capacity: the floor a plan declares (handed to the simulator, which checks it independently),
 * the connection-capacity admission check and the connection-aware drain predicate.
 */
import type { Fleet } from "../fleet/types.js";
import type { Plan } from "../plan/types.js";
import type { WavePlan } from "../waves/types.js";
import type { AdmissionCheck, DrainPredicate } from "./decide-context.js";

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

/**
 * Hold an instance back when the connections it carries would not fit on the instances that stay.
 *
 *   total connections ≤ inServiceAfter × perInstanceLimit × (1 − headroom)
 *
 * and, with `maxDisplacedPerMinute`, the connections displaced over the last minute plus this
 * instance's must stay under it (the first instance of a quiet minute is always admitted, so a
 * single large instance cannot block the rollout forever). Without a connection reading it admits:
 * the window still bounds the risk.
 * Worked example: 1,000 instances × limit 300 × (1 − 0.1) = 270,000 ≥ 180,000 → admit; with 660
 * left in service 660 × 270 = 178,200 < 180,000 → hold.
 */
export function connectionCapacityCheck(plan: Plan): AdmissionCheck | null {
  const c = plan.capacity.connections;
  if (!c) return null;
  return (ctx) => {
    const conns = ctx.connections;
    if (!conns) return { admit: true };
    let total = 0;
    for (const v of Object.values(conns)) total += v;
    const room = ctx.inServiceAfter * c.perInstanceLimit * (1 - c.headroom);
    if (total > room) {
      return {
        admit: false,
        reason: `capacity: ${total} connections would not fit on ${ctx.inServiceAfter} instance(s) (${Math.floor(room)} with ${Math.round(c.headroom * 100)}% headroom)`,
      };
    }
    if (c.maxDisplacedPerMinute !== null) {
      const mine = conns[ctx.instance.id] ?? 0;
      const recent = ctx.state.global.displaced.filter((d) => d.at > ctx.now - 60_000);
      const sum = recent.reduce((a, d) => a + d.n, 0);
      if (recent.length > 0 && sum + mine > c.maxDisplacedPerMinute) {
        return {
          admit: false,
          reason: `capacity: displacing ${mine} more connections would exceed ${c.maxDisplacedPerMinute}/min (${sum} in the last minute)`,
        };
      }
    }
    return { admit: true };
  };
}

/** Users measure minutes before a deregistered NLB target stops receiving new connections. */
const NLB_NEW_CONNECTION_GRACE_MS = 120_000;

/**
 * Drain is done when the instance's connections fall to `drain.untilConnections` (needs a metric).
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
  if (until === null || plan.capacity.connections?.source.kind !== "metric") return undefined;
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
