/**
 * Act: make the AWS writes the instances' `need`s call for (`plannedCalls`, engine/calls.ts) and
 * record their outcome.
 * A failed call leaves the `need` in place: the next tick retries it (and after repeated errors the
 * instance is checked against EC2, then failed with the error as its reason).
 */
import type { AwsWriter } from "../aws/types.js";
import type { Plan } from "../plan/types.js";
import { plannedCalls } from "./calls.js";
import type { RolloutEvent } from "./events.js";
import { transition } from "./instance-step.js";
import type { EngineState, InstanceRun, StepName } from "./state.js";

interface ActDeps {
  writer: AwsWriter;
  plan: Plan;
  now: () => number;
  pollMs: number;
  drainDelayMs: Record<string, number>;
  drainByConnections: boolean;
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
  const { calls: planned, refused } = plannedCalls(Object.values(s.instances), deps.plan);
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
  const calls = jobs.length;
  // An instance in no target group has nothing to (de)register: its need is met without a call.
  if (!Object.values(s.instances).some((i) => i.need)) return { state: s, events: [], changed: [], calls: 0 };
  await Promise.all(jobs);

  const now = deps.now();
  const events: RolloutEvent[] = [];
  const changed: InstanceRun[] = [];
  const instances = { ...s.instances };
  const commands = { ...s.global.commands };
  for (const c of newCommands)
    commands[c.id] = { id: c.id, step: c.step, ids: c.ids, sentAt: now, nextPollAt: now + deps.pollMs };
  for (const i of Object.values(s.instances)) {
    if (!i.need) continue;
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
    } else {
      next = { ...i, need: null, actErrors: 0, checkAt: now + deps.pollMs };
    }
    instances[i.id] = next;
    changed.push(next);
  }
  return { state: { global: { ...s.global, commands }, instances }, events, changed, calls };
}
