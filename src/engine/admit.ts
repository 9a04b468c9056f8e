/**
 * Admissions (pure, part of `decide`): which pending instances may leave service this tick, under
 * the window, the per-AZ caps, the waves/canary order and the admission checks; and, in rollback
 * mode, which updated instances go back first (newest first).
 */

import type { AdmissionContext, DecideContext, Observation } from "./decide-context.js";
import type { GateKind, RolloutEvent } from "./events.js";
import { freshHealth, startStep, transition } from "./instance-step.js";
import { chargeDisplacement } from "./pacing.js";
import { type EngineState, type InstanceRun, isInFlight, occupiesSlot, stopsNewWork } from "./state.js";

export function gate(
  events: RolloutEvent[],
  now: number,
  kind: GateKind,
  message: string,
  waiting: boolean,
  until?: number,
) {
  if (waiting) {
    const e: RolloutEvent = { type: "gate.waiting", at: now, gate: kind, message };
    if (until !== undefined) e.until = until;
    events.push(e);
  } else events.push({ type: "gate.passed", at: now, gate: kind, message });
}

/** How many slots are taken, overall and per AZ. */
export function occupancy(s: EngineState): { total: number; perAz: Record<string, number> } {
  const perAz: Record<string, number> = {};
  let total = 0;
  for (const i of Object.values(s.instances)) {
    if (!occupiesSlot(i)) continue;
    total++;
    perAz[i.az] = (perAz[i.az] ?? 0) + 1;
  }
  return { total, perAz };
}

export function azCap(ctx: DecideContext, az: string): number {
  return ctx.window.perAz[az] ?? ctx.window.maxUnavailable;
}

function inService(s: EngineState): number {
  let n = 0;
  for (const i of Object.values(s.instances)) if (!occupiesSlot(i) && i.phase !== "skipped") n++;
  return n;
}

/** The waves whose pending instances may start now. */
function admissibleWaves(s: EngineState): Set<number> {
  const g = s.global;
  const out = new Set<number>();
  const canaryOk = g.canary.wave === null || (g.canary.baked && g.canary.approval !== "waiting");
  for (const w of g.waves) {
    if (w.finished) continue;
    if (w.kind === "canary") {
      out.add(w.index);
      break; // nothing else starts before the canary is through
    }
    if (!canaryOk) break;
    out.add(w.index);
    if (g.strategy === "waves") break; // strict batches: only the first unfinished wave
  }
  return out;
}

/**
 * Batching pays: more instances are still to leave service in a batch wave that may start now, so
 * an instance ready for a call that others will soon need too (close, deploy, validate, register)
 * may wait a little to share it, and target-health reads may be a little late to share one read
 * (schedule.ts). Never for the canary, never at the end of a wave (nothing left to join: the last
 * instances set the makespan), never once new work stops.
 */
export function batchingPays(s: EngineState): boolean {
  const g = s.global;
  if (g.mode !== "running" || stopsNewWork(g)) return false;
  const waves = admissibleWaves(s);
  const batch = new Set(g.waves.filter((w) => w.kind === "batch" && waves.has(w.index)).map((w) => w.index));
  if (batch.size === 0) return false;
  for (const i of Object.values(s.instances)) if (i.phase === "pending" && batch.has(i.wave)) return true;
  return false;
}

/**
 * True when instances wait to leave service, whether or not the window has room now: a slot can
 * free up in this very tick, so observe keeps the connection reading within maxAge while they wait.
 */
export function awaitsAdmission(s: EngineState): boolean {
  const g = s.global;
  if (g.interrupted) return false;
  if (g.mode === "rollingBack") return true;
  // Also while the canary is in flight or baking (the next wave may open within the tick), not
  // while an approval is pending: that can last hours.
  if (g.mode !== "running" || g.canary.approval === "waiting") return false;
  return Object.values(s.instances).some((i) => i.phase === "pending");
}

/** True when decide would try to admit something this tick (observe reads connections for it). */
export function wantsAdmission(s: EngineState, ctx: Pick<DecideContext, "window">): boolean {
  if (s.global.interrupted) return false;
  if (s.global.mode === "running") {
    if (occupancy(s).total >= ctx.window.maxUnavailable) return false;
    const waves = admissibleWaves(s);
    return Object.values(s.instances).some((i) => i.phase === "pending" && waves.has(i.wave));
  }
  return s.global.mode === "rollingBack";
}

