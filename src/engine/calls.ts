/**
 * Calls are values. `plannedCalls` turns the instances' `need`s into the AWS writes that meet them,
 * without making any: `act` sends exactly these, and the dry run (engine/dry-run.ts) lists them, so
 * the two cannot drift apart.
 *  - one DeregisterTargets / RegisterTargets per target group for every instance moving together
 *    (ports kept, instances in the order given);
 *  - one SendCommand per step per `LIMITS.sendCommandInstanceIds` (50) instances, in planned order.
 */
import { LIMITS, ssmTimeouts } from "../aws/limits.js";
import type { SendCommandRequest, TargetRef } from "../aws/types.js";
import type { Plan } from "../plan/types.js";
import { stepSpec } from "./decide-context.js";
import type { InstanceRun, StepName } from "./state.js";

type PlannedCall =
  | {
      action: "DeregisterTargets" | "RegisterTargets";
      targetGroupArn: string;
      targets: TargetRef[];
    }
  | { action: "SendCommand"; step: StepName; request: SendCommandRequest };

/** What a call needs to know about an instance. */
export type CallSubject = Pick<InstanceRun, "id" | "seq" | "targets" | "need" | "step">;

interface CallPlan {
  calls: PlannedCall[];
  /** Instances whose need no call can meet (a command step the plan does not have), with why. */
  refused: { id: string; reason: string }[];
}

/**
 * The Comment of a step's SendCommand: `rollwave <tag> <step> <plan>`; without the plan it is the
 * prefix a re-attach matches.
 */
export function commandComment(tag: string | undefined, step: StepName, plan = ""): string {
  return `rollwave ${tag ? `${tag} ` : ""}${step} ${plan}`.slice(0, 100);
}

/** `commentTag` (the rollout's tag) goes in every SendCommand's Comment: how a lost answer is found again. */
export function plannedCalls(instances: Iterable<CallSubject>, plan: Plan, commentTag?: string): CallPlan {
  const dereg = new Map<string, TargetRef[]>();
  const reg = new Map<string, TargetRef[]>();
  const cmds = new Map<StepName, CallSubject[]>();
  for (const i of instances) {
    if (!i.need) continue;
    if (i.need === "command") {
      const step = i.step as StepName;
      cmds.set(step, [...(cmds.get(step) ?? []), i]);
      continue;
    }
    const byGroup = i.need === "deregister" ? dereg : reg;
    for (const t of i.targets) {
      const refs = byGroup.get(t.arn) ?? [];
      refs.push(t.port === undefined ? { id: i.id } : { id: i.id, port: t.port });
      byGroup.set(t.arn, refs);
    }
  }
  const calls: PlannedCall[] = [];
  const refused: CallPlan["refused"] = [];
  for (const [targetGroupArn, targets] of dereg)
    calls.push({ action: "DeregisterTargets", targetGroupArn, targets });
  for (const [targetGroupArn, targets] of reg)
    calls.push({ action: "RegisterTargets", targetGroupArn, targets });
  for (const [step, subjects] of cmds) {
    const spec = stepSpec(plan, step);
    const ids = [...subjects].sort((a, b) => a.seq - b.seq).map((i) => i.id);
    if (!spec) {
      for (const id of ids) refused.push({ id, reason: `the plan has no ${step} step` });
      continue;
    }
    for (let k = 0; k < ids.length; k += LIMITS.sendCommandInstanceIds) {
      calls.push({
        action: "SendCommand",
        step,
        request: {
          instanceIds: ids.slice(k, k + LIMITS.sendCommandInstanceIds),
          commands: spec.commands,
          ...ssmTimeouts(spec.timeoutMs),
          comment: commandComment(commentTag, step, plan.name),
        },
      });
    }
  }
  return { calls, refused };
}
