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
import type { CommandInvocationSummary } from "../aws/types.js";
import type { Fleet } from "../fleet/types.js";
import { NLB_NEW_CONNECTION_GRACE_MS } from "./capacity.js";
import type { CommandRun, GlobalState, StepName } from "./state.js";

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
    t = t ? { ms: t.ms + ALPHA * (d - t.ms), n: t.n + 1 } : { ms: d, n: 1 };
  }
  if (t) times[step] = t;
  g.stepTimes = times;
}

/** Expected duration of a step so far (undefined before the first observation). */
function expectedStepMs(g: GlobalState, step: StepName): number | undefined {
  return g.stepTimes?.[step]?.ms;
}

/** When a command sent at `sentAt` is first polled. */
export function firstCommandPoll(g: GlobalState, step: StepName, sentAt: number): number {
  const e = expectedStepMs(g, step);
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
  recordStepDurations(g, c.step, observedDurations(rows ?? {}, fresh, c.sentAt, now));
  const next: CommandRun = { ...c, nextPollAt: nextCommandPoll(g, c.step, c.sentAt, now) };
  if (fresh.length) next.done = [...seen, ...fresh];
  return next;
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