export function admitForward(s: EngineState, ctx: DecideContext, events: RolloutEvent[]): number {
  const g = s.global;
  const waves = admissibleWaves(s);
  if (waves.size === 0) return 0;
  const occ = occupancy(s);
  const candidates = Object.values(s.instances)
    .filter((i) => i.phase === "pending" && waves.has(i.wave))
    .sort((a, b) => a.seq - b.seq);
  let admitted = 0;
  let held: string | undefined;
  for (const i of candidates) {
    if (occ.total >= ctx.window.maxUnavailable) break;
    if ((occ.perAz[i.az] ?? 0) >= azCap(ctx, i.az)) continue;
    const verdict = admissionVerdict(s, i, ctx);
    if (!verdict.admit) {
      if (verdict.retryAt === undefined) held = verdict.reason; // a paced hold is no capacity gate
      break; // keep the planned order: later instances do not jump a held one
    }
    const spec = ctx.plan.steps.preDrain;
    const r = spec
      ? startStep(i, "preDrain", "preDrain", ctx, "preDrain")
      : (() => {
          const t = transition(i, "deregistering", ctx.now, `leaving ${i.targets.length} target group(s)`);
          t.inst.need = "deregister";
          return t;
        })();
    r.inst.out = true;
    s.instances[i.id] = r.inst;
    displace(s, i, ctx);
    const wave = g.waves.find((w) => w.index === i.wave);
    if (wave && !wave.started) {
      wave.started = true;
      events.push({
        type: "wave.started",
        at: ctx.now,
        index: wave.index,
        kind: wave.kind,
        instanceIds: wave.ids,
      });
    }
    events.push(...r.events);
    occ.total++;
    occ.perAz[i.az] = (occ.perAz[i.az] ?? 0) + 1;
    admitted++;
  }
  holdBookkeeping(s, ctx, events, held);
  return admitted;
}

function holdBookkeeping(
  s: EngineState,
  ctx: DecideContext,
  events: RolloutEvent[],
  held: string | undefined,
) {
  const g = s.global;
  if (held) {
    if (g.heldSince === undefined || g.heldReason !== held) {
      gate(events, ctx.now, "capacity", held, true);
      g.heldSince = g.heldSince ?? ctx.now;
      g.heldReason = held;
    }
  } else if (g.heldSince !== undefined) {
    gate(events, ctx.now, "capacity", "capacity available again", false);
    g.heldSince = undefined;
    g.heldReason = undefined;
  }
}

function admissionVerdict(s: EngineState, i: InstanceRun, ctx: DecideContext) {
  for (const check of ctx.admission) {
    const ac: AdmissionContext = {
      instance: i,
      state: s,
      now: ctx.now,
      plan: ctx.plan,
      inServiceAfter: inService(s) - 1,
    };
    if (ctx.connections) ac.connections = ctx.connections;
    if (ctx.connectionsAt !== undefined) ac.connectionsAt = ctx.connectionsAt;
    if (ctx.connectionsError !== undefined) ac.connectionsError = ctx.connectionsError;
    const v = check(ac);
    if (!v.admit) return v;
  }
  return { admit: true as const };
}

function displace(s: EngineState, i: InstanceRun, ctx: DecideContext) {
  const limit = ctx.plan.capacity.connections?.perInstanceLimit;
  if (limit === undefined) return;
  // No datapoint: it may carry as many as it can hold, so it displaces that many.
  const n = ctx.connections?.[i.id] ?? limit;
  chargeDisplacement(s.global, ctx.now, n, ctx.plan.capacity.connections?.maxDisplacedPerMinute ?? null);
  const cur = s.instances[i.id] as InstanceRun;
  s.instances[i.id] = { ...cur, displaced: (cur.displaced ?? 0) + n };
}

/**
 * Rollback: once forward work in flight is over, every instance whose deploy ran goes back through
 * drain → rollback command → health, newest first, under the same window.
 */
export function admitRollback(s: EngineState, ctx: DecideContext, events: RolloutEvent[]): number {
  const values = Object.values(s.instances);
  if (values.some((i) => isInFlight(i) && !i.rollback)) return 0;
  const occ = occupancy(s);
  const queue = values
    .filter(
      (i) =>
        i.deployedAt !== undefined &&
        !i.rollback &&
        !i.rollbackTried &&
        (i.phase === "done" || i.phase === "failed") &&
        !i.need,
    )
    .sort((a, b) => (b.deployedAt as number) - (a.deployedAt as number) || b.seq - a.seq);
  let admitted = 0;
  let held: string | undefined;
  // A failed instance put back in service (failedInstances: reregister) is registered even while it
  // still holds its slot: it is drained again before its rollback command, never rolled back routed.
  const reregistered = (i: InstanceRun) =>
    i.phase === "failed" && ctx.plan.rollout.failures.failedInstances === "reregister";
  for (const i of queue) {
    const base: InstanceRun = { ...i, rollback: true, reason: undefined };
    if (i.out && !reregistered(i)) {
      // Already out of service (failed and kept out): no drain, its slot is already counted.
      const r = startStep(base, "rollback", "rollingBack", ctx, "rolling back (already out of service)");
      s.instances[i.id] = r.inst;
      events.push(...r.events);
      admitted++;
      continue;
    }
    const counted = occupiesSlot(i); // a reregistered failed one may still hold its slot
    if (!counted && occ.total >= ctx.window.maxUnavailable) continue;
    if (!counted && (occ.perAz[i.az] ?? 0) >= azCap(ctx, i.az)) continue;
    // The same capacity rules as going forward: connections must fit, displacement is paced.
    const verdict = admissionVerdict(s, i, ctx);
    if (!verdict.admit) {
      if (verdict.retryAt === undefined) held = verdict.reason; // a paced hold is no capacity gate
      break;
    }
    const r = transition(base, "deregistering", ctx.now, "rolling back: leaving service");
    r.inst.need = "deregister";
    r.inst.out = true;
    s.instances[i.id] = r.inst;
    displace(s, i, ctx);
    events.push(...r.events);
    if (!counted) {
      occ.total++;
      occ.perAz[i.az] = (occ.perAz[i.az] ?? 0) + 1;
    }
    admitted++;
  }
  holdBookkeeping(s, ctx, events, held);
  return admitted;
}

