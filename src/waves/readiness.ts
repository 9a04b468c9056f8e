/**
 * The notReady policy: which instances the planner plans, which it skips, and what it says about it.
 *
 * - Not `running` (stopped, stopping, pending…): always skipped, whatever the policy: there is
 *   nothing to deploy to and it cannot be registered in a target group.
 * - Running but not ready (SSM agent not Online, or not `healthy` in one of its target groups):
 *   `skip` leaves it out (listed in `WavePlan.skipped`, never touched); `include` plans it with a
 *   warning; `fail` makes the plan an error, so nothing runs until someone decides.
 */
import { type Instance, notReadyReasons } from "../fleet/types.js";
import type { NotReadyPolicy } from "../plan/types.js";
import type { SkippedInstance } from "./types.js";
import type { Findings } from "./window.js";

interface Partition {
  planned: Instance[];
  skipped: SkippedInstance[];
}

/** "i-1, i-2, i-3 and 9 more" — enough to act on without flooding a terminal. */
export function examples(items: string[], max = 5): string {
  const shown = items.slice(0, max).join(", ");
  return items.length > max ? `${shown} and ${items.length - max} more` : shown;
}

function countBy(values: string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
}

export function partitionByReadiness(
  instances: Instance[],
  policy: NotReadyPolicy,
  findings: Findings,
): Partition {
  const planned: Instance[] = [];
  const skipped: SkippedInstance[] = [];
  const notRunning: Instance[] = [];
  const notReady: { i: Instance; reasons: string[] }[] = [];

  for (const i of instances) {
    const reasons = notReadyReasons(i);
    if (i.state !== "running") {
      notRunning.push(i);
      skipped.push({ id: i.id, az: i.az, reason: reasons.join("; ") });
    } else if (reasons.length === 0) {
      planned.push(i);
    } else {
      notReady.push({ i, reasons });
      if (policy === "skip") skipped.push({ id: i.id, az: i.az, reason: reasons.join("; ") });
      else planned.push(i);
    }
  }

  if (notRunning.length > 0) {
    findings.warn(
      `${notRunning.length} instance(s) are not running (${countBy(notRunning.map((i) => i.state))}) and are skipped: ${examples(notRunning.map((i) => i.id))}`,
    );
  }

  const ssmDown = notReady.filter(({ i }) => i.ssm !== "Online").map(({ i }) => i);
  const unhealthy = notReady
    .filter(({ i }) => i.targets.some((t) => t.state !== "healthy"))
    .map(({ i }) => i);
  const outcome =
    policy === "skip"
      ? "skipped (fleet.notReady: skip)"
      : policy === "include"
        ? "planned anyway (fleet.notReady: include)"
        : "";
  if (policy !== "fail") {
    if (ssmDown.length > 0) {
      findings.warn(
        `${ssmDown.length} instance(s) are not SSM-online (${countBy(ssmDown.map((i) => i.ssm))}), ${outcome}${policy === "include" ? "; Run Command cannot reach them until their agent is Online" : ""}: ${examples(ssmDown.map((i) => i.id))}`,
      );
    }
    if (unhealthy.length > 0) {
      const states = unhealthy.flatMap((i) =>
        i.targets.filter((t) => t.state !== "healthy").map((t) => t.state),
      );
      findings.warn(
        `${unhealthy.length} instance(s) are not healthy in a target group (${countBy(states)}), ${outcome}: ${examples(unhealthy.map((i) => i.id))}`,
      );
    }
  } else if (notReady.length > 0) {
    findings.error(
      "fleet.notReady",
      `${notReady.length} running instance(s) are not ready and fleet.notReady is fail: ${examples(notReady.map(({ i, reasons }) => `${i.id} (${reasons.join("; ")})`))}`,
      "fix them, or set fleet.notReady to skip (leave them out) or include (roll them anyway)",
    );
  }

  if (skipped.length > 0) {
    findings.warn(
      `${skipped.length} of ${instances.length} instance(s) are skipped and will not be touched; the plan lists each with its reason`,
    );
  }
  return { planned, skipped };
}
