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
import { healthChecks, healthReadyMs } from "./schedule.js";
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
  /** The capacity guard's math per AZ (read by the CLI, which has the connection). */
  capacity?: CapacityPreview;
  /** Where the fleet is (from discovery: the credentials' account, the Region). */
  account: string | null;
  region: string | null;
  /** What a failure sets off, and the rollback command with its timeout. */
  onFailure: {
    maxFailed: number;
    action: Plan["rollout"]["failures"]["action"];
    failedInstances: Plan["rollout"]["failures"]["failedInstances"];
    rollback: { commands: string[]; timeoutSeconds: number } | null;
  };
  eta: Eta;
}

/**
 * How long the rollout should take, from the plan's durations and the discovered target groups
 * (never measured: see `estimateEta`). Approval waits are not counted.
 */
export interface Eta {
  /** Every command finishing at once. */
  lowMs: number;
  /** Every command running to its timeout. */
  highMs: number;
  /** One instance's cycle without its commands: drain + health + stableFor (the slowest instance). */
  cycleMs: number;
  drainMs: number;
  healthMs: number;
  stableMs: number;
  /** The steps' timeouts added up (preDrain, close, deploy, validate). */
  commandsMaxMs: number;
  bakeMs: number;
  /** Instances out of service at once: the window, the per-AZ caps added up, the capacity guard's limit. */
  window: number;
  /** Cycles of the canary wave: ⌈canary ÷ window⌉ (0 without a canary). */
  canaryRounds: number;
  /** Cycles after the canary: `waves`: Σ ⌈wave ÷ window⌉; `window`: ⌈instances ÷ window⌉. */
  rounds: number;
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

/**
 * The ETA, from what is known before a rollout (the plan and the fleet's target groups):
 *
 *   cycle  = drain + health + stableFor        (per instance, the slowest one)
 *   drain  = the longest deregistration delay of its groups, at most drain.timeout
 *   health = the slowest group's interval × healthy threshold (+1 s)
 *   ETA    = (cycle + commands) [canary] + bake + rounds × (cycle + commands)
 *
 * with commands at 0 (low) or at the sum of the step timeouts (high). A canary wider than the
 * window takes more than one cycle; displacement pacing and approval waits are not counted.
 * Worked example: cycle 70 s, commands ≤ 7 m, bake 1 m, 11 instances after the canary, window 3:
 * rounds ⌈11 ÷ 3⌉ = 4, low 70 s + 60 s + 4 × 70 s = 6 m 50 s, high 8 m 10 s + 60 s + 4 × 8 m 10 s = 41 m 50 s.
 */
function estimateEta(plan: Plan, fleet: Fleet, wavePlan: WavePlan, capacity?: CapacityPreview): Eta {
  const delay = new Map(fleet.targetGroups.map((tg) => [tg.arn, tg.deregistrationDelaySeconds * 1000]));
  const checks = healthChecks(fleet);
  const byId = new Map(fleet.instances.map((i) => [i.id, i]));
  let drainMs = 0;
  let healthMs = 0;
  for (const w of wavePlan.waves)
    for (const p of w.instances) {
      const arns = (byId.get(p.id)?.targets ?? []).map((t) => t.targetGroupArn);
      drainMs = Math.max(
        drainMs,
        Math.min(plan.drain.timeoutMs, Math.max(0, ...arns.map((a) => delay.get(a) ?? 0))),
      );
      healthMs = Math.max(healthMs, arns.length ? healthReadyMs(arns, checks, 0) : 0);
    }
  const s = plan.steps;
  const commandsMaxMs = [s.preDrain, s.close, s.deploy, s.validate].reduce(
    (n, x) => n + (x?.timeoutMs ?? 0),
    0,
  );
  const perAz = Object.values(wavePlan.window.perAz);
  const window = Math.max(
    1,
    Math.min(
      wavePlan.window.maxUnavailable,
      perAz.length ? perAz.reduce((a, b) => a + b, 0) : Number.POSITIVE_INFINITY,
      capacity?.total.maxOut ?? Number.POSITIVE_INFINITY,
    ),
  );
  const canary = wavePlan.waves.find((w) => w.kind === "canary");
  const rest = wavePlan.waves.filter((w) => w.kind !== "canary");
  const restCount = rest.reduce((n, w) => n + w.instances.length, 0);
  const rounds =
    plan.rollout.strategy === "waves"
      ? rest.reduce((n, w) => n + Math.ceil(w.instances.length / window), 0)
      : Math.ceil(restCount / window);
  const canaryRounds = canary ? Math.ceil(canary.instances.length / window) : 0;
  const bakeMs = canary ? (plan.rollout.canary?.bakeMs ?? 0) : 0;
  const stableMs = plan.health.stableForMs;
  const cycleMs = drainMs + healthMs + stableMs;
  const total = (commands: number) => (canaryRounds + rounds) * (cycleMs + commands) + bakeMs;
  return {
    lowMs: total(0),
    highMs: total(commandsMaxMs),
    cycleMs,
    drainMs,
    healthMs,
    stableMs,
    commandsMaxMs,
    bakeMs,
    window,
    canaryRounds,
    rounds,
  };
}

export function dryRunRollout(
  plan: Plan,
  fleet: Fleet,
  wavePlan: WavePlan,
  capacity?: CapacityPreview,
): DryRunReport {
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
    ...(capacity ? { capacity } : {}),
    account: fleet.account,
    region: fleet.region ?? plan.region,
    onFailure: {
      maxFailed: wavePlan.maxFailed,
      action: plan.rollout.failures.action,
      failedInstances: plan.rollout.failures.failedInstances,
      rollback: plan.steps.rollback
        ? {
            commands: plan.steps.rollback.commands,
            timeoutSeconds: Math.round(plan.steps.rollback.timeoutMs / 1000),
          }
        : null,
    },
    eta: estimateEta(plan, fleet, wavePlan, capacity),
  };
}
