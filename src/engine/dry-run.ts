/**
 * `deploy --dry-run`: the exact calls a rollout would make, wave by wave, computed from the plan,
 * the fleet and the wave plan alone. It takes no AWS connection at all, so it cannot mutate. The
 * ELB and SSM calls come from `plannedCalls` (engine/calls.ts), the function `act` sends from, fed
 * the needs each phase of a wave has: preDrain, deregister, deploy, validate, register.
 * (Not to be confused with `rollwave plan`'s preview of the waves, report/preview.ts.)
 */
import type { TargetRef } from "../aws/types.js";
import type { Fleet } from "../fleet/types.js";
import type { Plan } from "../plan/types.js";
import { formatDuration } from "../util/duration.js";
import type { PlannedInstance, SkippedInstance, WavePlan } from "../waves/types.js";
import { fleetGroups } from "./asg.js";
import { type CallSubject, plannedCalls } from "./calls.js";
import { capacityFloor } from "./capacity.js";
import type { CapacityPreview } from "./capacity-preview.js";
import type { StepName } from "./state.js";

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
      step: StepName;
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

interface DryRunWave {
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
  /** The capacity guard's math per AZ (added by the CLI, which reads the connections). */
  capacity?: CapacityPreview;
}

/** The calls one phase of a wave makes: every instance of the wave needing the same thing. */
function phaseCalls(
  plan: Plan,
  subjects: CallSubject[],
  need: "deregister" | "register" | "command",
  step?: "preDrain" | "close" | "deploy" | "validate",
): DryRunCall[] {
  const asked = subjects.map((i) => (step ? { ...i, need, step } : { ...i, need }));
  return plannedCalls(asked, plan).calls.map((c): DryRunCall => {
    if (c.action !== "SendCommand") return { service: "ELBv2", ...c };
    const { instanceIds, commands, timeoutSeconds, executionTimeoutSeconds } = c.request;
    return {
      service: "SSM",
      action: "SendCommand",
      step: c.step,
      document: "AWS-RunShellScript",
      instanceIds,
      commands,
      timeoutSeconds,
      executionTimeoutSeconds,
    };
  });
}

export function dryRunRollout(plan: Plan, fleet: Fleet, wavePlan: WavePlan): DryRunReport {
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
  const byId = new Map(fleet.instances.map((i) => [i.id, i]));
  let seq = 0;
  const waves: DryRunWave[] = wavePlan.waves.map((w) => {
    const subjects: CallSubject[] = w.instances.map((p) => ({
      id: p.id,
      seq: seq++,
      targets: (byId.get(p.id)?.targets ?? []).map((t) =>
        t.port === undefined ? { arn: t.targetGroupArn } : { arn: t.targetGroupArn, port: t.port },
      ),
      need: null,
    }));
    const calls: DryRunCall[] = [];
    if (plan.steps.preDrain) calls.push(...phaseCalls(plan, subjects, "command", "preDrain"));
    calls.push(...phaseCalls(plan, subjects, "deregister"));
    if (plan.steps.close) calls.push(...phaseCalls(plan, subjects, "command", "close"));
    calls.push(...phaseCalls(plan, subjects, "command", "deploy"));
    if (plan.steps.validate) calls.push(...phaseCalls(plan, subjects, "command", "validate"));
    calls.push(...phaseCalls(plan, subjects, "register"));
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
