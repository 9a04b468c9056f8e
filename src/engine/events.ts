/**
 * Typed, coded events: the only way the engine talks to the outside. Renderers in src/report
 * subscribe to these; nothing in the core prints. Every event carries `at` (epoch ms, clock time).
 */
import type { WarningCode } from "./warnings.js";

export type InstancePhase =
  | "pending"
  | "preDrain"
  | "deregistering"
  | "draining"
  | "deploying"
  | "validating"
  | "registering"
  | "warming"
  | "done"
  | "failed"
  | "skipped"
  | "rollingBack"
  | "rolledBack";

/** Phases in which an instance is being worked on (out of service, or on its way out or back). */
export const IN_FLIGHT_PHASES: ReadonlySet<InstancePhase> = new Set<InstancePhase>([
  "preDrain",
  "deregistering",
  "draining",
  "deploying",
  "validating",
  "registering",
  "warming",
  "rollingBack",
]);

export type RolloutStatus = "succeeded" | "failed" | "rolled-back" | "paused" | "aborted";

export type GateKind = "bake" | "approval" | "capacity" | "alarms" | "window" | "connectedDevices";

export interface InstanceCounts {
  total: number;
  succeeded: number;
  failed: number;
  skipped: number;
  rolledBack: number;
}

export interface SimSummary {
  invariantViolations: number;
  cameras: {
    total: number;
    minConnected: number;
    refused: number;
    p99DisconnectSeconds: number;
    reconnectsPerCamera: number;
    /** Cameras whose connection drain.closeCommand closed (they reconnect elsewhere at once). */
    cut: number;
  };
  maxLoadRatio: number;
  /** Steps that ran again where they had already succeeded or were running (the simulator's count). */
  duplicateExecutions?: number;
  /**
   * The intrinsic time the cycled instances needed, as the simulator drew it (per instance in
   * GET /_sim/state `intrinsic`; the bound is src/sim/bound.ts).
   */
  intrinsic?: {
    instances: number;
    commandSeconds: number;
    drainSeconds: number;
    healthSeconds: number;
    serviceSeconds: number;
    longestInstanceSeconds: number;
    displacedConnections: number;
    drainsEndedByDelay: number;
  };
}

export interface ConnectionTotals {
  displaced: number;
  cut: number;
  cutPerInstance: Record<string, number>;
}

/**
 * Every event a rollout emits carries its `rolloutId` (the journal header's id), so lines from two
 * runs in one log, or a resumed run's events, can be told apart and joined to their journal.
 */
export type RolloutEvent = RolloutEventBody & { rolloutId?: string };

type RolloutEventBody =
  | {
      type: "rollout.started";
      at: number;
      name: string;
      dryRun: boolean;
      strategy: "window" | "waves";
      total: number;
      waves: { index: number; kind: "canary" | "batch"; size: number }[];
      window: { maxUnavailable: number; perAz: Record<string, number> };
      maxFailed: number;
    }
  | { type: "wave.started"; at: number; index: number; kind: "canary" | "batch"; instanceIds: string[] }
  | { type: "wave.finished"; at: number; index: number; succeeded: number; failed: number }
  | {
      type: "instance.phase";
      at: number;
      id: string;
      az: string;
      wave: number;
      from: InstancePhase;
      to: InstancePhase;
      /** Human detail, e.g. "command 1a2b… on 37 instances" or "drained (0 connections)". */
      detail?: string;
    }
  | {
      type: "instance.failed";
      at: number;
      id: string;
      az: string;
      wave: number;
      phase: InstancePhase;
      reason: string;
    }
  | { type: "gate.waiting"; at: number; gate: GateKind; message: string; until?: number }
  | { type: "gate.passed"; at: number; gate: GateKind; message: string }
  | {
      type: "policy.triggered";
      at: number;
      action: "rollback" | "pause" | "abort";
      failed: number;
      maxFailed: number;
      /** Why, in words, e.g. "canary failed: 2 of 3 instances" or "7 failures, more than maxFailed 6". */
      reason?: string;
    }
  | { type: "asg.suspended"; at: number; group: string; processes: string[] }
  | { type: "asg.resumed"; at: number; group: string; processes: string[] }
  | {
      type: "progress";
      at: number;
      phases: Partial<Record<InstancePhase, number>>;
      inService: number;
      outOfService: number;
      /**
       * Devices connected across the fleet as the connection metric reports them: the sum of each
       * instance's statistic (Maximum by default) over the last minute, so devices that moved
       * during that minute count on both instances. An upper bound, which is what a capacity check wants.
       */
      connections?: number;
      /** How old that reading is (s), and its source: the guard refuses readings older than maxAge. */
      connectionsAgeSeconds?: number;
      connectionsSource?: string;
    }
  | { type: "warning"; at: number; code: WarningCode; message: string }
  | { type: "aws.throttled"; at: number; operation: string; count: number }
  | {
      /** A request from `rollwave abort [--rollback]` / `rollwave approve`, and what the rollout did with it. */
      type: "control";
      at: number;
      requestId: string;
      action: "approve" | "abort" | "rollback";
      /** `ana@laptop (CI job github:1234/1)` */
      requestedBy: string;
      outcome: "applied" | "ignored";
      message: string;
    }
  | {
      type: "rollout.finished";
      at: number;
      status: RolloutStatus;
      instances: InstanceCounts;
      apiCalls: { total: number; byAction: Record<string, number> };
      durationSeconds: number;
      reason?: string;
      sim?: SimSummary;
      /**
       * With a connection metric: connections displaced by instances leaving service (an instance
       * without a datapoint counts at its limit) and cut when drains ended with connections still
       * on the instance (deregistration delay over, drain.timeout, close), from the latest reading
       * (an upper bound with the Maximum statistic); `cutPerInstance` lists instances that cut any.
       */
      connections?: ConnectionTotals;
    };

export type EventSink = (event: RolloutEvent) => void;
