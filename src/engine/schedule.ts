/**
 * Read scheduling (pure): when the engine next looks at a command or a target group, by what it
 * expects rather than on a fixed grid.
 *
 *  - **Commands.** Each step's duration (SendCommand → the agent's finish time) is averaged over the
 *    fleet (an EWMA, kept in the state). A command is first polled just after its expected
 *    completion, then with a backoff that grows with the time already waited (a long command is
 *    polled sparsely). One ListCommandInvocations covers every instance of the command (≤ 50).
 *  - **Target health.** After registration a target cannot be healthy before the group's health
 *    checks can have passed `healthyThreshold` times: the first read is at interval × threshold,
 *    then one interval at a time (slower as the wait grows).
 *  - **stableFor** ends exactly on time (`instance-step.ts`).
 *  - **The loop** sleeps until the earliest of these due times (`nextDueAt`), bounded by `tickMs`.
 *
 * One read of a group or a command judges every instance in it, so instances that move together
 * are still read together.
 */
import { LIMITS } from "../aws/limits.js";
import type { CommandInvocationSummary } from "../aws/types.js";
import type { Fleet } from "../fleet/types.js";
import { NLB_NEW_CONNECTION_GRACE_MS } from "./capacity.js";
import type { CommandRun, GlobalState, InstanceRun, StepName } from "./state.js";

/** Weight of a new observation in the EWMA. */
const ALPHA = 0.2;
/** Before any observation of a step: look after this long. */
const FIRST_GUESS_MS = 2_000;
/** Never poll a command more often than this. */
const MIN_POLL_MS = 1_000;
/** Never let a command wait longer than this between polls. */
const MAX_POLL_MS = 30_000;
/** A little after the expected finish: the agent reports the result a moment after it ends. */
const SLACK_MS = 500;

/** Fold observed step durations into the fleet-wide EWMA (mutates `g`, a clone owned by decide). */
export function recordStepDurations(g: GlobalState, step: StepName, durationsMs: number[]): void {
  if (durationsMs.length === 0) return;
  const times = { ...(g.stepTimes ?? {}) };
  let t = times[step];
  for (const d of durationsMs) {
    if (!Number.isFinite(d) || d < 0) continue;
    t = t ? { ...t, ms: t.ms + ALPHA * (d - t.ms), n: t.n + 1 } : { ms: d, n: 1 };
  }
  if (t) times[step] = t;
  g.stepTimes = times;
}

/** Expected duration of a step so far (undefined before the first observation). */
function expectedStepMs(g: GlobalState, step: StepName): number | undefined {
  return g.stepTimes?.[step]?.ms;
}

/** While batching, the first poll of a command may wait this long for its last finisher. */
const MAX_COHORT_POLL_MS = 120_000;

/**
 * When a command sent at `sentAt` is first polled: just after the step's expected duration, so the
 * first finishers move on at once; while batching (`batching`), just after its expected slowest
 * instance instead, so that one read usually sees the whole cohort done and it moves on together.
 */
export function firstCommandPoll(g: GlobalState, step: StepName, sentAt: number, batching = false): number {
  const e = expectedStepMs(g, step);
  const slowest = g.stepTimes?.[step]?.maxMs;
  if (batching && slowest !== undefined)
    return sentAt + Math.min(MAX_COHORT_POLL_MS, Math.max(MIN_POLL_MS, slowest + SLACK_MS));
  const wait = e === undefined ? FIRST_GUESS_MS : e + SLACK_MS;
  return sentAt + Math.min(MAX_POLL_MS, Math.max(MIN_POLL_MS, wait));
}

/**
 * The next poll of a command still running at `now`: a quarter of the time already waited (at least
 * 1 s, at most 30 s), but not later than just after the expected finish if that is still ahead.
 * Before the step's duration is known, the wait doubles instead.
 */
export function nextCommandPoll(g: GlobalState, step: StepName, sentAt: number, now: number): number {
  const elapsed = now - sentAt;
  const e = expectedStepMs(g, step);
  // Nothing known about the step yet: double the wait (2, 4, 8 s …) rather than poll every second.
  const share = e === undefined ? elapsed : elapsed / 4;
  let wait = Math.min(MAX_POLL_MS, Math.max(MIN_POLL_MS, Math.round(share)));
  if (e !== undefined && sentAt + e + SLACK_MS > now) wait = Math.min(wait, sentAt + e + SLACK_MS - now);
  return now + Math.max(MIN_POLL_MS, wait);
}

