import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PlanPreview } from "../../src/report/preview.js";
import type { RunningSimulator } from "../../src/sim/index.js";
import { cli } from "./harness.js";
import { mutatingCalls, SMALL_PLAN, standaloneSim } from "./sim-env.js";

const INVENTORY = "test/fixtures/inventory-1000.json";

describe("rollwave plan --inventory", () => {
  let preview: PlanPreview;
  beforeAll(async () => {
    const r = await cli([
      "plan",
      "plans/camera-relay.yaml",
      "--inventory",
      INVENTORY,
      "--var",
      "release=v1.2.3",
      "--output",
      "json",
    ]);
    expect(r.code).toBe(0);
    preview = JSON.parse(r.stdout) as PlanPreview;
  });

  it("prints one JSON document naming the plan and the fleet per AZ", () => {
    expect(preview.name).toBe("camera-relay");
    expect(preview.fleet.instances).toBeGreaterThan(900);
    const azTotal = Object.values(preview.fleet.azs).reduce((a, b) => a + b, 0);
    expect(azTotal).toBe(preview.fleet.instances);
    expect(preview.fleet.targetGroups.length).toBeGreaterThan(0);
  });

  it("puts every instance in exactly one wave or in skipped", () => {
    const ids = [
      ...preview.waves.flatMap((w) => w.instances.map((i) => i.id)),
      ...preview.skipped.map((s) => s.id),
    ];
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(preview.fleet.instances);
  });

  it("starts with the canary, one per AZ, and numbers waves in order", () => {
    expect(preview.waves[0]?.kind).toBe("canary");
    expect(preview.waves.slice(1).every((w) => w.kind === "batch")).toBe(true);
    expect(preview.waves.map((w) => w.index)).toEqual(preview.waves.map((_, i) => i));
    const canaryAzs = preview.waves[0]?.instances.map((i) => i.az) ?? [];
    expect(new Set(canaryAzs).size).toBe(Object.keys(preview.fleet.azs).length);
  });

  it("never puts more in a wave than the window allows, overall or per AZ", () => {
    for (const w of preview.waves) {
      expect(w.instances.length).toBeLessThanOrEqual(preview.window.maxUnavailable);
      for (const [az, n] of Object.entries(w.azs)) {
        expect(n).toBeLessThanOrEqual(preview.window.perAz[az] ?? Number.POSITIVE_INFINITY);
      }
    }
  });

  it("grows batch sizes 2%, 5%, 10% of the fleet, the last one repeating", () => {
    const planned = preview.waves.reduce((n, w) => n + w.instances.length, 0);
    const sizes = preview.waves.slice(1, -1).map((w) => w.instances.length);
    expect(sizes[0]).toBeLessThan(sizes[1] ?? 0);
    expect(sizes[1]).toBeLessThan(sizes[2] ?? 0);
    expect(new Set(sizes.slice(2)).size).toBe(1);
    expect(preview.waves.at(-1)?.cumulativePercent).toBe(100);
    expect(planned).toBe(preview.waves.at(-1)?.cumulative);
  });

  it("prints the preview table with the documented columns", async () => {
    const r = await cli([
      "plan",
      "plans/camera-relay.yaml",
      "--inventory",
      INVENTORY,
      "--var",
      "release=v1.2.3",
    ]);
    expect(r.code).toBe(0);
    const header = r.stdout.split("\n").find((l) => l.trim().startsWith("WAVE"));
    expect(header?.trim().split(/\s{2,}/)).toEqual([
      "WAVE",
      "KIND",
      "SIZE",
      "1a",
      "1c",
      "1d",
      "CUM%",
      "IN SVC 1a",
      "IN SVC 1c",
      "IN SVC 1d",
    ]);
    expect(r.stdout).toMatch(/Target groups\n\s+NAME\s+TYPE\s+PORT\s+TARGETS\s+IN FLEET\s+DEREG DELAY/);
    expect(r.stdout).toMatch(/^\s+0\s+canary\s+3\s+1\s+1\s+1\s/m);
    expect(r.stdout).not.toContain("\u001b[");
  });

  it("refuses a missing required variable before reading the fleet", async () => {
    // The inventory does not exist: reading the fleet first would fail on the file instead.
    const r = await cli(["plan", "plans/camera-relay.yaml", "--inventory", "no/such/inventory.json"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/release/);
    expect(r.stderr).not.toMatch(/no such file|inventory\.json/);
  });

  it("rejects --seed without --simulate instead of ignoring it", async () => {
    const r = await cli([
      "plan",
      "plans/camera-relay.yaml",
      "--var",
      "release=v2.0.0",
      "--endpoint-url",
      "http://127.0.0.1:9",
      "--seed",
      "3",
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--seed only applies with --simulate/);
  });

  it("rejects --inventory together with --simulate", async () => {
    const r = await cli([
      "plan",
      "plans/camera-relay.yaml",
      "--inventory",
      INVENTORY,
      "--simulate",
      "--var",
      "release=v1.2.3",
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--inventory");
  });

  it("maps a bad --output value to exit 2", async () => {
    const r = await cli(["plan", "plans/camera-relay.yaml", "--output", "yaml"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--output/);
  });
});

describe("rollwave plan against AWS (the simulator, from outside)", () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await standaloneSim();
  });
  afterAll(async () => {
    await sim.close();
  });

  it("discovers the fleet and makes zero mutating AWS calls", async () => {
    const before = sim.apiCalls().total;
    const r = await cli([
      "plan",
      SMALL_PLAN,
      "--endpoint-url",
      sim.endpoint,
      "--region",
      sim.region,
      "--var",
      "release=v2.0.0",
      "--output",
      "json",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const preview = JSON.parse(r.stdout) as PlanPreview;
    expect(preview.fleet.instances).toBe(12);
    expect(sim.apiCalls().total).toBeGreaterThan(before);
    expect(mutatingCalls(sim)).toEqual([]);
  });
});

describe("rollwave plan --simulate", () => {
  it("plans the simulated fleet in-process", async () => {
    const r = await cli([
      "plan",
      SMALL_PLAN,
      "--simulate",
      "plans/sim/small-fleet.yaml",
      "--var",
      "release=v2.0.0",
      "--output",
      "json",
    ]);
    expect(r.code).toBe(0);
    const preview = JSON.parse(r.stdout) as PlanPreview;
    expect(preview.fleet.source).toBe("simulator");
    expect(preview.fleet.instances).toBe(12);
    expect(preview.fleet.azs).toEqual({ "ap-northeast-1a": 7, "ap-northeast-1c": 5 });
    // The capacity math, from one metric read of the simulated fleet (2,000 cameras, cross-zone on).
    expect(preview.capacity?.source.readAt).not.toBeNull();
    expect(preview.capacity?.total.connections).toBe(2000);
    expect(preview.capacity?.azs.map((a) => [a.az, a.instances, a.perAz])).toEqual([
      ["ap-northeast-1a", 7, false],
      ["ap-northeast-1c", 5, false],
    ]);
  });
});
