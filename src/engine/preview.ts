/**
 * `deploy --dry-run`: the exact calls a rollout would make, wave by wave, computed from the plan,
 * the fleet and the wave plan alone. It takes no AWS connection at all, so it cannot mutate.
 */
import { LIMITS, ssmTimeouts } from "../aws/limits.js";
import type { TargetRef } from "../aws/types.js";
import type { Fleet } from "../fleet/types.js";
import type { Plan, StepSpec } from "../plan/types.js";
import { formatDuration } from "../util/duration.js";
import type { PlannedInstance, SkippedInstance, WavePlan } from "../waves/types.js";
import { fleetGroups } from "./asg.js";
import { capacityFloor } from "./capacity.js";

/** One call the rollout would make. Calls are listed in the order they happen for the wave. */
export type DryRunCall =
  | {
      service: "ELBv2";
      action: "DeregisterTargets" | "RegisterTargets";
      targetGroupArn: string;
      targets: TargetRef[];
    }
  | {
      service: "SSM";
      action: "SendCommand";
      step: "preDrain" | "close" | "deploy" | "validate";
      document: "AWS-RunShellScript";
      instanceIds: string[];
      commands: string[];
      timeoutSeconds: number;
      executionTimeoutSeconds: number;
    }
  | {
      service: "AutoScaling";
      action: "SuspendProcesses" | "ResumeProcesses";
      group: string;
      processes: string[];
    };

export interface DryRunWave {
  index: number;
  kind: "canary" | "batch";
  instances: PlannedInstance[];
  calls: DryRunCall[];
  /** What must hold before the next wave, e.g. "bake 10m, then approval". */
  gateAfter?: string;
}

export interface DryRunReport {
  name: string;
  strategy: "window" | "waves";
  window: WavePlan["window"];
  maxFailed: number;
  failureAction: Plan["rollout"]["failures"]["action"];
  /** In-service instances the rollout promises to keep (the simulator checks it). */
  floor: { total: number; perAz: Record<string, number> };
  /** Calls made once, before the first wave and after the last. */
  before: DryRunCall[];
  waves: DryRunWave[];
  after: DryRunCall[];
  skipped: SkippedInstance[];
  /** Waits every instance goes through, in order. */
  perInstance: string[];
  warnings: string[];
}

function sendCall(
  step: "preDrain" | "close" | "deploy" | "validate",
  spec: StepSpec,
  ids: string[],
): DryRunCall[] {
  const out: DryRunCall[] = [];
  for (let k = 0; k < ids.length; k += LIMITS.sendCommandInstanceIds) {
    out.push({
      service: "SSM",
      action: "SendCommand",
      step,
      document: "AWS-RunShellScript",
      instanceIds: ids.slice(k, k + LIMITS.sendCommandInstanceIds),
      commands: spec.commands,
      ...ssmTimeouts(spec.timeoutMs),
    });
  }
  return out;
}

function elbCalls(
  action: "DeregisterTargets" | "RegisterTargets",
  fleet: Fleet,
  ids: string[],
): DryRunCall[] {
  const byId = new Map(fleet.instances.map((i) => [i.id, i]));
  const groups = new Map<string, TargetRef[]>();
  for (const id of ids) {
    for (const t of byId.get(id)?.targets ?? []) {
      const refs = groups.get(t.targetGroupArn) ?? [];
      refs.push(t.port === undefined ? { id } : { id, port: t.port });
      groups.set(t.targetGroupArn, refs);
    }
  }
  return [...groups].map(([targetGroupArn, targets]) => ({
    service: "ELBv2",
    action,
    targetGroupArn,
    targets,
  }));
}

export function previewRollout(plan: Plan, fleet: Fleet, wavePlan: WavePlan): DryRunReport {
  const planned = new Set(wavePlan.waves.flatMap((w) => w.instances.map((i) => i.id)));
  const groups = fleetGroups(fleet, planned);
  const procs = plan.fleet.autoScaling.suspendProcesses;
  const before: DryRunCall[] = [];
  const after: DryRunCall[] = [];
  if (procs.length) {
    for (const group of groups) {
      before.push({ service: "AutoScaling", action: "SuspendProcesses", group, processes: procs });
      after.push({ service: "AutoScaling", action: "ResumeProcesses", group, processes: procs });
    }
  }
  const waves: DryRunWave[] = wavePlan.waves.map((w) => {
    const ids = w.instances.map((i) => i.id);
    const calls: DryRunCall[] = [];
    if (plan.steps.preDrain) calls.push(...sendCall("preDrain", plan.steps.preDrain, ids));
    calls.push(...elbCalls("DeregisterTargets", fleet, ids));
    if (plan.steps.close) calls.push(...sendCall("close", plan.steps.close, ids));
    calls.push(...sendCall("deploy", plan.steps.deploy, ids));
    if (plan.steps.validate) calls.push(...sendCall("validate", plan.steps.validate, ids));
    calls.push(...elbCalls("RegisterTargets", fleet, ids));
    const wave: DryRunWave = { index: w.index, kind: w.kind, instances: w.instances, calls };
    if (w.kind === "canary" && plan.rollout.canary) {
      const c = plan.rollout.canary;
      const parts = [];
      if (c.bakeMs > 0) parts.push(`bake ${formatDuration(c.bakeMs)}`);
      if (c.approve) parts.push("approval");
      if (parts.length) wave.gateAfter = parts.join(", then ");
    }
    return wave;
  });
  const perInstance = [
    ...(plan.steps.preDrain
      ? [`preDrain command (timeout ${formatDuration(plan.steps.preDrain.timeoutMs)})`]
      : []),
    `deregister from every target group, drain (timeout ${formatDuration(plan.drain.timeoutMs)}${plan.drain.untilConnections !== null ? `, done at ≤${plan.drain.untilConnections} connections` : ""})`,
    ...(plan.steps.close ? ["close command: closes the connections left at the drain threshold"] : []),
    `deploy command (timeout ${formatDuration(plan.steps.deploy.timeoutMs)})`,
    ...(plan.steps.validate
      ? [`validate command (timeout ${formatDuration(plan.steps.validate.timeoutMs)})`]
      : []),
    `register, healthy in every group (timeout ${formatDuration(plan.health.targetHealthyTimeoutMs)})`,
    `stable for ${formatDuration(plan.health.stableForMs)}${plan.health.alarms.length ? `, alarms OK: ${plan.health.alarms.join(", ")}` : ""}`,
  ];
  return {
    name: plan.name,
    strategy: plan.rollout.strategy,
    window: wavePlan.window,
    maxFailed: wavePlan.maxFailed,
    failureAction: plan.rollout.failures.action,
    floor: capacityFloor(fleet, wavePlan),
    before,
    waves,
    after,
    skipped: wavePlan.skipped,
    perInstance,
    warnings: wavePlan.warnings,
  };
}