/** Durations of the invocations that succeeded in this poll, from the agent's finish time when given. */
function observedDurations(
  rows: Record<string, CommandInvocationSummary>,
  ids: Iterable<string>,
  sentAt: number,
  now: number,
): number[] {
  const out: number[] = [];
  for (const id of ids) {
    const r = rows[id];
    if (r?.status !== "Success") continue;
    out.push((r.finishedAt ?? now) - sentAt);
  }
  return out;
}

type HealthChecks = Record<string, { intervalMs: number; healthyThreshold: number }>;

/** The largest `f(check)` over the groups in `arns`, or `fallbackMs` when a group's check is unknown. */
function slowest(
  arns: string[],
  checks: HealthChecks,
  fallbackMs: number,
  f: (c: { intervalMs: number; healthyThreshold: number }) => number,
): number {
  let ms = 0;
  for (const arn of arns) {
    const c = checks[arn];
    if (!c) return fallbackMs;
    ms = Math.max(ms, f(c));
  }
  return ms || fallbackMs;
}

/**
 * How long after registration a target can first be healthy in all of `arns`: interval × healthy
 * threshold of the slowest group (+ a second for the check's own latency), or `fallbackMs` when a
 * group's health check is unknown.
 */
export function healthReadyMs(arns: string[], checks: HealthChecks, fallbackMs: number): number {
  return slowest(arns, checks, fallbackMs, (c) => c.intervalMs * c.healthyThreshold + 1_000);
}

/** The health-check interval of the slowest group, or `fallbackMs` when unknown. */
export function healthIntervalMs(arns: string[], checks: HealthChecks, fallbackMs: number): number {
  return slowest(arns, checks, fallbackMs, (c) => c.intervalMs);
}

/**
 * After a poll of command `c`: fold the durations it revealed into the step's EWMA (each instance
 * once: the first poll that sees it succeed) and schedule the next poll. Mutates `g` (decide's clone).
 */
export function scheduleCommandPoll(
  g: GlobalState,
  c: CommandRun,
  rows: Record<string, CommandInvocationSummary> | undefined,
  now: number,
): CommandRun {
  const seen = new Set(c.done ?? []);
  const fresh = c.ids.filter((id) => !seen.has(id) && rows?.[id]?.status === "Success");
  const durations = observedDurations(rows ?? {}, fresh, c.sentAt, now);
  recordStepDurations(g, c.step, durations);
  const next: CommandRun = { ...c, nextPollAt: nextCommandPoll(g, c.step, c.sentAt, now) };
  if (fresh.length) next.done = [...seen, ...fresh];
  if (durations.length) next.maxSeenMs = Math.max(c.maxSeenMs ?? 0, ...durations);
  // Every instance succeeded: the command's slowest one teaches how long a cohort takes (once).
  if (fresh.length && (next.done?.length ?? 0) === c.ids.length && next.maxSeenMs !== undefined)
    recordSlowest(g, c.step, next.maxSeenMs);
  return next;
}

/** Fold a command's slowest duration into the step's `maxMs` EWMA (mutates `g`, decide's clone). */
export function recordSlowest(g: GlobalState, step: StepName, ms: number): void {
  if (!Number.isFinite(ms) || ms < 0) return;
  const t = g.stepTimes?.[step];
  if (!t) return;
  const maxMs = t.maxMs === undefined ? ms : t.maxMs + ALPHA * (ms - t.maxMs);
  g.stepTimes = { ...g.stepTimes, [step]: { ...t, maxMs } };
}

/** How long an instance ready for a batchable call may wait, while batching, for others to share it. */
const BATCH_HOLD_MS = 30_000;
/** How late a target-health read may be, while batching, so that reads falling due close together share one. */
export const READ_SLACK_MS = 20_000;

type HoldSubject = Pick<
  InstanceRun,
  "id" | "need" | "step" | "phase" | "phaseSince" | "rollback" | "reattach" | "needSince"
>;

/**
 * The step where paced departures merge: the first command after the drain (`close` when the plan
 * has `drain.closeCommand`, else `deploy`). Instances drained together then stay together (one
 * poll shows the cohort done, its next steps go in one call each), so only this step is held.
 */
