/**
 * The reconcile loop: observe → decide (pure) → journal → emit → act → journal → sleep, until the
 * state has an outcome. Around it: the account guard (before any mutation), Auto Scaling
 * suspend/resume (resumed however the run ends) and the final `rollout.finished` event.
 */
import type { ApiCallCounts, MutableAwsConnection } from "../aws/types.js";
import type { Fleet } from "../fleet/types.js";
import type { Plan } from "../plan/types.js";
import type { Clock } from "../util/clock.js";
import type { WavePlan } from "../waves/types.js";
import { act } from "./act.js";
import { fleetGroups, resumeProcesses, suspendProcesses } from "./asg.js";
import { connectionCapacityCheck, connectionDrainPredicate, connectionTotals } from "./capacity.js";
import { decide } from "./decide.js";
import type { AdmissionCheck, DecideContext, DrainPredicate } from "./decide-context.js";
import type { EventSink, InstanceCounts, InstancePhase, RolloutEvent, RolloutStatus } from "./events.js";
import { type Journal, replayJournal, slimGlobal } from "./journal.js";
import { type ConnectionCache, type ObserveDeps, observe } from "./observe.js";
import { countInstances, type EngineState, forwardFailures, initialState, isInFlight } from "./state.js";

export type FinishedEvent = Extract<RolloutEvent, { type: "rollout.finished" }>;

export interface RolloutOptions {
  plan: Plan;
  fleet: Fleet;
  wavePlan: WavePlan;
  aws: MutableAwsConnection;
  clock: Clock;
  signal: AbortSignal;
  emit: EventSink;
  journal: Journal;
  /** Pass approval gates without asking. */
  autoApprove?: boolean;
  /** Interactive approval (the CLI's prompt). Absent and no autoApprove → the run pauses (exit 3). */
  approve?: (gate: { message: string; wave: number }) => Promise<"approve" | "stop">;
  /** Loop interval in clock ms (default 5 s). A tick with nothing due makes no AWS call. */
  tickMs?: number;
  /** How often in-flight health and commands are re-read (default 15 s). */
  pollMs?: number;
  /** Extra capacity guards, consulted after the built-in connection check. */
  admission?: AdmissionCheck[];
  /** Replaces the built-in drain predicate (connections ≤ drain.untilConnections). */
  drainDone?: DrainPredicate;
  /** Counts taken before the run: the finished event reports calls made since (default: at start). */
  apiCallsSince?: ApiCallCounts;
  /** How long admissions may be held by capacity with nothing in flight before pausing (default 30 m). */
  capacityWaitMs?: number;
  /** Continue the rollout recorded in `journal` (a paused or interrupted run). */
  resume?: boolean;
  /** Merged into `rollout.finished` (the CLI adds `sim` when simulating). */
  finishedExtras?: () => Promise<Partial<FinishedEvent>>;
}

export interface RolloutResult {
  status: RolloutStatus;
  instances: InstanceCounts;
  reason?: string;
  perInstance: Record<
    string,
    { phase: InstancePhase; reason?: string; az: string; displaced?: number; cut?: number }
  >;
  durationMs: number;
  apiCalls: { total: number; byAction: Record<string, number> };
  /** The finished event as emitted (with any `finishedExtras`). */
  finished: FinishedEvent;
}

function diffCalls(
  now: ApiCallCounts,
  base: ApiCallCounts,
): { total: number; byAction: Record<string, number> } {
  const byAction: Record<string, number> = {};
  for (const [k, v] of Object.entries(now.byAction)) {
    const d = v - (base.byAction[k] ?? 0);
    if (d > 0) byAction[k] = d;
  }
  return { total: now.total - base.total, byAction };
}

function sleepOrAbort(clock: Clock, ms: number, signal: AbortSignal): Promise<boolean> {
  return clock.sleep(ms, signal).then(
    () => true,
    () => false,
  );
}

