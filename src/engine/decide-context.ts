/**
 * What `decide` needs besides state and observations: the plan's rules, the clock reading and the
 * pluggable seams. Plain data and pure functions only.
 */
import type { AlarmStateSummary, CommandInvocationSummary, TargetHealthDescription } from "../aws/types.js";
import type { Plan, StepSpec } from "../plan/types.js";
import type { WavePlan } from "../waves/types.js";
import type { ControlRequest } from "./control.js";
import type { EngineState, InstanceRun, StepName } from "./state.js";

/**
 * One tick's observations. A target group appears in `health` only when it was read this tick; an
 * instance is "fresh" when every group it belongs to was read. `commands[id]` holds the invocations
 * of each command polled this tick (an instance missing from it means "not yet visible").
 */
export interface Observation {
  at: number;
  health: Record<string, Record<string, TargetHealthDescription>>;
  commands: Record<string, Record<string, CommandInvocationSummary>>;
  /** Present when DescribeAlarms ran this tick. */
  alarms?: AlarmStateSummary[];
  /** Latest connections per instance, present when the metric was read this tick. */
  connections?: Record<string, number>;
  /**
   * For instances to re-attach: the command found by its Comment (`null`: looked, none was sent).
   * An instance missing from it was not looked up this tick.
   */
  sent?: Record<string, { commandId: string; sentAt: number } | null>;
  /** EC2 state name per suspect instance id (`absent` when EC2 no longer knows it). */
  ec2?: Record<string, string>;
}

/** An observation with nothing in it: what decide sees on a tick whose reads failed. */
export function emptyObservation(at: number): Observation {
  return { at, health: {}, commands: {} };
}

/** Context of an admission decision: the instance about to leave service and the world around it. */
export interface AdmissionContext {
  instance: InstanceRun;
  state: EngineState;
  now: number;
  plan: Plan;
  /** Latest connections per instance (may be stale by one poll), when a metric source exists. */
  connections?: Record<string, number>;
  /** When `connections` was read (clock ms): the capacity check refuses a reading older than maxAge. */
  connectionsAt?: number;
  /** Why the latest read of the connections failed, when it did (shown in the hold's reason). */
  connectionsError?: string;
  /** Instances that stay in service if this one leaves. */
  inServiceAfter: number;
}

/**
 * `retryAt`: a hold that clears by itself at that time (displacement pacing): the instance waits,
 * but no capacity gate is reported and the hold does not count toward `capacityWaitMs`.
 */
type AdmissionResult = { admit: true } | { admit: false; reason: string; retryAt?: number };

/**
 * A capacity guard consulted before an instance leaves service. Return `{ admit: false, reason }` to
 * hold it back this tick (the engine emits `gate.waiting` with the reason and retries next tick).
 */
export type AdmissionCheck = (ctx: AdmissionContext) => AdmissionResult;

/**
 * Connection-aware drain completion: true when the instance may be treated as drained although a
 * target group still shows it `draining` (it receives no new connections then). `connections` is
 * undefined when no metric was read.
 */
export type DrainPredicate = (ctx: {
  instance: InstanceRun;
  connections: number | undefined;
  now: number;
}) => boolean;

export interface DecideContext {
  now: number;
  plan: Plan;
  window: WavePlan["window"];
  maxFailed: number;
  /** Deregistration delay per target group ARN, ms: the earliest a drain can end by itself. */
  drainDelayMs: Record<string, number>;
  /** How often an in-flight instance's health / a command is re-read. */
  pollMs: number;
  admission: AdmissionCheck[];
  drainDone?: DrainPredicate;
  /** How long a capacity hold may last with nothing in flight before the run pauses. */
  capacityWaitMs: number;
  /** Health check per target group ARN, when discovered (schedule.ts: when health can have passed). */
  healthChecks?: Record<string, { intervalMs: number; healthyThreshold: number }>;
  /** Latest connections per instance (cached by the runner between metric reads). */
  connections?: Record<string, number>;
  // The runner's side of the world, as inputs: decide is the only writer of rollout state, so every
  // interrupt, answer, error and guard verdict becomes a journaled decision.
  /** The stop signal fired (Ctrl-C, SIGTERM…): start nothing new, finish what is in flight, pause. */
  interrupt?: boolean;
  /**
   * The answer at the approval gate: `auto` (autoApprove), `approve`, `stop` (→ aborted) or
   * `pause` (no one to ask, or interrupted while asking → paused for `resume`).
   */
  approval?: "auto" | "approve" | "stop" | "pause";
  /**
   * No answer is coming from a prompt: wait this long at the approval gate for a control request
   * (`rollwave approve` from elsewhere), then pause. Absent or 0: pause at once when unanswered.
   */
  approvalWaitMs?: number;
  /** A control request read this tick (`rollwave abort [--rollback]` / `approve` from elsewhere). */
  control?: ControlRequest;
  /** This rollout's id: a control request naming another is ignored. */
  rolloutId?: string;
  /** An unexpected error since the last decision (see `GlobalState.error`). */
  error?: string;
  /** After this many ticks in a row with an error the run stops waiting and pauses (default 5). */
  maxConsecutiveErrors?: number;
  /** The account guard refused the credentials: the run fails before any mutation. */
  guardRefused?: string;
  /** When `connections` was read (clock ms). */
  connectionsAt?: number;
  /** Why the latest connection read failed, if it did. */
  connectionsError?: string;
}

export function stepSpec(plan: Plan, step: StepName): StepSpec | null {
  return plan.steps[step];
}

/** The engine's own deadline for a command: SSM should report TimedOut well before it. */
export function commandDeadline(spec: StepSpec | null, from: number): number {
  const t = spec?.timeoutMs ?? 600_000;
  return from + 2 * t + 60_000;
}
