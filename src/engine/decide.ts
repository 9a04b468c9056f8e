/**
 * `decide`: PURE. State + one tick's observations + policy + now → next state and events. The
 * AWS calls the next state implies are the instances' `need`s, which `act` batches.
 *
 * Order inside a tick: the runner's inputs (guard verdict, interrupt, error) → advance in-flight
 * instances → failure policy → waves / canary gates (with the approval answer) → admissions (window,
 * per-AZ caps, admission checks; none once interrupted or after an error) → outcome when nothing is
 * left in flight (or when errors keep coming: see `giveUp`).
 *
 * `decide` is the only writer of rollout state: the runner never sets an outcome, a flag or an
 * answer itself, it passes them in `ctx` and journals what comes out.
 */

import { shortTg } from "../fleet/types.js";
import type { Plan } from "../plan/types.js";
import { formatDuration } from "../util/duration.js";
import { admitForward, admitRollback, azCap, gate, holdAtTheDoor, occupancy } from "./admit.js";
import { applyControl } from "./control.js";
import { commandDeadline, type DecideContext, type Observation, stepSpec } from "./decide-context.js";
import { devicesGate } from "./devices-gate.js";
import { ResumeRefusedError } from "./errors.js";
import type { RolloutEvent, RolloutStatus } from "./events.js";
import { fail, freshHealth, stepInstance } from "./instance-step.js";
import { reattachStep } from "./reattach.js";
import { scheduleCommandPoll } from "./schedule.js";
import {
  type EngineState,
  forwardFailures,
  type InstanceRun,
  isInFlight,
  isSettled,
  occupiesSlot,
  type StepName,
  stopsNewWork,
} from "./state.js";

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
  if (ctx.guardRefused !== undefined) {
    g.outcome = { status: "failed", reason: ctx.guardRefused };
    return { state: s, events };
  }
  takeInputs(s, ctx, events);
  const all = Object.values(s.instances);

  // 1. Advance everything in flight (and failed instances waiting to be back in service).
  for (const i0 of all) {
    if (!isInFlight(i0) && !(i0.phase === "failed" && i0.out)) continue;
    const i = sentDeadline(reattachStep(i0, s, obs, now), s, ctx);
    const r = stepInstance(i, obs, ctx);
    if (r.inst !== i0) s.instances[i.id] = r.inst;
    events.push(...r.events);
  }
  watchCapacity(s, obs, ctx, events);
  const read = Object.keys(obs.health);
  if (read.length) {
    g.healthReadAt = { ...g.healthReadAt };
    for (const arn of read) g.healthReadAt[arn] = now;
  }
  holdAtTheDoor(s, obs, ctx, events);
  bakeWatch(s, obs, ctx, events);

  // Commands: forget those nobody waits on; schedule the next poll of the rest.
  for (const c of Object.values(g.commands)) {
    const waiting = c.ids.some((id) => s.instances[id]?.commandId === c.id);
    // A poll also teaches how long the step takes (schedule.ts), even the last one.
    const polled = obs.commands[c.id] ? scheduleCommandPoll(g, c, obs.commands[c.id], now) : c;
    if (!waiting) delete g.commands[c.id];
    else g.commands[c.id] = polled;
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
  if (g.outcome) return { state: s, events };

  // 4. Admissions (held while the fleet's connected devices are below health.connectedDevices).
  const devicesLow = devicesGate(s, ctx, events);
  const admitted = stopsNewWork(g)
    ? 0
    : g.mode === "rollingBack"
      ? admitRollback(s, ctx, events)
      : g.mode === "running" && !devicesLow
        ? admitForward(s, ctx, events)
        : 0;

  // 5. Outcome, once nothing is in flight.
  const values = Object.values(s.instances);
  if (!values.some(isInFlight) && admitted === 0) outcome(s, ctx);
  if (!g.outcome && g.error && (g.consecutiveErrors ?? 0) >= (ctx.maxConsecutiveErrors ?? 5)) giveUp(s);
  progress(s, events, now, ctx);
  return { state: s, events };
}

/**
 * A step's deadline runs from when its SendCommand succeeded (the command's `sentAt`), not from when
 * it was decided: a send retried for a while, or re-issued on resume, gets its full time.
 */
