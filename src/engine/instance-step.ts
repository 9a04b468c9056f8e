/**
 * The per-instance state machine, one tick at a time (pure). Forward path:
 *
 *   pending → (preDrain) → deregistering → draining → deploying → (validating) → registering → warming → done
 *
 * Rollback path (flag `rollback`): [deregistering → draining →] rollingBack → registering → warming → rolledBack.
 * A transition that needs AWS only sets `need`; `act` makes the call and records its outcome.
 */
import type { CommandInvocationSummary, TargetHealthDescription } from "../aws/types.js";
import { shortTg } from "../fleet/types.js";
import { formatDuration } from "../util/duration.js";
import { commandDeadline, type DecideContext, type Observation, stepSpec } from "./decide-context.js";
import type { InstancePhase, RolloutEvent } from "./events.js";
import { healthIntervalMs } from "./schedule.js";
import type { InstanceRun, StepName } from "./state.js";

interface StepOut {
  inst: InstanceRun;
  events: RolloutEvent[];
}

type Health = { arn: string; d: TargetHealthDescription | undefined };

/** Health of the instance in each of its groups, or undefined when a group was not read this tick. */
export function freshHealth(i: InstanceRun, obs: Observation): Health[] | undefined {
  const out: Health[] = [];
  for (const t of i.targets) {
    const g = obs.health[t.arn];
    if (!g) return undefined;
    out.push({ arn: t.arn, d: g[i.id] });
  }
  return out;
}

const GONE = new Set(["unused"]);
const STILL_ROUTED = new Set(["healthy", "initial", "unhealthy", "unavailable"]);

function describe(h: Health): string {
  if (!h.d) return `absent from ${shortTg(h.arn)}`;
  return `${h.d.state}${h.d.reason ? ` (${h.d.reason})` : ""} in ${shortTg(h.arn)}`;
}

export function transition(i: InstanceRun, to: InstancePhase, now: number, detail?: string): StepOut {
  const inst: InstanceRun = { ...i, phase: to, phaseSince: now };
  const ev: RolloutEvent = {
    type: "instance.phase",
    at: now,
    id: i.id,
    az: i.az,
    wave: i.wave,
    from: i.phase,
    to,
  };
  if (detail) ev.detail = detail;
  return { inst, events: [ev] };
}

/**
 * Fail an instance. `keepOut` leaves it deregistered (counted against the window); `reregister`
 * puts it back in every group. An instance that never left service (preDrain failed) stays in.
 */
export function fail(i: InstanceRun, reason: string, ctx: DecideContext): StepOut {
  const phase = i.phase;
  const r = transition(i, "failed", ctx.now, reason);
  const inst = r.inst;
  inst.failedPhase = phase;
  inst.reason = reason;
  inst.commandId = undefined;
  inst.atAlarmGate = false;
  inst.deadline = undefined;
  inst.lost = undefined;
  if (i.rollback) inst.rollbackTried = true;
  const wasRegistered = phase === "preDrain" || phase === "done" || phase === "rolledBack";
  const isRegistered = wasRegistered || phase === "registering" || phase === "warming";
  if (phase === "preDrain") {
    inst.out = false;
    inst.need = null;
  } else if (ctx.plan.rollout.failures.failedInstances === "reregister") {
    // Back in service once observed healthy everywhere; until then it still takes a slot.
    inst.need = isRegistered ? null : "register";
    inst.out = !wasRegistered;
    inst.checkAt = ctx.now + ctx.pollMs;
  } else {
    inst.need = isRegistered && !wasRegistered ? "deregister" : null;
    inst.out = !wasRegistered;
  }
  r.events.push({ type: "instance.failed", at: ctx.now, id: i.id, az: i.az, wave: i.wave, phase, reason });
  return r;
}

function skip(i: InstanceRun, reason: string, ctx: DecideContext): StepOut {
  const r = transition(i, "skipped", ctx.now, reason);
  // The capacity an instance took with it stays lost: the floor is absolute, so it keeps its slot
  // (even one that was still in service, e.g. terminated during preDrain). EC2 answered: it is not
  // polled again (a suspect flag left set would re-read DescribeInstances every tick, forever).
  r.inst.reason = reason;
  r.inst.need = null;
  r.inst.commandId = undefined;
  r.inst.deadline = undefined;
  r.inst.out = true;
  r.inst.lost = undefined;
  r.inst.suspect = false;
  r.inst.ec2Checked = true;
  r.events.push({
    type: "warning",
    at: ctx.now,
    code: "W_CAPACITY_LOST",
    message: `${i.id} (${i.az}) is gone: its slot in the window stays taken so the capacity floor holds`,
  });
  return r;
}