export function mergeStep(hasClose: boolean): StepName {
  return hasClose ? "close" : "deploy";
}

/**
 * May this instance's call wait to be shared? Only the merge step's SendCommand on the forward
 * path: never preDrain or a deregistration (when an instance leaves is the displacement pacing's
 * to say, and a relay that sheds its cameras should leave the load balancer at once), never a
 * rollback, a failed instance, or a command being re-attached.
 */
export function batchKey(i: HoldSubject, step: StepName): boolean {
  return i.need === "command" && i.step === step && !i.reattach && !i.rollback && i.phase !== "failed";
}

/** Still draining (nothing asked of AWS) on the forward path: it will reach the merge step later. */
function drainingForward(i: HoldSubject, step: StepName): boolean {
  return i.phase === "draining" && !i.need && !i.rollback && i.step !== step && i.step !== "close";
}

/**
 * Batch holds (pure): while batching pays, instances ready for the merge step wait for partners —
 * instances still draining that left service at most `holdMs` after the group's first one (their
 * drains end about as much later) — until the first has waited `holdMs`, the partners have all
 * joined, or they fill a SendCommand (50). Then the group goes in one call. Nothing is held when
 * batching does not pay. `releaseAt` is the earliest end of a hold (for the runner's sleep).
 *
 * Example, hold 30 s: five instances drained at 0 s, five more left service 18 s after them: the
 * first five wait; when the second five are drained (~18 s), the ten go in one SendCommand, and
 * then in one poll, one SendCommand per later step and one RegisterTargets per group, instead of
 * two of everything.
 */
export function batchHolds(
  instances: Iterable<HoldSubject>,
  now: number,
  batching: boolean,
  step: StepName,
  holdMs = BATCH_HOLD_MS,
  fullAt = LIMITS.sendCommandInstanceIds,
): { held: Set<string>; releaseAt: number } {
  const held = new Set<string>();
  const releaseAt = Number.POSITIVE_INFINITY;
  if (!batching || holdMs <= 0) return { held, releaseAt };
  const members: HoldSubject[] = [];
  const draining: HoldSubject[] = [];
  for (const i of instances) {
    if (batchKey(i, step)) members.push(i);
    else if (drainingForward(i, step)) draining.push(i);
  }
  if (members.length === 0 || members.length >= fullAt) return { held, releaseAt };
  const since = Math.min(...members.map((i) => i.needSince ?? now));
  if (since + holdMs <= now) return { held, releaseAt };
  const left = Math.min(...members.map((i) => i.phaseSince));
  if (!draining.some((i) => i.phaseSince <= left + holdMs)) return { held, releaseAt };
  for (const i of members) held.add(i.id);
  return { held, releaseAt: since + holdMs };
}

/** The shortest sleep between ticks: something due "now" still lets the event loop breathe. */
const MIN_SLEEP_MS = 250;

/** How long the runner sleeps: until the next due time, within [MIN_SLEEP_MS, tickMs]. */
export function sleepUntilDue(untilDueMs: number, tickMs: number): number {
  if (!Number.isFinite(untilDueMs)) return tickMs;
  return Math.min(tickMs, Math.max(MIN_SLEEP_MS, Math.ceil(untilDueMs)));
}

/** Each discovered group's health check (interval in ms), by ARN. */
export function healthChecks(fleet: Fleet): Record<string, { intervalMs: number; healthyThreshold: number }> {
  const out: Record<string, { intervalMs: number; healthyThreshold: number }> = {};
  for (const tg of fleet.targetGroups) {
    if (tg.healthCheck)
      out[tg.arn] = {
        intervalMs: tg.healthCheck.intervalSeconds * 1000,
        healthyThreshold: tg.healthCheck.healthyThreshold,
      };
  }
  return out;
}

/** Per NLB group: the time after deregistration before which the connection drain cannot end. */
export function drainGraceMs(fleet: Fleet, nlbGraceMs = NLB_NEW_CONNECTION_GRACE_MS): Record<string, number> {
  const out: Record<string, number> = {};
  for (const tg of fleet.targetGroups)
    if (tg.type === "network") out[tg.arn] = Math.min(nlbGraceMs, tg.deregistrationDelaySeconds * 1000);
  return out;
}
