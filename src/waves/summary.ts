/** The numbers behind the `rollwave plan` preview table. Pure. */
import type { Fleet } from "../fleet/types.js";
import { ALB_TARGETS_PER_GROUP } from "./fleet-checks.js";
import type { FleetSummary, TargetGroupSummary, WavePlan, WaveSummary } from "./types.js";

function sortedKeys(record: Record<string, number>): string[] {
  return Object.keys(record).sort();
}

/**
 * `strategy` is the plan's `rollout.strategy`: with `waves` an AZ loses exactly the wave's
 * instances; with `window` (sliding) the worst case while the wave runs is the AZ's cap.
 * Worked example: AZs a=400, b=350, c=250 all running; the canary takes 1/1/1 → in service while it
 * is out: 399/349/249, cumulative 3 of 1,000 = 0.3%.
 */
export function summarizeFleet(fleet: Fleet, wavePlan: WavePlan, strategy: "waves" | "window"): FleetSummary {
  const azs: Record<string, number> = {};
  const running: Record<string, number> = {};
  for (const i of fleet.instances) {
    azs[i.az] = (azs[i.az] ?? 0) + 1;
    running[i.az] = (running[i.az] ?? 0) + (i.state === "running" ? 1 : 0);
  }
  const zoneNames = sortedKeys(azs);
  const planned = Object.values(wavePlan.azs).reduce((a, b) => a + b, 0);

  // Planned instances of each AZ not started before this wave (this wave's included).
  const notStarted: Record<string, number> = { ...wavePlan.azs };
  let cumulative = 0;
  const waves: WaveSummary[] = wavePlan.waves.map((w) => {
    const perAz: Record<string, number> = {};
    for (const az of zoneNames) perAz[az] = 0;
    for (const i of w.instances) perAz[i.az] = (perAz[i.az] ?? 0) + 1;
    const inServicePerAz: Record<string, number> = {};
    for (const az of sortedKeys(perAz)) {
      const own = perAz[az] ?? 0;
      // Sliding window: while this wave runs, the engine may already have started the next
      // instances of the AZ, up to its cap.
      const out =
        strategy === "window"
          ? Math.max(own, Math.min(wavePlan.window.perAz[az] ?? own, notStarted[az] ?? 0))
          : own;
      inServicePerAz[az] = (running[az] ?? 0) - out;
      notStarted[az] = (notStarted[az] ?? 0) - own;
    }
    cumulative += w.instances.length;
    return {
      index: w.index,
      kind: w.kind,
      size: w.instances.length,
      perAz,
      cumulative,
      cumulativePercent: planned > 0 ? Math.round((cumulative / planned) * 1000) / 10 : 0,
      inServicePerAz,
    };
  });

  const members = new Map<string, number>();
  for (const i of fleet.instances) {
    for (const arn of new Set(i.targets.map((t) => t.targetGroupArn))) {
      members.set(arn, (members.get(arn) ?? 0) + 1);
    }
  }
  const targetGroups: TargetGroupSummary[] = fleet.targetGroups.map((tg) => ({
    name: tg.name,
    arn: tg.arn,
    type: tg.type,
    ...(tg.port !== undefined ? { port: tg.port } : {}),
    targetCount: tg.targetCount,
    fleetTargets: members.get(tg.arn) ?? 0,
    overQuota: tg.type === "application" && tg.targetCount > ALB_TARGETS_PER_GROUP,
  }));

  return {
    instances: fleet.instances.length,
    planned,
    skipped: wavePlan.skipped.length,
    azs,
    plannedAzs: { ...wavePlan.azs },
    targetGroups,
    waves,
  };
}
