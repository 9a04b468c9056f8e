/**
 * Act: turn the instances' `need`s into batched AWS writes and record their outcome.
 *  - one DeregisterTargets / RegisterTargets per target group for every instance moving together;
 *  - one SendCommand per step per `LIMITS.sendCommandInstanceIds` (50) instances ready together.
 * A failed call leaves the `need` in place: the next tick retries it (and after repeated errors the
 * instance is checked against EC2, then failed with the error as its reason).
 */
import { LIMITS, ssmTimeouts } from "../aws/limits.js";
import type { AwsWriter, TargetRef } from "../aws/types.js";
import type { Plan } from "../plan/types.js";
import { stepSpec } from "./decide-context.js";
import type { RolloutEvent } from "./events.js";
import { transition } from "./instance-step.js";
import { firstCommandPoll, healthReadyMs } from "./schedule.js";
import type { EngineState, InstanceRun, StepName } from "./state.js";

export interface ActDeps {
  writer: AwsWriter;
  plan: Plan;
  now: () => number;
  pollMs: number;
  drainDelayMs: Record<string, number>;
  drainByConnections: boolean;
  /** Health check per target group ARN, when known: the first read after registration waits for it. */
  healthChecks?: Record<string, { intervalMs: number; healthyThreshold: number }>;
  /** Put in every SendCommand's Comment (the rollout's tag): how a lost answer is found again. */
  commentTag?: string;
}

/**
 * The Comment of a step's SendCommand: `rollwave <tag> <step> <plan>`; without the plan it is the
 * prefix a re-attach matches.
 */
export function commandComment(tag: string | undefined, step: StepName, plan = ""): string {
  return `rollwave ${tag ? `${tag} ` : ""}${step} ${plan}`.slice(0, 100);
}