/** Ask for a command step: `act` groups every instance needing the same step into SendCommands of at most `LIMITS.sendCommandInstanceIds` ids. */
export function startStep(
  i: InstanceRun,
  step: StepName,
  phase: InstancePhase,
  ctx: DecideContext,
  detail?: string,
): StepOut {
  const r = transition(i, phase, ctx.now, detail);
  r.inst.step = step;
  r.inst.need = "command";
  r.inst.commandId = undefined;
  r.inst.deadline = commandDeadline(stepSpec(ctx.plan, step), ctx.now);
  if (step === "deploy") r.inst.deployedAt = ctx.now;
  return r;
}

function startRegister(i: InstanceRun, ctx: DecideContext, detail: string): StepOut {
  const r = transition(i, "registering", ctx.now, detail);
  r.inst.need = "register";
  r.inst.step = undefined;
  r.inst.commandId = undefined;
  r.inst.deadline = ctx.now + ctx.plan.health.targetHealthyTimeoutMs;
  r.inst.checkAt = ctx.now + ctx.pollMs;
  r.inst.healthySince = undefined;
  return r;
}

/** First lines of what a failed command printed, for the failure reason. */
function firstLines(text: string | undefined, lines = 3, max = 300): string {
  if (!text) return "";
  const t = text.trim().split(/\r?\n/).slice(0, lines).join(" | ");
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

export function commandFailureReason(
  step: StepName,
  inv: CommandInvocationSummary,
  timeoutMs?: number,
): string {
  const d = inv.statusDetails || inv.status;
  let what: string;
  switch (d) {
    case "Undeliverable":
      what = "SSM could not deliver the command (agent offline or instance unreachable)";
      break;
    case "Delivery Timed Out":
      what = "the SSM agent did not pick up the command before the delivery timeout";
      break;
    case "Execution Timed Out":
    case "TimedOut":
      what = `the command ran past its timeout${timeoutMs ? ` of ${formatDuration(timeoutMs)}` : ""}`;
      break;
    case "Terminated":
      what = "the command was terminated (its parent command hit the error limit)";
      break;
    case "Cancelled":
      what = "the command was cancelled";
      break;
    default:
      what = `the command failed${inv.responseCode !== undefined && inv.responseCode >= 0 ? ` with exit code ${inv.responseCode}` : ""} (${d})`;
  }
  const out = firstLines(inv.stderr) || firstLines(inv.output);
  return `${step}: ${what}${out ? `: ${out}` : ""}`;
}

const TERMINAL_FAIL = new Set(["Failed", "TimedOut", "Cancelled"]);
const SUSPECT_DETAILS = new Set(["Undeliverable", "Delivery Timed Out", "Terminated"]);

/** Advance one in-flight instance given this tick's observations. */
export function stepInstance(inst: InstanceRun, obs: Observation, ctx: DecideContext): StepOut {
  let i = inst;
  // EC2 says it is gone: nothing more can be done with it, whatever the phase.
  const ec2 = obs.ec2?.[i.id];
  if (ec2 === "running" && !i.ec2Checked) i = { ...i, ec2Checked: true, suspect: false };
  if (ec2 !== undefined && ec2 !== "running" && i.phase === "failed") {
    // Failed and gone: nothing to register or roll back any more; it stays out, and is not polled again.
    return {
      inst: {
        ...i,
        need: null,
        out: true,
        suspect: false,
        ec2Checked: true,
        reason: `${i.reason ?? "failed"}; then the instance was ${ec2}`,
      },
      events: [],
    };
  }
  if (ec2 !== undefined && ec2 !== "running") {
    return skip(
      i,
      `instance is ${ec2} (${i.phase === "pending" ? "before start" : `during ${i.phase}`})`,
      ctx,
    );
  }
  if (i.actErrors >= 6 && i.need && i.phase === "failed") {
    // Already failed: stop retrying (failing it again would retry forever). It stays out.
    return {
      inst: {
        ...i,
        need: null,
        out: true,
        reason: `${i.reason ?? "failed"}; then ${i.need} kept failing: ${i.lastError ?? "unknown error"}`,
      },
      events: [],
    };
  }
  if (i.actErrors >= 6 && i.need) {
    return fail(i, `AWS call kept failing while ${i.phase}: ${i.lastError ?? "unknown error"}`, ctx);
  }
  switch (i.phase) {
    case "preDrain":
    case "deploying":
    case "validating":
    case "rollingBack":
      return stepCommand(i, obs, ctx);
    case "draining":
      // drain.closeCommand running: the drain threshold was reached, the rest is being closed.
      return i.step === "close" ? stepCommand(i, obs, ctx) : stepDraining(i, obs, ctx);
    case "registering":
    case "warming":
      return stepHealth(i, obs, ctx);
    case "failed":
      return stepFailedReregistered(i, obs, ctx);
    default:
      return { inst: i, events: [] };
  }
}

function stepCommand(i: InstanceRun, obs: Observation, ctx: DecideContext): StepOut {
  const step = i.step as StepName;
  const spec = stepSpec(ctx.plan, step);
  // A result observed late still counts: the deadline only judges the absence of a result.
  const polled = i.commandId !== undefined && obs.commands[i.commandId] !== undefined;
  // Past the deadline, judge only on a poll made now (a slow tick must not fail a finished command);
  // a command never sent (SendCommand kept failing) has nothing to poll.
  const late = i.deadline !== undefined && ctx.now > i.deadline && (polled || i.commandId === undefined);
  const inv = i.commandId ? obs.commands[i.commandId]?.[i.id] : undefined;
  if (inv?.status === "Success") return afterCommand(i, step, ctx);
  // Right after SendCommand the invocation may not be listed yet: that is "not yet", not an error.
  if (!inv || !TERMINAL_FAIL.has(inv.status)) {
    if (late) {
      const sentFor = i.commandId ? commandDeadline(spec, 0) : (i.deadline as number) - i.phaseSince;
      const r = fail(i, `${step}: no result within ${formatDuration(sentFor)}`, ctx);
      // Given up on, not finished: cancel it, so a rollback can never race a deploy still running.
      if (i.commandId) r.inst.cancelCommandId = i.commandId;
      return r;
    }
    return { inst: i, events: [] };
  }
  if (SUSPECT_DETAILS.has(inv.statusDetails) && !i.ec2Checked) {
    // Might be a terminated instance rather than a bad agent: check EC2 before judging.
    return { inst: { ...i, suspect: true }, events: [] };
  }
  return fail(i, commandFailureReason(step, inv, spec?.timeoutMs), ctx);
}

function afterCommand(i: InstanceRun, step: StepName, ctx: DecideContext): StepOut {
  const cmd = i.commandId ? ` (command ${i.commandId.slice(0, 8)})` : "";
  if (step === "preDrain") {
    const r = transition(i, "deregistering", ctx.now, `preDrain succeeded${cmd}`);
    r.inst.need = "deregister";
    r.inst.step = undefined;
    r.inst.commandId = undefined;
    return r;
  }
  if (step === "close") {
    const why = `closed the remaining connections${cmd}`;
    return i.rollback
      ? startStep(i, "rollback", "rollingBack", ctx, why)
      : startStep(i, "deploy", "deploying", ctx, why);
  }
  if (step === "deploy" && ctx.plan.steps.validate) {
    return startStep(i, "validate", "validating", ctx, `deploy succeeded${cmd}`);
  }
  return startRegister(i, ctx, `${step} succeeded${cmd}`);
}

/**
 * The drain ended with connections still on the instance: they are cut, not shed. Counted from the
 * latest reading (none without a connection metric); summed when a rollback drains it again.
 */
function withCut(r: StepOut, i: InstanceRun, obs: Observation, ctx: DecideContext): StepOut {
  // Only a reading taken during the drain says what is left (observe reads one for it).
  const fresh = ctx.connectionsAt !== undefined && ctx.connectionsAt >= i.phaseSince;
  const left = obs.connections?.[i.id] ?? (fresh ? ctx.connections?.[i.id] : undefined);
  if (left !== undefined) r.inst.cut = (i.cut ?? 0) + left;
  return r;
}

function stepDraining(i: InstanceRun, obs: Observation, ctx: DecideContext): StepOut {
  const h = freshHealth(i, obs);
  const late = i.deadline !== undefined && ctx.now > i.deadline;
  const timeout = () => {
    const where = (h ?? [])
      .filter((x) => x.d && !GONE.has(x.d.state))
      .map(describe)
      .join(", ");
    return withCut(
      fail(
        i,
        `drain did not finish within ${formatDuration(ctx.plan.drain.timeoutMs)}${where ? `: ${where}` : ""}`,
        ctx,
      ),
      i,
      obs,
      ctx,
    );
  };
  // Judge only on fresh data: observe reads the groups as soon as the deadline passes.
  if (!h) return { inst: i, events: [] };
  if (h.some((x) => x.d?.reason === "Target.InvalidState") && !i.ec2Checked) {
    return { inst: { ...i, suspect: true, checkAt: ctx.now }, events: [] };
  }
  const routed = h.filter((x) => x.d && STILL_ROUTED.has(x.d.state));
  if (routed.length > 0) {
    // The deregistration did not take (or someone re-registered it): never deploy while routed.
    return { inst: { ...i, need: "deregister", checkAt: ctx.now + ctx.pollMs }, events: [] };
  }
  const allGone = h.every((x) => !x.d || GONE.has(x.d.state));
  const conns = obs.connections?.[i.id];
  const predicateDone =
    !allGone && ctx.drainDone ? ctx.drainDone({ instance: i, connections: conns, now: ctx.now }) : false;
  if (predicateDone && ctx.plan.steps.close && conns !== undefined && conns > 0) {
    // At the threshold with stragglers left: drain.closeCommand closes them (they reconnect elsewhere
    // at once) instead of waiting out the deregistration delay. Still `draining`, never routed.
    // What it closes is cut: the reading just before the close (taken during the drain).
    const inst: InstanceRun = {
      ...i,
      cut: (i.cut ?? 0) + conns,
      step: "close",
      need: "command",
      commandId: undefined,
      checkAt: undefined,
      deadline: commandDeadline(ctx.plan.steps.close, ctx.now),
    };
    const ev: RolloutEvent = {
      type: "instance.phase",
      at: ctx.now,
      id: i.id,
      az: i.az,
      wave: i.wave,
      from: "draining",
      to: "draining",
      detail: `drained to ${conns} connection(s): closing them (drain.closeCommand)`,
    };
    return { inst, events: [ev] };
  }
  if (allGone || predicateDone) {
    const why = allGone ? "drained" : `drained (${conns ?? "?"} connections left)`;
    return withCut(
      i.rollback
        ? startStep(i, "rollback", "rollingBack", ctx, why)
        : startStep(i, "deploy", "deploying", ctx, why),
      i,
      obs,
      ctx,
    );
  }
  // Out of rotation (no new connections) but not drained: past drain.timeout it fails and stays out.
  if (late) return timeout();
  return { inst: { ...i, checkAt: ctx.now + ctx.pollMs }, events: [] };
}

function stepHealth(i: InstanceRun, obs: Observation, ctx: DecideContext): StepOut {
  if (i.need === "register") return { inst: i, events: [] };
  if (i.atAlarmGate) {
    if (!obs.alarms) {
      // Alarms could not be read: wait, but not forever.
      if (i.deadline !== undefined && ctx.now > i.deadline)
        return fail(i, "alarm gate: the alarms could not be read", ctx);
      return { inst: i, events: [] };
    }
    const firing = obs.alarms.filter((a) => a.state === "ALARM");
    if (firing.length > 0) {
      const names = firing.map((a) => a.name).join(", ");
      return fail(i, `alarm gate: ${names} in ALARM after the update`, ctx);
    }
    // A gate on an alarm that does not exist would pass silently forever: refuse it.
    const seen = new Set(obs.alarms.map((a) => a.name));
    const missing = ctx.plan.health.alarms.filter((n) => !seen.has(n));
    if (missing.length > 0) return fail(i, `alarm gate: alarm(s) not found: ${missing.join(", ")}`, ctx);
    return finish(i, ctx, "healthy, stable, alarms OK");
  }
  const h = freshHealth(i, obs);
  if (!h) return { inst: i, events: [] };
  const bad = h.filter((x) => x.d?.state !== "healthy");
  if (h.some((x) => x.d?.reason === "Target.InvalidState") && !i.ec2Checked) {
    return { inst: { ...i, suspect: true, checkAt: ctx.now }, events: [] };
  }
  if (bad.length === 0) {
    if (i.phase === "registering") {
      const r = transition(i, "warming", ctx.now, `healthy in ${h.length} target group(s)`);
      r.inst.healthySince = ctx.now;
      r.inst.checkAt = ctx.now + Math.max(ctx.pollMs, Math.ceil(ctx.plan.health.stableForMs / 3));
      return gateIfStable(r, ctx);
    }
    return gateIfStable({ inst: i, events: [] }, ctx);
  }
  // Registration lost (absent/unused): register again rather than wait for a health that cannot come.
  const lost = bad.some((x) => !x.d || x.d.state === "unused");
  if (i.phase === "warming") {
    const flap = `flapped: ${bad.map(describe).join(", ")}`;
    if (i.deadline !== undefined && ctx.now > i.deadline)
      return fail(i, `unstable after registration, ${flap}`, ctx);
    const r = transition(i, "registering", ctx.now, flap);
    r.inst.healthySince = undefined;
    r.inst.checkAt = ctx.now + ctx.pollMs;
    if (lost) r.inst.need = "register";
    return r;
  }
  if (i.deadline !== undefined && ctx.now > i.deadline) {
    return fail(
      i,
      `not healthy within ${formatDuration(ctx.plan.health.targetHealthyTimeoutMs)}: ${bad.map(describe).join(", ")}`,
      ctx,
    );
  }
  return {
    inst: { ...i, need: lost ? "register" : null, checkAt: ctx.now + healthPoll(i, ctx) },
    events: [],
  };
}

/**
 * Not healthy yet: look again after one health-check interval (the next check can change the
 * state), more sparsely the longer it takes. Without a known health check, every `pollMs`.
 */
function healthPoll(i: InstanceRun, ctx: DecideContext): number {
  const elapsed = ctx.now - i.phaseSince;
  const interval = healthIntervalMs(
    i.targets.map((t) => t.arn),
    ctx.healthChecks ?? {},
    ctx.pollMs,
  );
  return Math.min(60_000, Math.max(interval, Math.round(elapsed / 3)));
}

function gateIfStable(r: StepOut, ctx: DecideContext): StepOut {
  const i = r.inst;
  const since = i.healthySince ?? ctx.now;
  if (ctx.now - since < ctx.plan.health.stableForMs) {
    r.inst = {
      ...i,
      checkAt: Math.min(
        since + ctx.plan.health.stableForMs,
        ctx.now + Math.max(ctx.pollMs, Math.ceil(ctx.plan.health.stableForMs / 3)),
      ),
    };
    return r;
  }
  if (ctx.plan.health.alarms.length > 0) {
    r.inst = {
      ...i,
      atAlarmGate: true,
      checkAt: ctx.now,
      deadline: ctx.now + Math.max(120_000, 4 * ctx.pollMs),
    };
    return r;
  }
  const f = finish(i, ctx, "healthy and stable");
  return { inst: f.inst, events: [...r.events, ...f.events] };
}

function finish(i: InstanceRun, ctx: DecideContext, detail: string): StepOut {
  const r = transition(i, i.rollback ? "rolledBack" : "done", ctx.now, detail);
  Object.assign(r.inst, {
    out: false,
    lost: undefined,
    need: null,
    atAlarmGate: false,
    checkAt: undefined,
    deadline: undefined,
    healthySince: undefined,
  });
  return r;
}

/** A failed instance put back in service frees its slot once healthy in every group. */
function stepFailedReregistered(i: InstanceRun, obs: Observation, ctx: DecideContext): StepOut {
  if (!i.out || i.need || ctx.plan.rollout.failures.failedInstances !== "reregister")
    return { inst: i, events: [] };
  const h = freshHealth(i, obs);
  if (!h) return { inst: i, events: [] };
  if (h.every((x) => x.d?.state === "healthy"))
    return { inst: { ...i, out: false, checkAt: undefined }, events: [] };
  return { inst: { ...i, checkAt: ctx.now + ctx.pollMs * 4 }, events: [] };
}