/**
 * The last check before an instance actually leaves service. Admission counted the window when the
 * instance started its pre-drain; capacity lost since (a finished server flapping, a pending one
 * terminated: `lost`, `skipped`) must not be taken twice. An instance about to be deregistered
 * goes only while the servers out of service now — those already deregistered or gone, not those
 * still in their pre-drain — leave room in the window and in its AZ; otherwise it waits, still
 * registered and still in service, until they do. When no new work may start any more (a stop, the
 * failure policy), a waiting instance goes back to `pending`: it never left service.
 */
export function holdAtTheDoor(
  s: EngineState,
  obs: Observation,
  ctx: DecideContext,
  events: RolloutEvent[],
): void {
  const atDoor = (i: InstanceRun) =>
    i.phase === "deregistering" &&
    (i.doorHeld !== undefined || (i.need === "deregister" && i.phaseSince === ctx.now));
  const door = Object.values(s.instances)
    .filter(atDoor)
    .sort((a, b) => a.seq - b.seq);
  if (door.length === 0) return;
  const readAt = s.global.healthReadAt ?? {};
  // Judged on a read of its groups made this tick: capacity lost since an older read is invisible.
  // Otherwise it waits for the next tick, which reads them (one read per group covers everyone).
  const fresh = (i: InstanceRun) => i.targets.every((t) => readAt[t.arn] === ctx.now);
  // Seen not healthy in this tick's read (it flapped, or was terminated during its pre-drain):
  // already out of service, whatever its phase says.
  const seenOut = (i: InstanceRun) => freshHealth(i, obs)?.some((h) => h.d?.state !== "healthy") === true;
  const out = { total: 0, perAz: {} as Record<string, number> };
  const take = (i: InstanceRun) => {
    out.total++;
    out.perAz[i.az] = (out.perAz[i.az] ?? 0) + 1;
  };
  for (const i of Object.values(s.instances)) {
    if (!occupiesSlot(i)) continue;
    if (atDoor(i) || i.phase === "preDrain") {
      if (seenOut(i)) take(i); // one already out costs nothing more
      continue;
    }
    take(i);
  }
  // Only in-flight work frees a slot for sure (a lost server may never come back): with none left
  // but the waiting ones, they go back to `pending` and the rollout decides what the window allows.
  const stopped =
    stopsNewWorkOrPolicy(s) || !Object.values(s.instances).some((x) => isInFlight(x) && !atDoor(x));
  for (const i of door) {
    if (!fresh(i)) {
      s.instances[i.id] = { ...i, doorHeld: "read", need: null, checkAt: ctx.now };
      continue;
    }
    if (seenOut(i)) {
      if (i.doorHeld) s.instances[i.id] = { ...i, doorHeld: undefined, need: "deregister" };
      continue;
    }
    const room = out.total < ctx.window.maxUnavailable && (out.perAz[i.az] ?? 0) < azCap(ctx, i.az);
    if (room && !(stopped && i.doorHeld === "room")) {
      if (i.doorHeld) s.instances[i.id] = { ...i, doorHeld: undefined, need: "deregister" };
      take(i);
      continue;
    }
    if (stopped) {
      const r = transition(i, "pending", ctx.now, "not leaving service after all: no room in the window now");
      Object.assign(r.inst, {
        doorHeld: undefined,
        need: null,
        out: false,
        step: undefined,
        commandId: undefined,
      });
      s.instances[i.id] = r.inst;
      events.push(...r.events);
      continue;
    }
    if (i.doorHeld !== "room") {
      const lost = Object.values(s.instances).filter(
        (x) => x.lost !== undefined || (x.phase === "skipped" && x.out),
      );
      events.push({
        type: "warning",
        at: ctx.now,
        code: "W_CAPACITY_LOST",
        message: `${i.id} (${i.az}) waits in service before leaving: ${lost.length} instance(s) lost since it was admitted fill the window (${out.total} of ${ctx.window.maxUnavailable} out)`,
      });
    }
    // Looked at again every poll: the groups' reads show lost servers coming back.
    s.instances[i.id] = { ...i, doorHeld: "room", need: null, checkAt: ctx.now + ctx.pollMs };
  }
}

function stopsNewWorkOrPolicy(s: EngineState): boolean {
  const g = s.global;
  return g.mode !== "running" || g.interrupted === true || g.error !== undefined;
}
