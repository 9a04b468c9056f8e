/**
 * Act: make the AWS writes the instances' `need`s call for (`plannedCalls`, engine/calls.ts) and
 * record their outcome.
 * A failed call leaves the `need` in place: the next tick retries it (and after repeated errors the
 * instance is checked against EC2, then failed with the error as its reason).
 */
import type { AwsWriter } from "../aws/types.js";
import type { Plan } from "../plan/types.js";
import { batchingPays } from "./admit.js";
import { plannedCalls } from "./calls.js";

import type { RolloutEvent } from "./events.js";
import { transition } from "./instance-step.js";
import { batchHolds, firstCommandPoll, healthReadyMs, mergeStep } from "./schedule.js";
import type { EngineState, InstanceRun, StepName } from "./state.js";

interface ActDeps {
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
  /** How long a batchable call may wait for others while batching pays (default `BATCH_HOLD_MS`; 0: never). */
  batchHoldMs?: number;
}

interface ActResult {
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
  const batching = batchingPays(s);
  // Instances that wait (briefly) for others to share their call: see schedule.ts `batchHolds`.
  const { held } = batchHolds(
    Object.values(s.instances),
    deps.now(),
    batching,
    mergeStep(deps.plan.steps.close !== null),
    deps.batchHoldMs,
  );
  const waits = (i: InstanceRun) => (i.need === "command" && i.reattach === true) || held.has(i.id);
  // An instance waiting to re-attach is looked up first (see reattach.ts), never sent blind.
  const subjects = Object.values(s.instances).filter((i) => !waits(i));
  const { calls: planned, refused } = plannedCalls(subjects, deps.plan, deps.commentTag);
  const groupErrors = new Map<string, string>(); // instance id → last failed group call
  const sent = new Map<string, string>(); // instance id → command id
  const cmdErrors = new Map<string, string>(refused.map((r) => [r.id, r.reason]));
  const newCommands: { id: string; step: StepName; ids: string[] }[] = [];
  const jobs = planned.map((c): Promise<void> => {
    if (c.action === "SendCommand") {
      const ids = c.request.instanceIds;
      return deps.writer.sendCommand(c.request).then(
        ({ commandId }) => {
          for (const id of ids) sent.set(id, commandId);
          newCommands.push({ id: commandId, step: c.step, ids });
        },
        (err) => {
          for (const id of ids) cmdErrors.set(id, `SendCommand: ${errText(err)}`);
        },
      );
    }
    const call =
      c.action === "DeregisterTargets"
        ? deps.writer.deregisterTargets(c.targetGroupArn, c.targets)
        : deps.writer.registerTargets(c.targetGroupArn, c.targets);
    return call.catch((err) => {
      for (const t of c.targets) groupErrors.set(t.id, `${c.action}: ${errText(err)}`);
    });
  });
  // Commands given up on are cancelled (best effort: a failure is a warning, never retried forever).
  const cancels = new Map<string, string[]>();
  for (const i of Object.values(s.instances)) {
    if (i.cancelCommandId) cancels.set(i.cancelCommandId, [...(cancels.get(i.cancelCommandId) ?? []), i.id]);
  }
  const cancelErrors: string[] = [];
  for (const [cid, ids] of cancels) {
    jobs.push(
      deps.writer.cancelCommand(cid, ids).catch((err) => {
        cancelErrors.push(`CancelCommand ${cid} (${ids.join(", ")}) failed: ${errText(err)}`);
      }),
    );
  }
  const calls = jobs.length;
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
      nextPollAt: firstCommandPoll(s.global, c.step, now, batching),
    };
  for (const e of cancelErrors)
    events.push({ type: "warning", at: now, code: "W_CANCEL_COMMAND_FAILED", message: e });
  for (const i0 of Object.values(s.instances)) {
    let i = i0.cancelCommandId ? { ...i0, cancelCommandId: undefined } : i0;
    // Held for a shared call: remember since when (the hold ends `BATCH_HOLD_MS` after the first).
    if (held.has(i.id) && i.needSince === undefined) i = { ...i, needSince: now };
    if (!i.need || waits(i)) {
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
      next = { ...i, need: null, needSince: undefined, commandId: sent.get(i.id), actErrors: 0 };
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
      next = { ...i, need: null, needSince: undefined, actErrors: 0, checkAt: now + wait };
      // A registration held for batching does not eat into the health timeout.
      if (i.needSince !== undefined && i.deadline !== undefined)
        next.deadline = i.deadline + (now - i.needSince);
    } else {
      next = { ...i, need: null, actErrors: 0, checkAt: now + deps.pollMs };
    }
    instances[i.id] = next;
    changed.push(next);
  }
  return { state: { global: { ...s.global, commands }, instances }, events, changed, calls };
}