export interface ActResult {
  state: EngineState;
  events: RolloutEvent[];
  /** Instances whose record changed (journaled after the calls). */
  changed: InstanceRun[];
  calls: number;
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function act(s: EngineState, deps: ActDeps): Promise<ActResult> {
  const dereg = new Map<string, { refs: TargetRef[]; ids: string[] }>();
  const reg = new Map<string, { refs: TargetRef[]; ids: string[] }>();
  const cmds = new Map<StepName, InstanceRun[]>();
  for (const i of Object.values(s.instances)) {
    if (!i.need) continue;
    if (i.need === "command") {
      if (i.reattach) continue; // looked up first (see reattach.ts), never sent blind
      const step = i.step as StepName;
      cmds.set(step, [...(cmds.get(step) ?? []), i]);
      continue;
    }
    const m = i.need === "deregister" ? dereg : reg;
    for (const t of i.targets) {
      const e = m.get(t.arn) ?? { refs: [], ids: [] };
      e.refs.push(t.port === undefined ? { id: i.id } : { id: i.id, port: t.port });
      e.ids.push(i.id);
      m.set(t.arn, e);
    }
  }
  // Per instance: how many of its group calls failed, and the last error.
  const groupErrors = new Map<string, string>();
  const sent = new Map<string, string>(); // instance id → command id
  const cmdErrors = new Map<string, string>();
  const jobs: Promise<void>[] = [];
  let calls = 0;
  for (const [arn, e] of dereg) {
    calls++;
    jobs.push(
      deps.writer.deregisterTargets(arn, e.refs).catch((err) => {
        for (const id of e.ids) groupErrors.set(id, `DeregisterTargets: ${errText(err)}`);
      }),
    );
  }
  for (const [arn, e] of reg) {
    calls++;
    jobs.push(
      deps.writer.registerTargets(arn, e.refs).catch((err) => {
        for (const id of e.ids) groupErrors.set(id, `RegisterTargets: ${errText(err)}`);
      }),
    );
  }
  const newCommands: { id: string; step: StepName; ids: string[] }[] = [];
  for (const [step, insts] of cmds) {
    const spec = stepSpec(deps.plan, step);
    insts.sort((a, b) => a.seq - b.seq);
    for (let k = 0; k < insts.length; k += LIMITS.sendCommandInstanceIds) {
      const ids = insts.slice(k, k + LIMITS.sendCommandInstanceIds).map((i) => i.id);
      if (!spec) {
        for (const id of ids) cmdErrors.set(id, `the plan has no ${step} step`);
        continue;
      }
      calls++;
      jobs.push(
        deps.writer
          .sendCommand({
            instanceIds: ids,
            commands: spec.commands,
            ...ssmTimeouts(spec.timeoutMs),
            comment: commandComment(deps.commentTag, step, deps.plan.name),
          })
          .then(({ commandId }) => {
            for (const id of ids) sent.set(id, commandId);
            newCommands.push({ id: commandId, step, ids });
          })
          .catch((err) => {
            for (const id of ids) cmdErrors.set(id, `SendCommand: ${errText(err)}`);
          }),
      );
    }
  }
  // Commands given up on are cancelled (best effort: a failure is a warning, never retried forever).
  const cancels = new Map<string, string[]>();
  for (const i of Object.values(s.instances)) {
    if (i.cancelCommandId) cancels.set(i.cancelCommandId, [...(cancels.get(i.cancelCommandId) ?? []), i.id]);
  }
  const cancelErrors: string[] = [];
  for (const [cid, ids] of cancels) {
    calls++;
    jobs.push(
      deps.writer.cancelCommand(cid, ids).catch((err) => {
        cancelErrors.push(`CancelCommand ${cid} (${ids.join(", ")}) failed: ${errText(err)}`);
      }),
    );
  }
  // An instance in no target group has nothing to (de)register: its need is met without a call.
  if (
    cancels.size === 0 &&
    !Object.values(s.instances).some((i) => i.need && !(i.need === "command" && i.reattach))
  )
    return { state: s, events: [], changed: [], calls: 0 };
  await Promise.all(jobs);

  const now = deps.now();
  const events: RolloutEvent[] = [];
  const changed: InstanceRun[] = [];
  const instances = { ...s.instances };
  const commands = { ...s.global.commands };
  for (const c of newCommands)
    commands[c.id] = {
      id: c.id,
      step: c.step,
      ids: c.ids,
      sentAt: now,
      nextPollAt: firstCommandPoll(s.global, c.step, now),
    };
  for (const e of cancelErrors)
    events.push({ type: "warning", at: now, code: "E_CANCEL_COMMAND", message: e });
  for (const i0 of Object.values(s.instances)) {
    const i = i0.cancelCommandId ? { ...i0, cancelCommandId: undefined } : i0;
    if (!i.need || (i.need === "command" && i.reattach)) {
      if (i !== i0) {
        instances[i.id] = i;
        changed.push(i);
      }
      continue;
    }
    const err = i.need === "command" ? cmdErrors.get(i.id) : groupErrors.get(i.id);
    let next: InstanceRun;
    if (err !== undefined || (i.need === "command" && !sent.has(i.id))) {
      const actErrors = i.actErrors + 1;
      next = {
        ...i,
        actErrors,
        lastError: err ?? "no command id",
        suspect: i.suspect || (actErrors >= 2 && !i.ec2Checked),
      };
    } else if (i.need === "command") {
      next = { ...i, need: null, commandId: sent.get(i.id), actErrors: 0 };
    } else if (i.need === "deregister" && i.phase === "deregistering") {
      const r = transition(i, "draining", now, `deregistered from ${i.targets.length} target group(s)`);
      const delay = Math.max(0, ...i.targets.map((t) => deps.drainDelayMs[t.arn] ?? 300_000));
      Object.assign(r.inst, {
        need: null,
        actErrors: 0,
        deadline: now + deps.plan.drain.timeoutMs,
        // Draining lasts the whole deregistration delay in AWS: look again when it can be over.
        checkAt:
          now +
          (deps.drainByConnections
            ? deps.pollMs
            : Math.min(delay + 1_000, deps.plan.drain.timeoutMs + 1_000)),
      });
      next = r.inst;
      events.push(...r.events);
    } else if (i.need === "register") {
      // Registered: health checks cannot pass before interval × healthyThreshold.
      const wait = healthReadyMs(
        i.targets.map((t) => t.arn),
        deps.healthChecks ?? {},
        deps.pollMs,
      );
      next = { ...i, need: null, actErrors: 0, checkAt: now + wait };
    } else {
      next = { ...i, need: null, actErrors: 0, checkAt: now + deps.pollMs };
    }
    instances[i.id] = next;
    changed.push(next);
  }
  return { state: { global: { ...s.global, commands }, instances }, events, changed, calls };
}
