/** Fleet-shape warnings the preview shows before anyone deploys. Pure. */
import type { Fleet, Instance } from "../fleet/types.js";
import { examples } from "./readiness.js";
import type { Findings } from "./window.js";

/** ALB quota: targets per target group (adjustable, but the default trips large fleets). */
export const ALB_TARGETS_PER_GROUP = 1_000;
/** NLB quota: targets per Availability Zone per load balancer. */
const NLB_TARGETS_PER_AZ = 500;
/** Largest AZ over smallest AZ beyond which the preview calls the fleet imbalanced. */
const AZ_IMBALANCE_RATIO = 1.5;

export function checkFleetShape(fleet: Fleet, planned: Instance[], findings: Findings): void {
  for (const tg of fleet.targetGroups) {
    if (tg.type === "application" && tg.targetCount > ALB_TARGETS_PER_GROUP) {
      findings.warn(
        `target group ${tg.name} has ${tg.targetCount} targets, over the ALB quota of ${ALB_TARGETS_PER_GROUP} per target group (unless it was raised for this account)`,
      );
    }
    if (tg.type === "network") {
      const perAz = new Map<string, number>();
      for (const i of fleet.instances) {
        if (i.targets.some((t) => t.targetGroupArn === tg.arn)) perAz.set(i.az, (perAz.get(i.az) ?? 0) + 1);
      }
      const over = [...perAz].filter(([, n]) => n > NLB_TARGETS_PER_AZ).sort();
      if (over.length > 0) {
        findings.warn(
          `target group ${tg.name} has ${over.map(([az, n]) => `${n} targets in ${az}`).join(", ")}, over the NLB quota of ${NLB_TARGETS_PER_AZ} per AZ (unless it was raised for this account)`,
        );
      }
    }
  }

  const loose = planned.filter((i) => i.targets.length === 0).map((i) => i.id);
  if (loose.length > 0) {
    findings.warn(
      `${loose.length} planned instance(s) are in no target group, so no traffic is drained before deploying to them: ${examples(loose)}`,
    );
  }

  const azCounts = new Map<string, number>();
  for (const i of planned) azCounts.set(i.az, (azCounts.get(i.az) ?? 0) + 1);
  if (azCounts.size >= 2) {
    const sorted = [...azCounts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const [bigAz, big] = sorted[0] as [string, number];
    const [smallAz, small] = sorted[sorted.length - 1] as [string, number];
    if (big > AZ_IMBALANCE_RATIO * small) {
      findings.warn(
        `AZs are imbalanced: ${bigAz} has ${big} planned instance(s), ${smallAz} only ${small} (${(big / small).toFixed(1)}×): the same number out of service is a bigger share of ${smallAz}, so prefer a percent for maxUnavailablePerAz`,
      );
    }
  }
}
