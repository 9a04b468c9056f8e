/**
 * The reconcile loop: observe → decide (pure) → journal → emit → act → journal → sleep, until the
 * state has an outcome. Around it: the account guard (before any mutation), Auto Scaling
 * suspend/resume (resumed however the run ends) and the final `rollout.finished` event.
 *
 * Every await of the loop is guarded: what throws becomes `ctx.error` for the next decision, which
 * stops new work, brings in-flight instances back and pauses (or gives up after
 * `maxConsecutiveErrors`). The runner never writes rollout state itself: the interrupt, the approval
 * answer, errors and the guard's verdict are inputs to `decide`. An unrecorded decision is never acted on.
 */
import { randomUUID } from "node:crypto";
import type { ApiCallCounts, MutableAwsConnection } from "../aws/types.js";
import type { Fleet } from "../fleet/types.js";
import type { Plan } from "../plan/types.js";
import type { Clock } from "../util/clock.js";
import type { WavePlan } from "../waves/types.js";
import { act } from "./act.js";
import { fleetGroups, resumeProcesses, suspendProcesses } from "./asg.js";
import { connectionCapacityCheck, connectionDrainPredicate, connectionTotals } from "./capacity.js";
import type { ControlChannel, ControlRequest } from "./control.js";
import { type Decision, decide, reopen } from "./decide.js";
import {
  type AdmissionCheck,
  type DecideContext,
  type DrainPredicate,
  emptyObservation,
} from "./decide-context.js";
import { type HeaderChange, JournalMismatchError } from "./errors.js";
import type { EventSink, InstanceCounts, InstancePhase, RolloutEvent, RolloutStatus } from "./events.js";
import {
  type Journal,
  type JournalRecord,
  type RolloutHeader,
  replayJournal,
  slimGlobal,
} from "./journal.js";
import { type ConnectionCache, nextDueAt, type ObserveDeps, observe } from "./observe.js";
import { ProbeSource } from "./probe.js";
import { findSentCommands, needsLookup } from "./reattach.js";
import { drainGraceMs, healthChecks, sleepUntilDue } from "./schedule.js";
import { countInstances, type EngineState, initialState, isInFlight, stopsNewWork } from "./state.js";
import type { WarningCode } from "./warnings.js";

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
  /**
   * While more instances are still to leave (batching pays): how long an instance ready for its
   * close/deploy/validate command or its registration may wait for others to share the call
   * (default 30 s; 0 turns it off), and how late a target-health read may be so that reads falling
   * due together share one (default 20 s). See schedule.ts.
   */
  batchHoldMs?: number;
  readSlackMs?: number;
  /** Extra capacity guards, consulted after the built-in connection check. */
  admission?: AdmissionCheck[];
  /** Replaces the built-in drain predicate (connections ≤ drain.untilConnections). */
  drainDone?: DrainPredicate;
  /** Counts taken before the run: the finished event reports calls made since (default: at start). */
  apiCallsSince?: ApiCallCounts;
  /** How long admissions may be held by capacity with nothing in flight before pausing (default 30 m). */
  capacityWaitMs?: number;
  /**
   * Ticks in a row with an unexpected error (exception, journal write, AWS call outside the
   * per-instance retries) before the run stops waiting for in-flight instances and pauses (default 5).
   */
  maxConsecutiveErrors?: number;
  /**
   * Requests from other terminals (`rollwave abort [--rollback]`, `rollwave approve`): read once per
   * tick and handed to decide; each is journaled with what was done, then acknowledged.
   */
  control?: ControlChannel;
  /**
   * With no `approve` prompt and no autoApprove: how long the approval gate waits for an approval
   * request on `control` before the run pauses (default 0: pause at once).
   */
  approvalWaitMs?: number;
  /** Continue the rollout recorded in `journal` (a paused or interrupted run). */
  resume?: boolean;
  /**
   * What the journal header binds the rollout to, besides the plan's variables, the wave plan and the
   * fleet's account/region: the plan file and its hash, and rollwave's version (the CLI passes them).
   */
  source?: { planFile?: string; planHash?: string; version?: string; startedBy?: string };
  /** Resume even though the plan file or variables differ from the journal's header (journaled). */
  force?: boolean;
  /** The rollout id for a new rollout (default: a random UUID). A resume keeps the journal's. */
  rolloutId?: string;
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

