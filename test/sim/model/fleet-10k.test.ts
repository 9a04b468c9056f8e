/**
 * The 10,000-server fleet of the rollout-speed issue §3: it loads within AWS's target quotas and the
 * simulator starts it, with 1,000,000 cameras connected, in seconds.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { InputError } from "../../../src/plan/types.js";
import { loadFleetSpec, parseFleetSpec } from "../../../src/sim/model/fleet-spec.js";
import { startSimulator } from "../../../src/sim/server.js";
import { ManualClock } from "../../../src/util/clock.js";

const FLEET_10K = fileURLToPath(new URL("../../../plans/sim/camera-fleet-10k.yaml", import.meta.url));
const SMALL_FLEET = fileURLToPath(new URL("../../../plans/sim/small-fleet.yaml", import.meta.url));

describe("plans/sim/camera-fleet-10k.yaml", () => {
  it("splits 10,000 servers over 8 NLBs (≤ 500 per AZ) and 10 ALBs (≤ 1,000), and starts in seconds", async () => {
    const spec = await loadFleetSpec(FLEET_10K);
    expect(spec.loadBalancers.filter((lb) => lb.type === "network")).toHaveLength(8);
    expect(spec.loadBalancers.filter((lb) => lb.type === "application")).toHaveLength(10);

    const started = performance.now();
    const sim = await startSimulator({ fleet: FLEET_10K, clock: new ManualClock(Date.UTC(2026, 0, 1)) });
    const startSeconds = (performance.now() - started) / 1000;
    try {
      const state = sim.state();
      const metrics = sim.metrics();
      console.log(
        `10k fleet: started in ${startSeconds.toFixed(2)} s, RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
      );
      expect(state.instances).toHaveLength(10_000);
      expect(new Set(state.instances.map((i) => i.az)).size).toBe(3);
      expect(metrics.cameras.total).toBe(1_000_000);
      expect(metrics.cameras.connected).toBe(1_000_000);
      expect(metrics.maxLoadRatio).toBeLessThanOrEqual(1);
      // Every server is healthy in its NLB group and its ALB group, and every server carries cameras.
      expect(state.instances.every((i) => Object.values(i.targets).length === 2)).toBe(true);
      expect(state.instances.every((i) => Object.values(i.targets).every((t) => t === "healthy"))).toBe(true);
      expect(state.instances.every((i) => i.connections > 0)).toBe(true);
      for (const tg of state.targetGroups) {
        if (tg.type === "application") expect(tg.targets).toBe(1_000);
        else expect(tg.targets).toBe(1_250);
      }
      expect(metrics.invariantViolations).toEqual([]);
      expect(startSeconds).toBeLessThan(30); // seconds on this 2-core machine; generous for CI
    } finally {
      await sim.close();
    }
  }, 120_000);
});

describe("several camera target groups", () => {
  it("are allowed one per instance group; an instance group in two of them is refused", async () => {
    const raw = parse(await readFile(SMALL_FLEET, "utf8")) as {
      loadBalancers: { targetGroups: { cameras?: boolean }[] }[];
    };
    const http = raw.loadBalancers[1]?.targetGroups[0] as { cameras?: boolean };
    http.cameras = true;
    let err: unknown;
    try {
      parseFleetSpec(raw, "small-fleet.yaml");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect(JSON.stringify((err as InputError).issues)).toMatch(
      /instance group \\"relay\\" is already in camera target group \\"relay-rtmp\\"/,
    );
  });
});