function sentDeadline(i: InstanceRun, s: EngineState, ctx: DecideContext): InstanceRun {
  if (!i.commandId || !i.step) return i;
  const c = s.global.commands[i.commandId];
  if (!c) return i;
  const deadline = commandDeadline(stepSpec(ctx.plan, i.step), c.sentAt);
  return i.deadline === deadline ? i : { ...i, deadline };
}

/**
 * The runner's inputs: an interrupt and errors stop new work (sticky until `resume`); a control
 * request (`rollwave abort [--rollback]` / `approve` from another terminal) switches the mode or
 * passes the approval gate, as the failure policy and the prompt's answer would.
 */
function takeInputs(s: EngineState, ctx: DecideContext, events: RolloutEvent[]) {
  const g = s.global;
  const inFlight = () => Object.values(s.instances).filter(isInFlight).length;
  if (ctx.interrupt && !g.interrupted) {
    g.interrupted = true;
    events.push({
      type: "warning",
      at: ctx.now,
      code: "W_INTERRUPTED",
      message: `interrupted: starting nothing new; ${inFlight()} instance(s) in flight finish first`,
    });
  }
  if (ctx.control) {
    const e = applyControl(s, ctx.control, {
      now: ctx.now,
      ...(ctx.rolloutId !== undefined ? { rolloutId: ctx.rolloutId } : {}),
      hasRollbackStep: ctx.plan.steps.rollback !== null,
    });
    events.push(e);
    if (e.outcome === "applied" && e.action === "approve")
      gate(events, ctx.now, "approval", e.message, false);
  }
  if (ctx.error === undefined) {
    if (g.consecutiveErrors) g.consecutiveErrors = 0;
    return;
  }
  g.consecutiveErrors = (g.consecutiveErrors ?? 0) + 1;
  const first = !g.error;
  if (first) g.error = { reason: ctx.error, at: ctx.now };
  events.push({
    type: "warning",
    at: ctx.now,
    code: "W_LOOP_ERROR",
    message: first
      ? `error: ${ctx.error}; starting nothing new, ${inFlight()} instance(s) in flight come back first, then the rollout pauses`
      : `error (${g.consecutiveErrors} in a row, giving up at ${ctx.maxConsecutiveErrors ?? 5}): ${ctx.error}`,
  });
}

/**
 * Errors keep coming (the journal cannot be written, AWS is unreachable): waiting for the in-flight
 * instances is no longer useful, since nothing can be recorded or called. Pause now and say exactly
 * which instances are out of service; `resume` re-observes and brings them back.
 */
function giveUp(s: EngineState) {
  const g = s.global;
  const out = Object.values(s.instances)
    .filter((i) => isInFlight(i) || (i.out && i.phase !== "failed" && i.phase !== "skipped"))
    .map((i) => `${i.id} (${i.phase})`);
  g.pausedFor = "error";
  g.outcome = {
    status: "paused",
    reason: `gave up after ${g.consecutiveErrors} errors in a row (first: ${g.error?.reason})${
      out.length ? `; ${out.length} instance(s) still in flight: ${out.join(", ")}` : ""
    }; fix the cause and run \`rollwave resume\``,
  };
}