/** Continue the rollout recorded in `o.journal`: same as `runRollout({ ...o, resume: true })`. */
export function resumeRollout(o: RolloutOptions): Promise<RolloutResult> {
  return runRollout({ ...o, resume: true });
}

export async function runRollout(o: RolloutOptions): Promise<RolloutResult> {
  const { plan, fleet, wavePlan, clock, emit, journal } = o;
  const now = () => clock.now();
  const startedAt = now();
  const base = o.apiCallsSince ?? o.aws.calls();
  const tickMs = o.tickMs ?? 5_000;
  const pollMs = o.pollMs ?? 15_000;
  const warn = (code: string, message: string) => emit({ type: "warning", at: now(), code, message });

  let state: EngineState;
  let stillOurs: Record<string, string[]> = {};
  if (o.resume) {
    const replayed = replayJournal(await journal.read());
    stillOurs = replayed.suspended;
    state = reopen(replayed.state, replayed.end?.status);
    await journal.append({ type: "resume", at: now() });
  } else {
    state = initialState(plan.name, plan.rollout.strategy, fleet, wavePlan, startedAt);
    await journal.append({ type: "begin", at: startedAt, name: plan.name, state });
  }
  // On resume the planner may skip instances this rollout already holds (e.g. failed ones left out):
  // those are counted from the journal, not twice.
  const plannerSkipped = wavePlan.skipped.filter((x) => !state.instances[x.id]);
  emit({
    type: "rollout.started",
    at: startedAt,
    name: plan.name,
    dryRun: false,
    strategy: plan.rollout.strategy,
    total: Object.keys(state.instances).length + plannerSkipped.length,
    waves: wavePlan.waves.map((w) => ({ index: w.index, kind: w.kind, size: w.instances.length })),
    window: wavePlan.window,
    maxFailed: wavePlan.maxFailed,
  });

  const conclude = (status: RolloutStatus, reason?: string) => {
    state = {
      ...state,
      global: { ...state.global, outcome: reason === undefined ? { status } : { status, reason } },
    };
  };

  let ours: Record<string, string[]> = {};
  let mutationsAllowed = false;
  try {
    // The account guard, before any mutating call.
    const want = plan.guard.account;
    if (want) {
      const id = await o.aws.reader.getCallerIdentity();
      if (id.account !== want) {
        conclude(
          "failed",
          `account guard: credentials are for account ${id.account} (${id.arn}), the plan is for ${want}; nothing was changed`,
        );
      } else mutationsAllowed = true;
    } else mutationsAllowed = true;

    if (mutationsAllowed) {
      const planned = new Set(Object.keys(state.instances));
      ours = await suspendProcesses({
        reader: o.aws.reader,
        writer: o.aws.writer,
        groups: fleetGroups(fleet, planned),
        processes: plan.fleet.autoScaling.suspendProcesses,
        stillOurs,
        journal,
        emit,
        now,
      });
      await loop();
    }
  } catch (e) {
    conclude("failed", `${(e as Error).message}`);
  } finally {
    const problems = await resumeProcesses({ writer: o.aws.writer, ours, journal, emit, now });
    if (problems.length && state.global.outcome) {
      const r = state.global.outcome.reason;
      conclude(state.global.outcome.status, [r, ...problems].filter(Boolean).join("; "));
    }
  }

  async function loop() {
    const cache: ConnectionCache = {};
    const admission: AdmissionCheck[] = [];
    const cc = connectionCapacityCheck(plan, fleet);
    if (cc) admission.push(cc);
    admission.push(...(o.admission ?? []));
    const drainDone = o.drainDone ?? connectionDrainPredicate(plan, fleet);
    const drainDelayMs: Record<string, number> = {};
    for (const tg of fleet.targetGroups) drainDelayMs[tg.arn] = tg.deregistrationDelaySeconds * 1000;
    const fleetIds = Object.keys(state.instances);
    const obsDeps: ObserveDeps = {
      reader: o.aws.reader,
      plan,
      window: wavePlan.window,
      pollMs,
      fleetIds,
      drainByConnections: !!drainDone,
      warn,
    };
    const until = plan.drain.untilConnections;
    if (drainDone && !o.drainDone && until !== null)
      obsDeps.drainGate = { untilConnections: until, drainDelayMs };
    const actDeps = {
      writer: o.aws.writer,
      plan,
      now,
      pollMs,
      drainDelayMs,
      drainByConnections: !!drainDone,
    };
    for (;;) {
      if (o.signal.aborted && !state.global.interrupted) {
        // A graceful stop: nothing new starts, instances in flight finish (each wait has its
        // deadline) so none is left deregistered; then the run pauses for `resume`.
        state = { ...state, global: { ...state.global, interrupted: true } };
        const inFlight = Object.values(state.instances).filter(isInFlight).length;
        warn(
          "W_INTERRUPTED",
          `interrupted: starting nothing new; ${inFlight} instance(s) in flight finish first`,
        );
      }
      const t = now();
      const obs = await observe(state, t, obsDeps, cache);
      const ctx: DecideContext = {
        now: t,
        plan,
        window: wavePlan.window,
        maxFailed: wavePlan.maxFailed,
        drainDelayMs,
        pollMs,
        admission,
        capacityWaitMs: o.capacityWaitMs ?? 30 * 60_000,
      };
      if (drainDone) ctx.drainDone = drainDone;
      if (cache.values) ctx.connections = cache.values;
      if (cache.at !== undefined) ctx.connectionsAt = cache.at;
      if (cache.error !== undefined) ctx.connectionsError = cache.error;
      const prev = state;
      const d = decide(state, obs, ctx);
      state = d.state;
      // Journal and report this tick's decision before asking anyone anything: the person at the
      // prompt (and the NDJSON reader) sees "canary baked" before the approval question.
      await journalDecision(prev, "decision");
      for (const e of d.events) emit(e);
      const g = state.global;
      if (
        g.canary.approval === "waiting" &&
        !g.outcome &&
        !g.interrupted &&
        !Object.values(state.instances).some(isInFlight)
      ) {
        const beforeGate = state;
        await approvalGate();
        await journalDecision(beforeGate, "decision");
      }
      if (state.global.outcome) return;
      const a = await act(state, actDeps);
      state = a.state;
      if (a.changed.length) {
        await journal.append({
          type: "acted",
          at: now(),
          instances: a.changed,
          global: slimGlobal(state.global),
        });
      }
      for (const e of a.events) emit(e);
      // Once interrupted, the remaining waits ignore the (already aborted) signal.
      if (state.global.interrupted) await clock.sleep(tickMs);
      else await sleepOrAbort(clock, tickMs, o.signal);
    }
  }

  async function journalDecision(prev: EngineState, type: "decision") {
    const changed = Object.values(state.instances).filter((i) => prev.instances[i.id] !== i);
    if (changed.length === 0 && JSON.stringify(prev.global) === JSON.stringify(state.global)) return;
    await journal.append({ type, at: now(), instances: changed, global: slimGlobal(state.global) });
  }

  async function approvalGate() {
    const g = state.global;
    const message = `canary done (${wavePlan.waves[0]?.instances.length ?? 0} instance(s)): continue with the rest of the fleet?`;
    let verdict: "approve" | "stop" | "pause";
    if (o.autoApprove) verdict = "approve";
    else if (o.approve) {
      const answer = o.approve({ message, wave: g.canary.wave ?? 0 });
      const aborted = new Promise<"pause">((resolve) => {
        if (o.signal.aborted) resolve("pause");
        o.signal.addEventListener("abort", () => resolve("pause"), { once: true });
      });
      verdict = await Promise.race([answer, aborted]);
    } else verdict = "pause";
    const at = now();
    if (verdict === "approve") {
      state = { ...state, global: { ...g, canary: { ...g.canary, approval: "approved" } } };
      emit({
        type: "gate.passed",
        at,
        gate: "approval",
        message: o.autoApprove ? "auto-approved" : "approved",
      });
    } else if (verdict === "stop") {
      conclude("aborted", "stopped at the approval gate; the canary stays on the new version");
    } else {
      conclude("paused", "waiting for approval: run `rollwave resume` to continue");
      state.global.pausedFor = "approval";
    }
  }

  // The end: journal, counts, API calls, the finished event.
  const outcome = state.global.outcome ?? {
    status: "failed" as const,
    reason: "the rollout stopped without an outcome",
  };
  await journal.append(
    outcome.reason === undefined
      ? { type: "end", at: now(), status: outcome.status }
      : { type: "end", at: now(), status: outcome.status, reason: outcome.reason },
  );
  const instances = countInstances(state, plannerSkipped.length);
  const perInstance: RolloutResult["perInstance"] = {};
  for (const s of plannerSkipped) perInstance[s.id] = { phase: "skipped", reason: s.reason, az: s.az };
  for (const i of Object.values(state.instances)) {
    const row: RolloutResult["perInstance"][string] =
      i.reason === undefined ? { phase: i.phase, az: i.az } : { phase: i.phase, reason: i.reason, az: i.az };
    if (i.displaced !== undefined) row.displaced = i.displaced;
    if (i.cut !== undefined) row.cut = i.cut;
    perInstance[i.id] = row;
  }
  const apiCalls = diffCalls(o.aws.calls(), base);
  const durationMs = now() - startedAt;
  let finished: FinishedEvent = {
    type: "rollout.finished",
    at: now(),
    status: outcome.status,
    instances,
    apiCalls,
    durationSeconds: Math.round(durationMs / 100) / 10,
  };
  if (outcome.reason !== undefined) finished.reason = outcome.reason;
  if (plan.capacity.connections) finished.connections = connectionTotals(state);
  if (o.finishedExtras) {
    try {
      finished = { ...finished, ...(await o.finishedExtras()), type: "rollout.finished" };
    } catch (e) {
      warn("E_FINISHED_EXTRAS", `could not add run extras: ${(e as Error).message}`);
    }
  }
  emit(finished);
  const result: RolloutResult = {
    status: outcome.status,
    instances,
    perInstance,
    durationMs,
    apiCalls,
    finished,
  };
  if (outcome.reason !== undefined) result.reason = outcome.reason;
  return result;
}

