/** The output of the pure wave planner. */

export interface PlannedInstance {
  id: string;
  az: string;
}

export interface Wave {
  index: number;
  kind: "canary" | "batch";
  instances: PlannedInstance[];
}

export interface SkippedInstance {
  id: string;
  az: string;
  reason: string;
}

export interface WavePlan {
  waves: Wave[];
  /** Instances left out by the notReady policy (they are reported, never touched). */
  skipped: SkippedInstance[];
  /** The resolved window: how many may be out of service at once, overall and per AZ. */
  window: { maxUnavailable: number; perAz: Record<string, number> };
  /** Failures tolerated across the whole rollout before the failure action runs. */
  maxFailed: number;
  azs: Record<string, number>;
  warnings: string[];
}

/** One row of the preview table (see `summarizeFleet`). */
export interface WaveSummary {
  index: number;
  kind: "canary" | "batch";
  size: number;
  /** Instances of this wave per AZ (every fleet AZ present, 0 when the wave takes none). */
  perAz: Record<string, number>;
  /** Planned instances done once this wave has finished, and that as a percent of all planned (1 decimal). */
  cumulative: number;
  cumulativePercent: number;
  /**
   * Instances still in service per AZ while this wave is out: the AZ's running instances minus this
   * wave's (strategy `waves`), or minus the most the sliding window may have out in that AZ
   * (strategy `window`). Failed instances kept out of service come on top.
   */
  inServicePerAz: Record<string, number>;
}

export interface TargetGroupSummary {
  name: string;
  arn: string;
  type: string;
  port?: number;
  /** All targets registered in the group (not only this fleet's). */
  targetCount: number;
  /** How many of the fleet's instances are registered in it. */
  fleetTargets: number;
  /** An ALB group over the 1,000-targets quota. */
  overQuota: boolean;
}

/** What the preview needs besides the waves themselves. */
export interface FleetSummary {
  instances: number;
  planned: number;
  skipped: number;
  /** Fleet instances per AZ (planned and skipped). */
  azs: Record<string, number>;
  /** Planned instances per AZ. */
  plannedAzs: Record<string, number>;
  targetGroups: TargetGroupSummary[];
  waves: WaveSummary[];
}