/** Nothing new may start and work remains: pause for `resume`. */
function pauseForStop(s: EngineState) {
  const g = s.global;
  if (g.error) {
    g.pausedFor = "error";
    g.outcome = {
      status: "paused",
      reason: `error: ${g.error.reason}; nothing left in flight; fix the cause and resume to continue`,
    };
    return;
  }
  g.pausedFor = "interrupted";
  g.outcome = { status: "paused", reason: "interrupted: nothing left in flight; resume to continue" };
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
      // The canary cannot pass vacuously: a skipped canary is replaced, or the gate fails.
      if (!canaryComplete(s, wave, ctx, events)) return;
      c.bakeUntil = now + (spec?.bakeMs ?? 0);
      c.nextBakeCheckAt = Math.min(now + ctx.pollMs, c.bakeUntil);
      gate(events, now, "bake", `canary baking; watching health and alarms until then`, true, c.bakeUntil);
    }
    if (now < c.bakeUntil) return;
    // Bake requires evidence: a reading from the bake's end or later of every canary instance
    // healthy and the alarms quiet. Without it (alarms or health unreadable) it waits, then fails.
    if ((c.evidenceAt ?? Number.NEGATIVE_INFINITY) < c.bakeUntil) {
      if (now > c.bakeUntil + bakeEvidenceGraceMs(ctx)) failBake(s, wave, ctx, events);
      return;
    }
    c.baked = true;
    gate(events, now, "bake", "canary baked: healthy, alarms OK", false);
  }
  if (spec?.approve && c.approval !== "approved") {
    if (c.approval === "none") {
      c.approval = "waiting";
      // Nobody to ask here: wait (with a deadline) for `rollwave approve` from another terminal.
      const wait = ctx.approval === undefined ? (ctx.approvalWaitMs ?? 0) : 0;
      if (wait > 0) {
        c.approvalUntil = now + wait;
        gate(
          events,
          now,
          "approval",
          `canary done: waiting up to ${formatDuration(wait)} for \`rollwave approve\` (or \`rollwave abort\`) from any terminal`,
          true,
          c.approvalUntil,
        );
      } else
        gate(events, now, "approval", "canary done: approve to continue with the rest of the fleet", true);
    }
    switch (ctx.approval) {
      case undefined:
        if (c.approval === "waiting" && c.approvalUntil !== undefined && now >= c.approvalUntil) {
          g.pausedFor = "approval";
          g.outcome = {
            status: "paused",
            reason: `waiting for approval: nobody approved within ${formatDuration(ctx.approvalWaitMs ?? 0)}; run \`rollwave resume\` to continue`,
          };
        }
        break;
      case "auto":
      case "approve":
        c.approval = "approved";
        gate(events, now, "approval", ctx.approval === "auto" ? "auto-approved" : "approved", false);
        break;
      case "stop":
        g.outcome = {
          status: "aborted",
          reason: "stopped at the approval gate; the canary stays on the new version",
        };
        break;
      case "pause":
        g.pausedFor = "approval";
        g.outcome = { status: "paused", reason: "waiting for approval: run `rollwave resume` to continue" };
        break;
    }
  }
}

/** How long past its end a bake waits for evidence (health and alarms readable) before failing. */
function bakeEvidenceGraceMs(ctx: DecideContext): number {
  return Math.max(120_000, 4 * ctx.pollMs);
}

/**
 * The canary wave settled: every instance must be done. A skipped one (terminated, gone) is replaced
 * by the next pending instance of the same AZ, moved into the canary wave (returns false: the
 * replacement runs first). With no replacement, or nothing done at all, the gate fails: the failure
 * policy runs as for a failed canary. Failures are the policy's (an operator may have resumed past them).
 */
function canaryComplete(
  s: EngineState,
  wave: EngineState["global"]["waves"][number],
  ctx: DecideContext,
  events: RolloutEvent[],
): boolean {
  const c = s.global.canary;
  const missing: string[] = [];
  for (const id of wave.ids) {
    const gone = s.instances[id] as InstanceRun;
    if (gone.phase !== "skipped" || c.replaced?.includes(id)) continue;
    c.replaced = [...(c.replaced ?? []), id];
    const sub = Object.values(s.instances)
      .filter((i) => i.phase === "pending" && i.az === gone.az && i.wave !== wave.index && !i.lost)
      .sort((a, b) => a.seq - b.seq)[0];
    if (!sub) {
      missing.push(
        `${id} (${gone.az}) ${gone.reason ?? "skipped"}, and no pending instance in ${gone.az} to replace it`,
      );
      continue;
    }
    const from = s.global.waves.find((w) => w.index === sub.wave);
    if (from) {
      const k = s.global.waves.indexOf(from);
      s.global.waves[k] = { ...from, ids: from.ids.filter((x) => x !== sub.id) };
    }
    s.instances[sub.id] = { ...sub, wave: wave.index };
    const k = s.global.waves.indexOf(wave);
    s.global.waves[k] = { ...wave, ids: [...wave.ids, sub.id], finished: false };
    events.push({
      type: "warning",
      at: ctx.now,
      code: "W_CANARY_REPLACED",
      message: `canary ${id} (${gone.az}) was skipped (${gone.reason ?? "gone"}): ${sub.id} from the same AZ takes its place`,
    });
  }
  if (s.global.waves.some((w) => w.index === wave.index && !w.finished)) return false;
  const done = wave.ids.filter((id) => s.instances[id]?.phase === "done").length;
  if (missing.length === 0 && done > 0) return true;
  const reason =
    missing.length > 0
      ? `canary gate: ${missing.join("; ")}`
      : "canary gate: no canary instance finished, nothing to bake";
  triggerPolicy(s, ctx, events, reason);
  return false;
}