/**
 * Make a journaled state runnable again. Resuming is the operator's decision: a pending approval
 * counts as approved, failures so far are acknowledged (the policy counts new ones), a capacity or
 * interrupt pause simply continues. A finished run (succeeded, failed, rolled back) is not reopened.
 */
function reopen(s: EngineState, ended: RolloutStatus | undefined): EngineState {
  const g = {
    ...s.global,
    canary: { ...s.global.canary },
    policy: { ...s.global.policy },
    commands: { ...s.global.commands },
  };
  const status = g.outcome?.status ?? ended;
  if (status && status !== "paused") {
    throw new Error(`the rollout already ended (${status}); start a new one with \`rollwave deploy\``);
  }
  if (g.canary.approval === "waiting") g.canary.approval = "approved";
  if (g.pausedFor === "failures" || g.mode === "stopping") {
    g.policy = { action: null, acknowledgedFailures: forwardFailures(s) };
    g.mode = "running";
  }
  g.outcome = undefined;
  g.pausedFor = undefined;
  g.interrupted = undefined;
  g.heldSince = undefined;
  g.heldReason = undefined;
  g.lastProgressKey = undefined;
  // Instances in flight are re-observed right away rather than at their old schedule.
  const instances = { ...s.instances };
  for (const i of Object.values(instances)) {
    if (isInFlight(i) && i.checkAt !== undefined) instances[i.id] = { ...i, checkAt: 0 };
  }
  for (const c of Object.values(g.commands)) g.commands[c.id] = { ...c, nextPollAt: 0 };
  return { global: g, instances };
}
