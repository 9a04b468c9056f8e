/**
 * The engine's state: plain data, folded from the journal on resume, transformed by the pure
 * `decide` step and (for the outcome of AWS calls only) by `act`. Nothing here touches AWS.
 */
import type { Fleet } from "../fleet/types.js";
import type { FailureAction } from "../plan/types.js";
import type { WavePlan } from "../waves/types.js";
import { IN_FLIGHT_PHASES, type InstanceCounts, type InstancePhase, type RolloutStatus } from "./events.js";

export type StepName = "preDrain" | "close" | "deploy" | "validate" | "rollback";

/** The AWS call an instance is waiting for `act` to make (retried on the next tick when it fails). */
type Need = "deregister" | "register" | "command" | null;

interface TargetSlot {
  arn: string;
  port?: number;
}

/** One instance's progress. Copy-on-write: `decide` replaces the object when anything changes. */
export interface InstanceRun {
  id: string;
  az: string;
  wave: number;
  /** Position in the planned order (canary first): admission goes by it. */
  seq: number;
  /** Every target group (and port) the instance was registered in when the rollout started. */
  targets: TargetSlot[];
  phase: InstancePhase;
  phaseSince: number;
  /** The current wait ends here (drain timeout, step timeout, health timeout). */
  deadline?: number;
  need: Need;
  /**
   * Since when `act` holds this instance's `need` back so that others ready soon share the call
   * (schedule.ts `batchHolds`); cleared when the call is made.
   */
  needSince?: number;
  /** The command step this instance runs (or is about to send). */
  step?: StepName;
  commandId?: string;
  /** Next time this instance wants a fresh target-health observation. */
  checkAt?: number;
  /** Set when healthy in every group during `warming`. */
  healthySince?: number;
  /** Healthy for stableFor: waiting for the alarm gate (observed on the next tick). */
  atAlarmGate?: boolean;
  /** Counts against the window: taken out of service by us and not (yet) back. */
  out: boolean;
  /** When deploy was sent: rollback goes newest first. */
  deployedAt?: number;
  /** On the rollback path (drain → rollback command → register → rolledBack). */
  rollback: boolean;
  /** Failed during a rollback, so it is not rolled back twice. */
  rollbackTried?: boolean;
  failedPhase?: InstancePhase;
  reason?: string;
  /** Something looked wrong (InvalidState, Undeliverable, repeated call errors): check EC2 state. */
  suspect?: boolean;
  /** EC2 confirmed it running after it looked suspect (so it is not checked again). */
  ec2Checked?: boolean;
  actErrors: number;
  lastError?: string;
  /**
   * A SendCommand for this step may have reached SSM without its answer reaching us (a crash before
   * the `acted` record, an ambiguous error): find it by its Comment before sending again.
   */
  reattach?: boolean;
  /** A command the engine gave up on (no result by its deadline): `act` cancels it (best effort). */
  cancelCommandId?: string;
  /**
   * Capacity lost while the rollout runs: a pending or finished instance seen not healthy (terminated,
   * unhealthy, deregistered by someone). It takes a slot in the window until seen healthy again, so
   * the capacity floor holds.
   */
  lost?: string;
  /**
   * Admitted, its pre-drain done, but capacity was lost since (a server flapped or was terminated):
   * it stays registered in `deregistering` until the servers actually out of service leave room
   * (`room`), judged on a read of its groups at most a poll old (`read`: waiting for that read).
   */
  doorHeld?: "read" | "room";
  /** Connections it carried when it left service (its limit when it had no datapoint), summed over its exits. */
  displaced?: number;
  /** Connections still on it when its drain ended (delay expired, drain timeout, close): cut, not shed. */
  cut?: number;
}

export interface WaveRun {
  index: number;
  kind: "canary" | "batch";
  ids: string[];
  started: boolean;
  finished: boolean;
}

export interface CommandRun {
  id: string;
  step: StepName;
  ids: string[];
  sentAt: number;
  nextPollAt: number;
  /** Instances whose success was already folded into the step's duration estimate. */
  done?: string[];
  /** The longest successful duration seen so far; folded into the step's `maxMs` once all are done. */
  maxSeenMs?: number;
}

/**
 * `running` → work goes on; `stopping` → the failure policy (pause/abort) stops admissions and lets
 * in-flight instances finish; `rollingBack` → forward work finishes, then updated instances roll back.
 */
type Mode = "running" | "stopping" | "rollingBack";