/** The bake saw no evidence within its grace: fail the canary instances (the policy then runs). */
function failBake(
  s: EngineState,
  wave: EngineState["global"]["waves"][number],
  ctx: DecideContext,
  events: RolloutEvent[],
) {
  const what =
    ctx.plan.health.alarms.length > 0
      ? "the canary's health and alarms could not be read"
      : "the canary's health could not be read";
  for (const id of wave.ids) {
    const i = s.instances[id] as InstanceRun;
    if (i.phase !== "done") continue;
    const r = fail(
      i,
      `bake: no evidence: ${what} for ${formatDuration(bakeEvidenceGraceMs(ctx))} after the bake`,
      ctx,
    );
    s.instances[id] = r.inst;
    events.push(...r.events);
  }
  const failed = forwardFailures(s) - s.global.policy.acknowledgedFailures;
  triggerPolicy(s, ctx, events, `canary failed: bake without evidence (${failed} instance(s))`);
}

function triggerPolicy(s: EngineState, ctx: DecideContext, events: RolloutEvent[], reason: string) {
  const g = s.global;
  if (g.mode !== "running") return;
  const action = ctx.plan.rollout.failures.action;
  g.policy = { ...g.policy, action, reason };
  g.mode = action === "rollback" ? "rollingBack" : "stopping";
  events.push({
    type: "policy.triggered",
    at: ctx.now,
    action,
    failed: forwardFailures(s) - g.policy.acknowledgedFailures,
    maxFailed: ctx.maxFailed,
    reason,
  });
}

/**
 * Capacity lost while the rollout runs: a pending or finished instance seen not healthy in a group
 * read this tick (reads cover every target of a group, so this costs no call) takes a slot in the
 * window until seen healthy again.
 */
