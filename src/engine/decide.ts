/**
 * `decide`: PURE. State + one tick's observations + policy + now → next state and events. The
 * AWS calls the next state implies are the instances' `need`s, which `act` batches.
 *
 * Order inside a tick: advance in-flight instances → failure policy → waves / canary gates →
 * admissions (window, per-AZ caps, admission checks) → outcome when nothing is left in flight.
 */

import { shortTg } from "../fleet/types.js";
import { admitForward, admitRollback, azCap, gate, occupancy } from "./admit.js";
import type { DecideContext, Observation } from "./decide-context.js";
import type { RolloutEvent } from "./events.js";
import { fail, stepInstance } from "./instance-step.js";
import {
  type EngineState,
  forwardFailures,
  type InstanceRun,
  isInFlight,
  isSettled,
  occupiesSlot,
} from "./state.js";

export { occupancy, wantsAdmission } from "./admit.js";

export interface Decision {
  state: EngineState;
  events: RolloutEvent[];
}

function cloneState(s: EngineState): EngineState {
  const g = s.global;
  return {
    global: {
      ...g,
      waves: g.waves.map((w) => ({ ...w })),
      canary: { ...g.canary },
      policy: { ...g.policy },
      displaced: g.displaced.slice(),
      commands: { ...g.commands },
    },
    instances: { ...s.instances },
  };
}

export function decide(prev: EngineState, obs: Observation, ctx: DecideContext): Decision {
  const s = cloneState(prev);
  const g = s.global;
  const events: RolloutEvent[] = [];
  const now = ctx.now;
  if (g.outcome) return { state: s, events };
  const all = Object.values(s.instances);

  // 1. Advance everything in flight (and failed instances waiting to be back in service).
  for (const i of all) {
    if (!isInFlight(i) && !(i.phase === "failed" && i.out)) continue;
    const r = stepInstance(i, obs, ctx);
    if (r.inst !== i) s.instances[i.id] = r.inst;
    events.push(...r.events);
  }
  bakeWatch(s, obs, ctx, events);

  // Commands: forget those nobody waits on; schedule the next poll of the rest.
  for (const c of Object.values(g.commands)) {
    const waiting = c.ids.some((id) => s.instances[id]?.commandId === c.id);
    if (!waiting) delete g.commands[c.id];
    else if (obs.commands[c.id]) {
      const elapsed = now - c.sentAt;
      g.commands[c.id] = {
        ...c,
        nextPollAt: now + Math.min(30_000, Math.max(ctx.pollMs, Math.round(elapsed / 4))),
      };
    }
  }

  // 2. Failure policy: counted over the whole rollout (minus failures an operator resumed past).
  // The canary is a gate of its own: any failure in it (unless an operator resumed past it) stops
  // the rollout before the fleet sees the release, whatever maxFailed allows for the whole fleet.
  const failed = forwardFailures(s) - g.policy.acknowledgedFailures;
  const canary = canaryFailures(s);
  if (g.mode === "running" && (failed > ctx.maxFailed || canary.failed > g.policy.acknowledgedFailures)) {
    const action = ctx.plan.rollout.failures.action;
    const reason =
      failed > ctx.maxFailed
        ? `${failed} instance(s) failed, more than maxFailed ${ctx.maxFailed}`
        : `canary failed: ${canary.failed} of ${canary.size} instance(s)`;
    g.policy = { ...g.policy, action, reason };
    g.mode = action === "rollback" ? "rollingBack" : "stopping";
    events.push({ type: "policy.triggered", at: now, action, failed, maxFailed: ctx.maxFailed, reason });
  }

  // 3. Waves and the canary gates.
  waveEvents(s, events, now);
  canaryGates(s, ctx, events);

  // 4. Admissions.
  const admitted = g.interrupted
    ? 0
    : g.mode === "rollingBack"
      ? admitRollback(s, ctx, events)
      : g.mode === "running"
        ? admitForward(s, ctx, events)
        : 0;

  // 5. Outcome, once nothing is in flight.
  const values = Object.values(s.instances);
  if (!values.some(isInFlight) && admitted === 0) outcome(s, ctx);
  progress(s, events, now, ctx);
  return { state: s, events };
}

