// Types of guard-scenario.mjs for the TypeScript tests that import it.
export declare const FLEET: string;
export declare const PLAN: string;

export interface GuardWindow {
  fromMinute: number;
  toMinute: number | null;
  maxOut: number;
  maxOutHotAz: number;
}

export interface GuardRun {
  guard: boolean;
  servers: number;
  cameras: number;
  hotAz: string;
  status: string;
  reason?: string;
  instances: { total: number; succeeded: number; failed: number; skipped: number; rolledBack: number };
  rolloutMinutes: number;
  wallSeconds: number;
  apiCallsPerInstance: number;
  capacityHolds: number;
  engine: { displaced: number; cut: number; cutPerInstance: Record<string, number> };
  sim: {
    refused: number;
    serversAtLimit: number;
    maxLoadRatio: number;
    p99DisconnectSeconds: number;
    maxDisconnectSeconds: number;
    reconnectsPerCamera: number;
    cut: number;
    invariantViolations: number;
    violationKinds: string[];
  };
  window: { beforePeak: GuardWindow; peak: GuardWindow; afterPeak: GuardWindow } | null;
  /** [minute, instances out, instances out in the hot AZ] at every phase change. */
  windowLog: [number, number, number][];
}

export declare function runGuardScenario(
  mods: Record<string, unknown>,
  o: { guard: boolean; scale?: number; seed?: number; fleet?: string; plan?: string; hotAz?: string },
): Promise<GuardRun>;

export declare function windowPhases(
  log: [number, number, number][],
  schedule: { at: number; over: number; load: number }[],
): { beforePeak: GuardWindow; peak: GuardWindow; afterPeak: GuardWindow } | null;

export declare function guardRows(
  off: GuardRun,
  on: GuardRun,
): { scenario: string; metric: string; value: unknown; unit?: string; target?: string; pass?: boolean }[];
