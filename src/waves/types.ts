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