function waveEvents(s: EngineState, events: RolloutEvent[], now: number) {
  for (const w of s.global.waves) {
    if (!w.started || w.finished) continue;
    const insts = w.ids.map((id) => s.instances[id] as InstanceRun);
    if (insts.every(isSettled)) {
      w.finished = true;
      const failed = insts.filter((i) => i.phase === "failed").length;
      const succeeded = insts.filter((i) => i.phase === "done").length;
      events.push({ type: "wave.finished", at: now, index: w.index, succeeded, failed });
    }
  }
}

function canaryGates(s: EngineState, ctx: DecideContext, events: RolloutEvent[]) {
  const g = s.global;
  const c = g.canary;
  if (c.wave === null || g.mode !== "running") return;
  const wave = g.waves.find((w) => w.index === c.wave);
  if (!wave?.finished) return;
  const now = ctx.now;
  const spec = ctx.plan.rollout.canary;
  if (!c.baked) {
    if (c.bakeUntil === undefined) {
      c.bakeUntil = now + (spec?.bakeMs ?? 0);
      c.nextBakeCheckAt = now + ctx.pollMs;
      gate(events, now, "bake", `canary baking; watching health and alarms until then`, true, c.bakeUntil);
    }
    if (now >= c.bakeUntil) {
      c.baked = true;
      gate(events, now, "bake", "canary baked: healthy, alarms OK", false);
    } else return;
  }
  if (spec?.approve && c.approval === "none") {
    c.approval = "waiting";
    gate(events, now, "approval", "canary done: approve to continue with the rest of the fleet", true);
  }
}

/** During bake, canary instances must stay healthy and the alarms quiet. */
function bakeWatch(s: EngineState, obs: Observation, ctx: DecideContext, events: RolloutEvent[]) {
  const c = s.global.canary;
  if (c.wave === null || c.bakeUntil === undefined || c.baked || s.global.mode !== "running") return;
  const ids = s.global.waves.find((w) => w.index === c.wave)?.ids ?? [];
  const firing = (obs.alarms ?? []).filter((a) => a.state === "ALARM").map((a) => a.name);
  for (const id of ids) {
    const i = s.instances[id] as InstanceRun;
    if (i.phase !== "done") continue;
    let reason: string | undefined;
    if (firing.length) reason = `bake: ${firing.join(", ")} in ALARM`;
    else {
      const bad: string[] = [];
      for (const t of i.targets) {
        const grp = obs.health[t.arn];
        const d = grp?.[i.id];
        if (grp && d?.state !== "healthy") bad.push(`${d?.state ?? "absent"} in ${shortTg(t.arn)}`);
      }
      if (bad.length) reason = `bake: ${bad.join(", ")}`;
    }
    if (reason) {
      const r = fail(i, reason, ctx);
      s.instances[id] = r.inst;
      events.push(...r.events);
    }
  }
  if (Object.keys(obs.health).length > 0 || obs.alarms) c.nextBakeCheckAt = ctx.now + ctx.pollMs;
}

