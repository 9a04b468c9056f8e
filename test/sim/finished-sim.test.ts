/**
 * `rollout.finished.sim` carries what the simulator drew for the bound (rollout-speed issue §1) and
 * its duplicate-execution count, from a real `deploy --simulate` of the small fleet.
 */
import { describe, expect, it } from "vitest";
import type { RolloutEvent } from "../../src/engine/events.js";
import { cli } from "../cli/harness.js";
import { SMALL_FLEET, SMALL_PLAN } from "../cli/sim-env.js";

describe("rollout.finished.sim", () => {
  it("reports the intrinsic totals of the cycled instances and no duplicate executions", async () => {
    const r = await cli([
      "deploy",
      SMALL_PLAN,
      "--simulate",
      SMALL_FLEET,
      "--time-scale",
      "400",
      "--var",
      "release=v2.0.0",
      "--yes",
      "--auto-approve",
      "--output",
      "json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const last = JSON.parse(r.stdout.trim().split("\n").at(-1) as string) as RolloutEvent;
    if (last.type !== "rollout.finished") throw new Error(`last event is ${last.type}`);
    const sim = last.sim;
    expect(sim?.duplicateExecutions).toBe(0);
    const t = sim?.intrinsic;
    expect(t?.instances).toBe(12);
    expect(t?.commandSeconds).toBeGreaterThan(0);
    expect(t?.drainSeconds).toBeGreaterThan(0);
    // 3 health checks 10 s apart after registration: 20–30 s for each of the 12.
    expect(t?.healthSeconds).toBeGreaterThanOrEqual(12 * 20);
    expect(t?.healthSeconds).toBeLessThanOrEqual(12 * 30 + 1);
    expect(t?.serviceSeconds).toBeCloseTo(
      (t?.commandSeconds ?? 0) + (t?.drainSeconds ?? 0) + (t?.healthSeconds ?? 0),
      0,
    );
    // The small fleet's 2,000 cameras were all on some server that drained.
    expect(t?.displacedConnections).toBeGreaterThan(1_500);
    // No instance can take longer than the rollout did.
    expect(t?.longestInstanceSeconds).toBeLessThan(last.durationSeconds);
  }, 60_000);
});