function watchCapacity(s: EngineState, obs: Observation, ctx: DecideContext, events: RolloutEvent[]) {
  for (const i of Object.values(s.instances)) {
    if ((i.phase !== "done" && i.phase !== "pending") || i.targets.length === 0) continue;
    const h = freshHealth(i, obs);
    if (!h) continue;
    // Absent from a group counts for a finished instance (we registered it and saw it healthy); for a
    // pending one only a state the group reports does (a partial listing proves nothing about it).
    const bad = h.filter((x) => (x.d ? x.d.state !== "healthy" : i.phase === "done"));
    if (bad.length === 0) {
      if (i.lost !== undefined) {
        s.instances[i.id] = { ...i, lost: undefined };
        events.push({
          type: "warning",
          at: ctx.now,
          code: "W_CAPACITY_BACK",
          message: `${i.id} (${i.az}) is healthy again: its slot in the window is free`,
        });
      }
      continue;
    }
    if (i.lost !== undefined) continue;
    const lost = bad.map((x) => `${x.d?.state ?? "absent"} in ${shortTg(x.arn)}`).join(", ");
    s.instances[i.id] = { ...i, lost };
    events.push({
      type: "warning",
      at: ctx.now,
      code: "W_CAPACITY_LOST",
      message: `${i.id} (${i.az}, ${i.phase}) is out of service (${lost}): it takes a slot in the window until healthy again`,
    });
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
  // Evidence: every canary instance fresh and healthy everywhere, and the alarms read (none firing).
  const canary = ids.map((id) => s.instances[id] as InstanceRun);
  const seen =
    canary.some((i) => i.phase === "done") &&
    canary.every(
      (i) => i.phase !== "done" || (freshHealth(i, obs)?.every((x) => x.d?.state === "healthy") ?? false),
    ) &&
    (ctx.plan.health.alarms.length === 0 || (obs.alarms !== undefined && firing.length === 0));
  if (seen) c.evidenceAt = ctx.now;
  if (Object.keys(obs.health).length > 0 || obs.alarms)
    c.nextBakeCheckAt = Math.min(ctx.now + ctx.pollMs, Math.max(c.bakeUntil, ctx.now));
}

function outcome(s: EngineState, ctx: DecideContext) {
  const g = s.global;
  const values = Object.values(s.instances);
  const failed = values.filter((i) => i.phase === "failed").length;
  // The failure policy's stop is an outcome of its own: an interrupt or an error while it finishes
  // the in-flight instances does not turn an abort into a pause that `resume` would continue.
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
    if (waiting) {
      if (stopsNewWork(g)) pauseForStop(s);
      return; // blocked by the window this tick
    }
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
  if (stopsNewWork(g)) {
    pauseForStop(s);
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
  if (connections && ctx.connectionsAt !== undefined && src) {
    e.connectionsAgeSeconds = Math.round((now - ctx.connectionsAt) / 1000);
    e.connectionsSource =
      src.kind === "metric"
        ? `${src.namespace}/${src.name} ${src.statistic}`
        : `probe: ${src.command.length > 40 ? `${src.command.slice(0, 40)}…` : src.command}`;
  }
  events.push(e);
}

/**
 * Make a journaled state runnable again (`rollwave resume`). Resuming is the operator's decision: a
 * pending approval counts as approved, failures so far are acknowledged after a failure-policy pause
 * (the policy counts new ones), a capacity, interrupt or error pause simply continues. An abort is
 * sticky: a run the failure policy was aborting only finishes bringing its in-flight instances back
 * and ends `aborted` again. A run that ended (succeeded, failed, rolled back, aborted) is refused.
 */
export function reopen(
  s: EngineState,
  ended: RolloutStatus | undefined,
  fresh?: { now: number; plan: Plan },
): EngineState {
  const g = {
    ...s.global,
    canary: { ...s.global.canary },
    policy: { ...s.global.policy },
    commands: { ...s.global.commands },
  };
  const status = g.outcome?.status ?? ended;
  if (status && status !== "paused") {
    const why =
      status === "aborted"
        ? `the rollout was aborted (${g.outcome?.reason ?? "aborted"}); an abort is final`
        : `the rollout already ended (${status})`;
    throw new ResumeRefusedError(`${why}; start a new one with \`rollwave deploy\``);
  }
  if (g.canary.approval === "waiting") g.canary.approval = "approved";
  const aborting = g.mode === "stopping" && g.policy.action === "abort";
  if (!aborting && (g.pausedFor === "failures" || g.mode === "stopping")) {
    g.policy = { action: null, acknowledgedFailures: forwardFailures(s) };
    g.mode = "running";
  }
  g.outcome = undefined;
  g.pausedFor = undefined;
  g.interrupted = undefined;
  g.error = undefined;
  g.consecutiveErrors = undefined;
  g.heldSince = undefined;
  g.heldReason = undefined;
  g.lastProgressKey = undefined;
  // Instances in flight are re-observed right away rather than at their old schedule, and work the
  // resumed run re-issues gets fresh deadlines (a run resumed hours later must not fail a drain or a
  // registration it has only just re-issued). A command already sent keeps its own: it ran meanwhile.
  const instances = { ...s.instances };
  for (const i of Object.values(instances)) {
    if (!isInFlight(i)) continue;
    let next = i.checkAt !== undefined ? { ...i, checkAt: 0 } : i;
    if (fresh && i.phase !== "failed") {
      const deadline =
        i.need === "command"
          ? commandDeadline(stepSpec(fresh.plan, i.step as StepName), fresh.now)
          : i.phase === "draining"
            ? fresh.now + fresh.plan.drain.timeoutMs
            : i.phase === "registering" || i.phase === "warming"
              ? fresh.now + fresh.plan.health.targetHealthyTimeoutMs
              : undefined;
      if (deadline !== undefined && (i.deadline ?? 0) < deadline) next = { ...next, deadline };
    }
    if (next !== i) instances[i.id] = next;
  }
  for (const c of Object.values(g.commands)) g.commands[c.id] = { ...c, nextPollAt: 0 };
  // A command may have been sent after the last record: look for it before sending again.
  for (const i of Object.values(instances)) {
    if (i.need === "command") instances[i.id] = { ...i, reattach: true };
  }
  return { global: g, instances };
}