export interface GlobalState {
  name: string;
  strategy: "window" | "waves";
  startedAt: number;
  mode: Mode;
  waves: WaveRun[];
  canary: {
    wave: number | null;
    bakeUntil?: number;
    baked: boolean;
    /** The approval gate: `waiting` parks the rollout until someone approves (or it pauses). */
    approval: "none" | "waiting" | "approved";
    /**
     * With no one to ask at a terminal and `approvalWaitMs`: the gate waits until then for
     * `rollwave approve` (or `abort`) from another terminal, then the rollout pauses.
     */
    approvalUntil?: number;
    nextBakeCheckAt?: number;
    /**
     * Last time the bake had evidence: every canary instance observed healthy in all its groups and
     * the alarms read (none firing). The bake passes only with evidence from its end or later.
     */
    evidenceAt?: number;
    /** Skipped canary instances already replaced (or found irreplaceable), so each is handled once. */
    replaced?: string[];
  };
  policy: { action: FailureAction | null; acknowledgedFailures: number; reason?: string };
  /** Connections displaced by instances leaving service, for `maxDisplacedPerMinute`. */
  displaced: { at: number; n: number }[];
  /** Fleet-wide EWMA of each command step's duration (schedule.ts), for when to poll. */
  stepTimes?: Partial<Record<StepName, { ms: number; n: number; maxMs?: number }>>;
  /** The displacement token bucket (pacing.ts), absent until the first paced admission. */
  pacing?: { tokens: number; at: number };
  commands: Record<string, CommandRun>;
  /** Fleet connectivity gate: devices connected at the first reading, and since when below the bar. */
  devices?: { start: number; lowSince?: number };
  /** When each target group's health was last read (for the last check before leaving service). */
  healthReadAt?: Record<string, number>;
  /** Since when admissions are held by a capacity check (for its deadline). */
  heldSince?: number;
  heldReason?: string;
  /** Set once: the rollout is over (the runner stops ticking). */
  outcome?: { status: RolloutStatus; reason?: string };
  /** Set when the rollout must stop and wait for `rollwave resume` (approval in CI, failure pause). */
  pausedFor?: "approval" | "failures" | "capacity" | "interrupted" | "error";
  lastProgressKey?: string;
  /** The AbortSignal fired: start nothing new, let in-flight instances finish, then pause. */
  interrupted?: boolean;
  /**
   * An unexpected error happened in the loop (a thrown exception, a journal write that failed, an AWS
   * call outside the per-instance retries): like an interrupt, nothing new starts, instances in flight
   * come back within their deadlines, then the run pauses with this reason. Sticky until `resume`.
   */
  error?: { reason: string; at: number };
  /** Ticks in a row that reported an error: past `maxConsecutiveErrors` the run gives up (pauses). */
  consecutiveErrors?: number;
}

export interface EngineState {
  global: GlobalState;
  instances: Record<string, InstanceRun>;
}

const IN_FLIGHT = IN_FLIGHT_PHASES;

export function isInFlight(i: InstanceRun): boolean {
  // A command still to cancel keeps the run going one more act.
  return (
    IN_FLIGHT.has(i.phase) || (i.phase === "failed" && i.need !== null) || i.cancelCommandId !== undefined
  );
}

/** Counts against maxUnavailable: in flight, or failed/lost while out of service. */
export function occupiesSlot(i: InstanceRun): boolean {
  return i.out || IN_FLIGHT.has(i.phase) || i.lost !== undefined;
}

/** Nothing new may start: interrupted, or an unexpected error was reported. */
export function stopsNewWork(g: GlobalState): boolean {
  return g.interrupted === true || g.error !== undefined;
}

export function isSettled(i: InstanceRun): boolean {
  return !isInFlight(i) && i.phase !== "pending";
}

/** Build the starting state from the plan's waves. Order: wave by wave, as planned. */
export function initialState(
  name: string,
  strategy: "window" | "waves",
  fleet: Fleet,
  plan: WavePlan,
  now: number,
): EngineState {
  const byId = new Map(fleet.instances.map((i) => [i.id, i]));
  const instances: Record<string, InstanceRun> = {};
  let seq = 0;
  for (const w of plan.waves) {
    for (const p of w.instances) {
      const inst = byId.get(p.id);
      instances[p.id] = {
        id: p.id,
        az: p.az,
        wave: w.index,
        seq: seq++,
        targets: (inst?.targets ?? []).map((t) =>
          t.port === undefined ? { arn: t.targetGroupArn } : { arn: t.targetGroupArn, port: t.port },
        ),
        phase: "pending",
        phaseSince: now,
        need: null,
        out: false,
        rollback: false,
        actErrors: 0,
      };
    }
  }
  const canary = plan.waves.find((w) => w.kind === "canary");
  return {
    global: {
      name,
      strategy,
      startedAt: now,
      mode: "running",
      waves: plan.waves.map((w) => ({
        index: w.index,
        kind: w.kind,
        ids: w.instances.map((i) => i.id),
        started: false,
        finished: false,
      })),
      canary: { wave: canary ? canary.index : null, baked: !canary, approval: "none" },
      policy: { action: null, acknowledgedFailures: 0 },
      displaced: [],
      commands: {},
    },
    instances,
  };
}

export function countInstances(s: EngineState, skippedByPlanner = 0): InstanceCounts {
  const c: InstanceCounts = {
    total: skippedByPlanner,
    succeeded: 0,
    failed: 0,
    skipped: skippedByPlanner,
    rolledBack: 0,
  };
  for (const i of Object.values(s.instances)) {
    c.total++;
    if (i.phase === "done") c.succeeded++;
    else if (i.phase === "failed") c.failed++;
    else if (i.phase === "skipped") c.skipped++;
    else if (i.phase === "rolledBack") c.rolledBack++;
  }
  return c;
}

/** Failures that count toward `maxFailed`: forward failures, not failures of the rollback itself. */
export function forwardFailures(s: EngineState): number {
  let n = 0;
  for (const i of Object.values(s.instances)) if (i.phase === "failed" && !i.rollbackTried) n++;
  return n;
}
