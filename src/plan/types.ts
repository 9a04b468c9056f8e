/**
 * The normalized plan: what the rest of rollwave consumes after loading + validation.
 * Durations are milliseconds, sizes are parsed, variables are interpolated (shell-quoted) into
 * commands. The YAML shape users write is defined by the zod schema in ./schema.ts.
 */
import { brand, hasBrand } from "../util/brand.js";
import type { Size } from "../util/size.js";

export interface VarSpec {
  required: boolean;
  pattern?: string;
  default?: string;
  description?: string;
}

export interface TagSelector {
  tags?: Record<string, string>;
  autoScalingGroups?: string[];
  instanceIds?: string[];
}

/** What the planner does with instances that are not ready (unhealthy in a target group, or not SSM-online). */
export type NotReadyPolicy = "skip" | "include" | "fail";

export interface FleetSpec {
  select: TagSelector;
  exclude: TagSelector;
  /** Target group ARNs or names; empty = every target group the instances are registered in. */
  targetGroups: string[];
  autoScaling: { suspendProcesses: string[] };
  notReady: NotReadyPolicy;
}

export type FailureAction = "rollback" | "pause" | "abort";

export interface RolloutSpec {
  canary: { size: Size; bakeMs: number; approve: boolean } | null;
  /** Growing wave sizes after the canary; the last one repeats. */
  waves: Size[];
  strategy: "window" | "waves";
  maxUnavailable: Size;
  maxUnavailablePerAz: Size | null;
  failures: {
    maxFailed: Size;
    action: FailureAction;
    /** `keepOut` (default): a failed instance stays deregistered. `reregister`: put it back in service. */
    failedInstances: "keepOut" | "reregister";
  };
  /** Seed for deterministic instance ordering. */
  seed: number;
}

type ConnectionSource =
  | { kind: "metric"; namespace: string; name: string; dimension: string; statistic: string }
  | { kind: "probe"; command: string };

interface CapacitySpec {
  connections: {
    source: ConnectionSource;
    perInstanceLimit: number;
    /** Fraction 0..1 of capacity kept free, e.g. 0.1 for `10%`. */
    headroom: number;
    maxDisplacedPerMinute: number | null;
    /** Oldest connection reading an admission may use, ms (default 2 min): older or none → hold. */
    maxAgeMs: number;
    /** Check capacity within each AZ for every instance (otherwise only where a group routes per zone). */
    perAz: boolean;
  } | null;
}

export interface StepSpec {
  /** Commands with variables already interpolated as shell-quoted words. */
  commands: string[];
  timeoutMs: number;
}

interface PlanSteps {
  /** From `drain.preCommand`: runs before deregistration, e.g. to make the server shed connections. */
  preDrain: StepSpec | null;
  /** From `drain.closeCommand`: runs once the drain reached `drain.until.connections`, to close the rest. */
  close: StepSpec | null;
  deploy: StepSpec;
  validate: StepSpec | null;
  rollback: StepSpec | null;
}

export interface Plan {
  version: 1;
  name: string;
  region: string | null;
  guard: { account: string | null };
  /** One rollout of this plan at a time: `ssm` fleet-wide (cli/fleet-lock.ts), `local` one machine. */
  lock: { store: "ssm" | "local"; parameter: string; staleAfterMs: number };
  /** `journal: s3://bucket/prefix`: the journal in S3 (engine/journal-store.ts); null: the local directory. */
  journal: { bucket: string; prefix: string } | null;
  vars: Record<string, VarSpec>;
  /** Resolved variable values (from --var / --var-file / defaults). */
  values: Record<string, string>;
  fleet: FleetSpec;
  rollout: RolloutSpec;
  capacity: CapacitySpec;
  drain: {
    /** Drain is done when connections reach this (needs capacity.connections), or the deregistration delay ends. */
    untilConnections: number | null;
    timeoutMs: number;
  };
  steps: PlanSteps;
  health: {
    targetHealthyTimeoutMs: number;
    stableForMs: number;
    alarms: string[];
    /** Fleet connectivity gate: `atLeast` is a fraction (0..1) of the devices connected at the start. */
    connectedDevices: { atLeast: number; withinMs: number } | null;
  };
}

/** A user-facing problem in an input file or flag, with its location. */
export interface InputIssue {
  severity: "error" | "warning";
  /** File path, or the flag (e.g. `--var`) when the problem is on the command line. */
  source: string;
  line?: number;
  column?: number;
  /** Dotted path inside the document, e.g. `rollout.canary.size`. */
  path?: string;
  message: string;
  hint?: string;
}

/** Thrown (or returned) when input is bad: every problem found, not just the first. Exit code 2. */
export class InputError extends Error {
  static isInputError(e: unknown): e is InputError {
    return hasBrand(e, "InputError");
  }
  readonly code = "E_INPUT";
  constructor(readonly issues: InputIssue[]) {
    super(`${issues.filter((i) => i.severity === "error").length} problem(s) in input`);
    this.name = "InputError";
    brand(this, "InputError");
  }
}