function outcome(s: EngineState, ctx: DecideContext) {
  const g = s.global;
  const values = Object.values(s.instances);
  const failed = values.filter((i) => i.phase === "failed").length;
  if (g.interrupted) {
    g.pausedFor = "interrupted";
    g.outcome = { status: "paused", reason: "interrupted: nothing left in flight; resume to continue" };
    return;
  }
  if (g.mode === "stopping") {
    if (g.policy.action === "pause") {
      g.pausedFor = "failures";
      g.outcome = {
        status: "paused",
        reason: `${forwardFailuresText(s, ctx)}; paused, resume to continue`,
      };
    } else
      g.outcome = {
        status: "aborted",
        reason: `${forwardFailuresText(s, ctx)}; aborted`,
      };
    return;
  }
  if (g.mode === "rollingBack") {
    if (!ctx.plan.steps.rollback) {
      g.outcome = {
        status: "failed",
        reason: `${failed} instance(s) failed and the plan has no rollback step`,
      };
      return;
    }
    const waiting = values.some(
      (i) =>
        i.deployedAt !== undefined &&
        !i.rollback &&
        !i.rollbackTried &&
        (i.phase === "done" || i.phase === "failed"),
    );
    if (waiting) return; // blocked by the window this tick
    const rbFailed = values.filter((i) => i.phase === "failed" && i.rollbackTried).length;
    g.outcome = rbFailed
      ? { status: "failed", reason: `rollback failed on ${rbFailed} instance(s)` }
      : {
          status: "rolled-back",
          reason: `${forwardFailuresText(s, ctx)}; rolled back ${values.filter((i) => i.phase === "rolledBack").length} instance(s)`,
        };
    return;
  }
  const pending = values.filter((i) => i.phase === "pending");
  if (pending.length === 0) {
    g.outcome = failed
      ? { status: "succeeded", reason: `${failed} instance(s) failed, within maxFailed ${ctx.maxFailed}` }
      : { status: "succeeded" };
    return;
  }
  if (g.canary.approval === "waiting" || (g.canary.bakeUntil !== undefined && !g.canary.baked)) return;
  if (g.heldSince !== undefined) {
    if (ctx.now - g.heldSince > ctx.capacityWaitMs) {
      g.pausedFor = "capacity";
      g.outcome = { status: "paused", reason: `held by capacity for too long: ${g.heldReason}` };
    }
    return;
  }
  const occ = occupancy(s);
  const canStart = pending.some(
    (i) => occ.total < ctx.window.maxUnavailable && (occ.perAz[i.az] ?? 0) < azCap(ctx, i.az),
  );
  if (!canStart) {
    const lost = values.filter((i) => i.out && (i.phase === "failed" || i.phase === "skipped")).length;
    g.outcome = {
      status: "failed",
      reason: `no room left in the window: ${lost} failed or lost instance(s) are out of service, ${pending.length} instance(s) not started`,
    };
  }
}

function forwardFailuresText(s: EngineState, ctx: DecideContext): string {
  return s.global.policy.reason ?? `${forwardFailures(s)} instance(s) failed (max ${ctx.maxFailed})`;
}

/** Failed instances of the canary wave (those a rollback has not touched yet count). */
function canaryFailures(s: EngineState): { failed: number; size: number } {
  const w = s.global.waves.find((x) => x.index === s.global.canary.wave);
  if (!w) return { failed: 0, size: 0 };
  const failed = w.ids.filter(
    (id) => s.instances[id]?.phase === "failed" && !s.instances[id]?.rollbackTried,
  ).length;
  return { failed, size: w.ids.length };
}

function progress(s: EngineState, events: RolloutEvent[], now: number, ctx: DecideContext) {
  const connections = ctx.connections;
  const phases: Record<string, number> = {};
  let out = 0;
  for (const i of Object.values(s.instances)) {
    phases[i.phase] = (phases[i.phase] ?? 0) + 1;
    if (occupiesSlot(i)) out++;
  }
  const key = JSON.stringify(phases);
  if (key === s.global.lastProgressKey) return;
  s.global.lastProgressKey = key;
  const total = Object.keys(s.instances).length;
  const e: Extract<RolloutEvent, { type: "progress" }> = {
    type: "progress",
    at: now,
    phases,
    inService: total - out,
    outOfService: out,
  };
  if (connections) e.connections = Object.values(connections).reduce((a, n) => a + n, 0);
  const src = ctx.plan.capacity.connections?.source;
  if (connections && ctx.connectionsAt !== undefined && src?.kind === "metric") {
    e.connectionsAgeSeconds = Math.round((now - ctx.connectionsAt) / 1000);
    e.connectionsSource = `${src.namespace}/${src.name} ${src.statistic}`;
  }
  events.push(e);
}