export async function runRollout(o: RolloutOptions): Promise<RolloutResult> {
  const { plan, fleet, wavePlan, clock, journal } = o;
  const now = () => clock.now();
  const startedAt = now();
  const base = o.apiCallsSince ?? o.aws.calls();
  const tickMs = o.tickMs ?? 5_000;
  const pollMs = o.pollMs ?? 15_000;
  const maxConsecutiveErrors = o.maxConsecutiveErrors ?? 5;
  // An error waiting to be handed to the next decision (see GlobalState.error).
  let pendingError: string | undefined;
  // A sink that throws (a renderer bug, a closed pipe) is an error once; after that it is ignored.
  let sinkBroken = false;
  // Control requests could not be read last time (warned once per streak).
  let controlFailing = false;
  let rolloutId = o.rolloutId ?? randomUUID();
  const emit: EventSink = (e) => {
    if (sinkBroken) return;
    try {
      o.emit({ ...e, rolloutId });
    } catch (err) {
      sinkBroken = true;
      pendingError ??= `reporting events failed: ${errText(err)}`;
    }
  };
  const warn = (code: WarningCode, message: string) => emit({ type: "warning", at: now(), code, message });

  let state: EngineState;
  let stillOurs: Record<string, string[]> = {};
  // Control requests already journaled (a crash before the acknowledgement): acknowledged, not re-applied.
  const handled = new Set<string>();
  // Nothing before the first journal record mutates anything: a refusal here changes nothing.
  if (o.resume) {
    const records = await journal.read();
    for (const r of records) if (r.type === "control") handled.add(r.request.id);
    const replayed = replayJournal(records);
    stillOurs = replayed.suspended;
    state = reopen(replayed.state, replayed.end?.status, { now: now(), plan });
    const current = rolloutHeader(o, replayed.header?.rolloutId ?? rolloutId);
    rolloutId = current.rolloutId;
    const changes = replayed.header ? headerChanges(replayed.header, current) : [];
    if (changes.length && !o.force) throw new JournalMismatchError(rolloutId, changes);
    // A journal from before headers gets one now; a forced change is journaled with what changed.
    if (!replayed.header || changes.length)
      await journal.append({ type: "header", at: now(), ...current, ...(changes.length ? { changes } : {}) });
    await journal.append({ type: "resume", at: now(), global: slimGlobal(state.global) });
    if (changes.length)
      warn(
        "W_PLAN_CHANGED",
        `resuming rollout ${rolloutId} with --force despite: ${changes.map((c) => `${c.field} was ${c.journal}, now ${c.now}`).join("; ")} (journaled)`,
      );
  } else {
    state = initialState(plan.name, plan.rollout.strategy, fleet, wavePlan, startedAt);
    await journal.append({ type: "header", at: startedAt, ...rolloutHeader(o, rolloutId) });
    await journal.append({ type: "begin", at: startedAt, name: plan.name, state });
  }
  if (journal.repaired) warn("W_JOURNAL_REPAIRED", journal.repaired);
  /** The last state known to be in the journal: every record holds what changed since. */
  let journaled = state;
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

  // Filled group by group as each suspension is journaled: whatever happens next, the `finally`
  // resumes exactly what was suspended (a failure on the 2nd group still resumes the 1st).
  const ours: Record<string, string[]> = {};
  // When the loop cannot reach a decision at all (decide itself keeps throwing), the run still ends.
  let fallback: { status: RolloutStatus; reason: string } | undefined;
  let asgProblems: string[] = [];
  try {
    await loop();
  } catch (e) {
    fallback = { status: "paused", reason: `internal error: ${errText(e)}; resume to continue` };
  } finally {
    asgProblems = await resumeProcesses({ writer: o.aws.writer, ours, journal, emit, now });
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
    const commentTag = `r:${rolloutId.slice(0, 8)}`;
    const src = plan.capacity.connections?.source;
    const obsDeps: ObserveDeps = {
      reader: o.aws.reader,
      plan,
      window: wavePlan.window,
      pollMs,
      fleetIds,
      drainByConnections: !!drainDone,
      warn,
    };
    if (o.readSlackMs !== undefined) obsDeps.readSlackMs = o.readSlackMs;
    if (o.batchHoldMs !== undefined) obsDeps.batchHoldMs = o.batchHoldMs;
    if (src?.kind === "probe")
      obsDeps.probe = new ProbeSource({
        reader: o.aws.reader,
        writer: o.aws.writer,
        command: src.command,
        tag: commentTag,
        planName: plan.name,
        warn,
      });
    const until = plan.drain.untilConnections;
    if (drainDone && !o.drainDone && until !== null)
      obsDeps.drainGate = { untilConnections: until, drainDelayMs, graceMs: drainGraceMs(fleet) };
    const actDeps = {
      commentTag,
      writer: o.aws.writer,
      plan,
      now,
      pollMs,
      drainDelayMs,
      drainByConnections: !!drainDone,
      healthChecks: healthChecks(fleet),
      ...(o.batchHoldMs !== undefined ? { batchHoldMs: o.batchHoldMs } : {}),
    };
    // Before any mutation: the account guard (retried each tick until it answers), then Auto Scaling.
    let prelude: "guard" | "asg" | "ready" = plan.guard.account ? "guard" : "asg";
    let decideFailures = 0;
    for (;;) {
      const t = now();
      let obs = emptyObservation(t);
      let error = pendingError;
      pendingError = undefined;
      const interrupt = o.signal.aborted;
      let guardRefused: string | undefined;
      if (prelude === "guard") {
        try {
          const id = await o.aws.reader.getCallerIdentity();
          if (id.account !== plan.guard.account)
            guardRefused = `account guard: credentials are for account ${id.account} (${id.arn}), the plan is for ${plan.guard.account}; nothing was changed`;
          else prelude = "asg";
        } catch (e) {
          error ??= `account guard: GetCallerIdentity failed: ${errText(e)}`;
        }
      }
      if (prelude === "asg" && error === undefined && !interrupt && !stopsNewWork(state.global)) {
        try {
          await suspendProcesses({
            reader: o.aws.reader,
            writer: o.aws.writer,
            groups: fleetGroups(fleet, new Set(fleetIds)),
            processes: plan.fleet.autoScaling.suspendProcesses,
            stillOurs,
            ours,
            journal,
            emit,
            now,
          });
          prelude = "ready";
        } catch (e) {
          error ??= `Auto Scaling: ${errText(e)}`;
        }
      }
      // Observe (and later act) only once the guard passed; a failed Auto Scaling suspension stops new
      // work but still lets instances already in flight (a resumed run's) come back.
      if (prelude !== "guard") {
        try {
          obs = await observe(state, t, obsDeps, cache);
          if (Object.values(state.instances).some(needsLookup))
            obs.sent = await findSentCommands(o.aws.reader, state, commentTag, warn);
        } catch (e) {
          error ??= `observe: ${errText(e)}`;
        }
      }
      const request = await readControl();
      const ctx: DecideContext = {
        now: t,
        plan,
        window: wavePlan.window,
        maxFailed: wavePlan.maxFailed,
        drainDelayMs,
        pollMs,
        admission,
        capacityWaitMs: o.capacityWaitMs ?? 30 * 60_000,
        maxConsecutiveErrors,
      };
      if (drainDone) ctx.drainDone = drainDone;
      ctx.healthChecks = actDeps.healthChecks;
      if (cache.values) ctx.connections = cache.values;
      if (interrupt) ctx.interrupt = true;
      if (error !== undefined) ctx.error = error;
      if (guardRefused !== undefined) ctx.guardRefused = guardRefused;
      if (o.autoApprove) ctx.approval = "auto";
      else if (!o.approve && o.approvalWaitMs) ctx.approvalWaitMs = o.approvalWaitMs;
      ctx.rolloutId = rolloutId;
      if (request) ctx.control = request;
      if (cache.at !== undefined) ctx.connectionsAt = cache.at;
      if (cache.error !== undefined) ctx.connectionsError = cache.error;
      let d: Decision;
      try {
        d = decide(state, obs, ctx);
        decideFailures = 0;
      } catch (e) {
        // decide is pure: if it throws, it will throw again on the same state. Keep the error for
        // the next attempt, and stop after as many tries as any other error gets.
        pendingError = `decide: ${errText(e)}`;
        if (++decideFailures >= maxConsecutiveErrors) {
          fallback = {
            status: "paused",
            reason: `gave up: ${pendingError}; ${inFlightText(state)}resume once fixed`,
          };
          return;
        }
        await pause();
        continue;
      }
      state = d.state;
      // Journal and report this tick's decision before asking anyone anything: the person at the
      // prompt (and the NDJSON reader) sees "canary baked" before the approval question.
      const durable = await journalState("decision");
      if (durable) await recordControl(d.events, request);
      for (const e of d.events) emit(e);
      const g = state.global;
      if (
        durable &&
        (o.approve !== undefined || !o.approvalWaitMs || o.autoApprove) &&
        g.canary.approval === "waiting" &&
        !g.outcome &&
        !stopsNewWork(g) &&
        pendingError === undefined &&
        !Object.values(state.instances).some(isInFlight)
      ) {
        await approvalGate(ctx);
      }
      if (state.global.outcome) return;
      // Act only on a state the journal holds: an unrecorded decision is re-recorded next tick first.
      if (durable && prelude !== "guard") {
        try {
          const a = await act(state, actDeps);
          state = a.state;
          for (const e of a.events) emit(e);
          await journalState("acted");
        } catch (e) {
          pendingError ??= `act: ${errText(e)}`;
        }
      }
      // Sleep until the next read or decision is due (schedule.ts), at most a tick; after an error,
      // a whole tick.
      await pause(
        pendingError === undefined
          ? sleepUntilDue(nextDueAt(state, now(), obsDeps, cache.values) - now(), tickMs)
          : tickMs,
      );
    }
  }

  /** The pending control request, if any; a failed read is a warning (the next tick reads again). */
  async function readControl(): Promise<ControlRequest | undefined> {
    if (!o.control) return undefined;
    try {
      const r = await o.control.read();
      controlFailing = false;
      if (r && handled.has(r.id)) {
        await o.control.ack(r);
        return undefined;
      }
      return r;
    } catch (e) {
      if (!controlFailing) warn("W_CONTROL_FAILED", `could not read control requests: ${errText(e)}`);
      controlFailing = true;
      return undefined;
    }
  }

  /** Journal a handled request with what decide did, then acknowledge it (remove it from the store). */
  async function recordControl(events: RolloutEvent[], request: ControlRequest | undefined) {
    if (!request || !o.control) return;
    const e = events.find((x) => x.type === "control" && x.requestId === request.id);
    if (e?.type !== "control") return;
    try {
      await journal.append({ type: "control", at: now(), request, outcome: e.outcome, message: e.message });
      handled.add(request.id);
    } catch (err) {
      pendingError ??= `journal write failed: ${errText(err)}`;
      return;
    }
    try {
      await o.control.ack(request);
    } catch (err) {
      warn("W_CONTROL_FAILED", `could not acknowledge control request ${request.id}: ${errText(err)}`);
    }
  }

  /** Sleep one tick; once nothing new may start, the remaining waits ignore the (aborted) signal. */
  async function pause(ms = tickMs) {
    if (stopsNewWork(state.global) || o.signal.aborted) await clock.sleep(ms);
    else await sleepOrAbort(clock, ms, o.signal);
  }

  /** Append what changed since the last durable record. A write that fails becomes an error input. */
  async function journalState(type: "decision" | "acted"): Promise<boolean> {
    const changed = Object.values(state.instances).filter((i) => journaled.instances[i.id] !== i);
    if (changed.length === 0 && JSON.stringify(journaled.global) === JSON.stringify(state.global))
      return true;
    const snapshot = state;
    try {
      await journal.append({ type, at: now(), instances: changed, global: slimGlobal(snapshot.global) });
      journaled = snapshot;
      return true;
    } catch (e) {
      pendingError ??= `journal write failed: ${errText(e)}`;
      return false;
    }
  }

  /** Ask (or not) at the approval gate; the answer is decided at once, on an empty observation. */
  async function approvalGate(ctx: DecideContext) {
    const g = state.global;
    const message = `canary done (${wavePlan.waves[0]?.instances.length ?? 0} instance(s)): continue with the rest of the fleet?`;
    let answer: "approve" | "stop" | "pause";
    if (o.approve) {
      try {
        const asked = o.approve({ message, wave: g.canary.wave ?? 0 });
        const aborted = new Promise<"pause">((resolve) => {
          if (o.signal.aborted) resolve("pause");
          o.signal.addEventListener("abort", () => resolve("pause"), { once: true });
        });
        answer = await Promise.race([asked, aborted]);
      } catch (e) {
        pendingError ??= `approval prompt: ${errText(e)}`;
        return;
      }
    } else answer = "pause";
    const at = now();
    const { error: _e, control: _c, ...rest } = ctx;
    const d = decide(state, emptyObservation(at), {
      ...rest,
      now: at,
      approval: answer,
      interrupt: o.signal.aborted,
    });
    state = d.state;
    await journalState("decision");
    for (const e of d.events) emit(e);
  }

  // The end: journal, counts, API calls, the finished event.
  const ended = state.global.outcome ??
    fallback ?? {
      status: "paused" as const,
      reason: "the rollout stopped without an outcome; resume to continue",
    };
  const outcome: { status: RolloutStatus; reason?: string } = asgProblems.length
    ? { status: ended.status, reason: [ended.reason, ...asgProblems].filter(Boolean).join("; ") }
    : ended;
  const outOfService = Object.values(state.instances)
    .filter((i) => i.out || isInFlight(i))
    .map((i) =>
      i.reason === undefined ? { id: i.id, phase: i.phase } : { id: i.id, phase: i.phase, reason: i.reason },
    );
  const endRecord: JournalRecord = { type: "end", at: now(), status: outcome.status };
  if (outcome.reason !== undefined) endRecord.reason = outcome.reason;
  if (outOfService.length) endRecord.outOfService = outOfService;
  try {
    await journal.append(endRecord);
  } catch (e) {
    // The journal's last decision still describes the state: `resume` re-observes from it.
    warn("W_JOURNAL_END_FAILED", `could not write the end of the rollout to the journal: ${errText(e)}`);
  }
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
      warn("W_EXTRAS_FAILED", `could not add run extras: ${errText(e)}`);
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

function rolloutHeader(o: RolloutOptions, rolloutId: string): RolloutHeader {
  const h: RolloutHeader = {
    rolloutId,
    name: o.plan.name,
    vars: { ...o.plan.values },
    waves: o.wavePlan.waves.map((w) => ({ index: w.index, kind: w.kind, ids: w.instances.map((i) => i.id) })),
    account: o.fleet.account,
    region: o.fleet.region ?? o.plan.region,
  };
  if (o.source?.planFile !== undefined) h.planFile = o.source.planFile;
  if (o.source?.planHash !== undefined) h.planHash = o.source.planHash;
  if (o.source?.version !== undefined) h.version = o.source.version;
  if (o.source?.startedBy !== undefined) h.startedBy = o.source.startedBy;
  return h;
}

/**
 * What differs between the journal's header and this run, for the fields that decide what the
 * rollout does: the plan file's content and the variables, and where it runs. The wave plan is not
 * compared: a resume re-plans over a fleet that may have lost instances since.
 */
function headerChanges(was: RolloutHeader, now: RolloutHeader): HeaderChange[] {
  const out: HeaderChange[] = [];
  if (was.planHash && now.planHash && was.planHash !== now.planHash)
    out.push({ field: "plan file hash", journal: was.planHash.slice(0, 19), now: now.planHash.slice(0, 19) });
  for (const k of [...new Set([...Object.keys(was.vars), ...Object.keys(now.vars)])].sort()) {
    const a = was.vars[k];
    const b = now.vars[k];
    if (a !== b)
      out.push({
        field: `variable ${k}`,
        journal: a === undefined ? "unset" : JSON.stringify(a),
        now: b === undefined ? "unset" : JSON.stringify(b),
      });
  }
  for (const f of ["account", "region"] as const) {
    const a = was[f];
    const b = now[f];
    if (a && b && a !== b) out.push({ field: f, journal: a, now: b });
  }
  return out;
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function inFlightText(s: EngineState): string {
  const ids = Object.values(s.instances)
    .filter(isInFlight)
    .map((i) => `${i.id} (${i.phase})`);
  return ids.length ? `${ids.length} instance(s) still in flight: ${ids.join(", ")}; ` : "";
}
