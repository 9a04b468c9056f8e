import { describe, expect, it } from "vitest";
import { boundInstances, effectiveWindow, intrinsicTotals, physicalBound } from "../../src/sim/bound.js";
import type { SimIntrinsic } from "../../src/sim/model/api.js";

const inst = (id: string, serviceMs: number, displaced: number, cycles = 1) => ({
  instanceId: id,
  serviceMs,
  displaced,
  cycles,
});

describe("physicalBound", () => {
  it("adds canary and bake to the window term when the window limits (the worked example)", () => {
    const others = Array.from({ length: 9 }, (_, i) => inst(`i-${i}`, 400_000, 100));
    const b = physicalBound({
      instances: [inst("i-canary", 400_000, 100), ...others],
      canaryIds: ["i-canary"],
      bakeMs: 600_000,
      window: 3,
      maxDisplacedPerMinute: 600,
    });
    expect(b.canaryMs).toBe(400_000);
    expect(b.terms).toEqual({
      serviceOverWindowMs: 1_200_000,
      displacedOverRateMs: 90_000,
      longestInstanceMs: 400_000,
    });
    expect(b.limitedBy).toBe("window");
    expect(b.boundMs).toBe(2_200_000);
  });

  it("is limited by displacement when connections move slower than the window allows", () => {
    const b = physicalBound({
      instances: Array.from({ length: 10 }, (_, i) => inst(`i-${i}`, 60_000, 3_000)),
      window: 10,
      maxDisplacedPerMinute: 1_000,
    });
    // 30,000 connections at 1,000 a minute: 30 minutes, against 60 s of service in one window.
    expect(b.terms.displacedOverRateMs).toBe(30 * 60_000);
    expect(b.limitedBy).toBe("displacement");
    expect(b.boundMs).toBe(30 * 60_000);
  });

  it("is limited by the longest instance with a wide window, and pays stableFor per cycle", () => {
    const b = physicalBound({
      instances: [inst("a", 100_000, 0), inst("b", 500_000, 0), inst("c", 100_000, 0, 2)],
      stableForMs: 30_000,
      window: 100,
    });
    expect(b.terms.longestInstanceMs).toBe(530_000);
    expect(b.terms.serviceOverWindowMs).toBeCloseTo((130_000 + 530_000 + 160_000) / 100);
    expect(b.terms.displacedOverRateMs).toBe(0); // no displacement limit
    expect(b.limitedBy).toBe("longest-instance");
    expect(b.boundMs).toBe(530_000);
  });

  it("refuses a window below one", () => {
    expect(() => physicalBound({ instances: [], window: 0 })).toThrow(/window must be at least 1/);
  });
});

describe("effectiveWindow", () => {
  it("is the smallest of maxUnavailable, the per-AZ caps added up, and the capacity limit", () => {
    expect(
      effectiveWindow({ maxUnavailable: 100, perAzCaps: { a: 20, b: 20, c: 15 }, capacityLimit: 80 }),
    ).toBe(55);
    expect(effectiveWindow({ maxUnavailable: 50, perAzCaps: [20, 20, 15] })).toBe(50);
    expect(effectiveWindow({ maxUnavailable: 100, perAzCaps: [40, 40], capacityLimit: 30 })).toBe(30);
    expect(effectiveWindow({ maxUnavailable: 7 })).toBe(7);
  });
});

describe("from the simulator's intrinsic times", () => {
  const rec = (id: string, o: Partial<SimIntrinsic>): SimIntrinsic => ({
    instanceId: id,
    az: "az-a",
    cycles: 1,
    commandMs: 0,
    stepMs: {},
    drainMs: 0,
    healthMs: 0,
    serviceMs: 0,
    displaced: 0,
    drainsEndedByDelay: 0,
    ...o,
  });
  const intrinsic = [
    rec("a", { commandMs: 10_000, drainMs: 50_000, healthMs: 25_000, serviceMs: 85_000, displaced: 120 }),
    rec("b", {
      commandMs: 12_000,
      drainMs: 60_000,
      healthMs: 21_000,
      serviceMs: 93_000,
      displaced: 80,
      drainsEndedByDelay: 1,
    }),
    rec("untouched", { cycles: 0 }),
  ];

  it("takes only instances that went out of service", () => {
    expect(boundInstances(intrinsic).map((i) => i.instanceId)).toEqual(["a", "b"]);
  });

  it("totals them for rollout.finished", () => {
    expect(intrinsicTotals(intrinsic)).toEqual({
      instances: 2,
      commandSeconds: 22,
      drainSeconds: 110,
      healthSeconds: 46,
      serviceSeconds: 178,
      longestInstanceSeconds: 93,
      displacedConnections: 200,
      drainsEndedByDelay: 1,
    });
  });
});
