import { describe, expect, it } from "vitest";
import { InputError } from "../../src/plan/types.js";
import { planWaves } from "../../src/waves/index.js";
import { azCountsOf, makeFleet, makePlan, type PlanInput } from "./fleet-builder.js";

const A = "ap-northeast-1a";
const C = "ap-northeast-1c";
const D = "ap-northeast-1d";
const camera = () => makeFleet({ [A]: 400, [C]: 350, [D]: 250 });
const cameraPlan: PlanInput = {
  canary: "1/az",
  waves: ["2%", "5%", "10%"],
  maxUnavailable: "10%",
  maxUnavailablePerAz: "12%",
};

function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error("expected an InputError");
}

describe("the camera-relay worked example (1,000 instances in 400/350/250)", () => {
  const plan = planWaves(camera(), makePlan(cameraPlan));

  it("resolves the window overall (10% of 1,000) and per AZ (12% of each AZ, rounded down)", () => {
    expect(plan.window.maxUnavailable).toBe(100);
    expect(plan.window.perAz).toEqual({ [A]: 48, [C]: 42, [D]: 30 });
    expect(plan.maxFailed).toBe(10);
  });

  it("starts with a one-per-AZ canary, then 2%, 5% and 10% waves split across AZs by size", () => {
    const rows = plan.waves.slice(0, 4).map((w) => [w.kind, w.instances.length, azCountsOf(w.instances)]);
    expect(rows).toEqual([
      ["canary", 3, { [A]: 1, [C]: 1, [D]: 1 }],
      ["batch", 20, { [A]: 8, [C]: 7, [D]: 5 }],
      ["batch", 50, { [A]: 20, [C]: 18, [D]: 12 }],
      ["batch", 100, { [A]: 40, [C]: 35, [D]: 25 }],
    ]);
  });

  it("repeats the last size until all 1,000 are planned, the remainder in a final smaller wave", () => {
    // 3 + 20 + 50 = 73 → nine waves of 100 → 27 left.
    expect(plan.waves.map((w) => w.instances.length)).toEqual([3, 20, 50, ...Array(9).fill(100), 27]);
    expect(plan.waves.map((w) => w.index)).toEqual(plan.waves.map((_, k) => k));
  });

  it("keeps every AZ in the last wave instead of finishing one AZ alone", () => {
    const last = plan.waves.at(-1)?.instances ?? [];
    expect(Object.keys(azCountsOf(last)).sort()).toEqual([A, C, D]);
  });

  it("warns that the AZs are imbalanced (400 > 1.5 × 250)", () => {
    expect(plan.warnings.some((w) => w.includes("imbalanced") && w.includes(D))).toBe(true);
  });
});

describe("canary sizes", () => {
  it("takes a count canary from the largest AZs first", () => {
    const plan = planWaves(camera(), makePlan({ ...cameraPlan, canary: 2 }));
    expect(azCountsOf(plan.waves[0]?.instances ?? [])).toEqual({ [A]: 1, [C]: 1 });
  });

  it("takes N per AZ for `2/az`, all of an AZ smaller than N", () => {
    const fleet = makeFleet({ [A]: 10, [C]: 10, [D]: 1 });
    const plan = planWaves(fleet, makePlan({ canary: "2/az", maxUnavailable: 10 }));
    expect(azCountsOf(plan.waves[0]?.instances ?? [])).toEqual({ [A]: 2, [C]: 2, [D]: 1 });
  });

  it("rejects a canary larger than the window, naming the field", () => {
    const err = inputError(() => planWaves(camera(), makePlan({ ...cameraPlan, canary: "20%" })));
    const errors = err.issues.filter((i) => i.severity === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]?.path).toBe("rollout.canary.size");
    expect(errors[0]?.message).toContain("200");
  });

  it("rejects a per-AZ canary that exceeds an AZ's window", () => {
    const err = inputError(() =>
      planWaves(camera(), makePlan({ ...cameraPlan, canary: "2/az", maxUnavailablePerAz: 1 })),
    );
    expect(err.issues.map((i) => i.path)).toContain("rollout.canary.size");
  });

  it("rolls without a canary when there is none", () => {
    const plan = planWaves(camera(), makePlan({ ...cameraPlan, canary: null }));
    expect(plan.waves.every((w) => w.kind === "batch")).toBe(true);
    expect(plan.waves[0]?.instances).toHaveLength(20);
  });
});

describe("the window", () => {
  it("rejects a window of zero", () => {
    const err = inputError(() => planWaves(camera(), makePlan({ ...cameraPlan, maxUnavailable: 0 })));
    expect(err.issues.find((i) => i.severity === "error")?.path).toBe("rollout.maxUnavailable");
  });

  it("raises a percent window that is less than one instance to 1, and says so", () => {
    const plan = planWaves(makeFleet({ [A]: 5 }), makePlan({ waves: [1], maxUnavailable: "10%" }));
    expect(plan.window.maxUnavailable).toBe(1);
    expect(plan.warnings.some((w) => w.includes("less than one instance"))).toBe(true);
  });

  it("reads a per-AZ count as that many in every AZ", () => {
    const plan = planWaves(camera(), makePlan({ ...cameraPlan, maxUnavailablePerAz: 5 }));
    expect(plan.window.perAz).toEqual({ [A]: 5, [C]: 5, [D]: 5 });
    for (const w of plan.waves) {
      for (const n of Object.values(azCountsOf(w.instances))) expect(n).toBeLessThanOrEqual(5);
    }
  });

  it("never takes an AZ above its cap when one AZ is much smaller", () => {
    const fleet = makeFleet({ [A]: 300, [C]: 300, [D]: 20 });
    const plan = planWaves(
      fleet,
      makePlan({ waves: ["10%"], maxUnavailable: "10%", maxUnavailablePerAz: "10%" }),
    );
    expect(plan.window.perAz[D]).toBe(2);
    for (const w of plan.waves) expect(azCountsOf(w.instances)[D] ?? 0).toBeLessThanOrEqual(2);
  });

  it("lets an AZ lose the whole window when there is no per-AZ cap", () => {
    const plan = planWaves(camera(), makePlan({ ...cameraPlan, maxUnavailablePerAz: null }));
    expect(plan.window.perAz).toEqual({ [A]: 100, [C]: 100, [D]: 100 });
  });

  it("clips a listed wave larger than the window and warns once for it", () => {
    const plan = planWaves(camera(), makePlan({ ...cameraPlan, waves: ["2%", "25%"] }));
    expect(plan.waves.slice(2).every((w) => w.instances.length <= 100)).toBe(true);
    expect(plan.warnings.filter((w) => w.includes("wave size 25%"))).toHaveLength(1);
  });

  it("resolves maxFailed with 0 allowed, warning when a percent rounds down to 0", () => {
    expect(planWaves(camera(), makePlan({ ...cameraPlan, maxFailed: 0 })).maxFailed).toBe(0);
    const small = planWaves(makeFleet({ [A]: 50 }), makePlan({ maxFailed: "1%" }));
    expect(small.maxFailed).toBe(0);
    expect(small.warnings.some((w) => w.includes("maxFailed 1%"))).toBe(true);
  });
});

describe("instances that are not ready", () => {
  // Every 10th instance has its SSM agent down; instance 5 is stopped; instance 7 is unhealthy.
  const messy = () =>
    makeFleet({ [A]: 30, [C]: 20 }, (i, n) => {
      if (n % 10 === 3) i.ssm = "ConnectionLost";
      if (n === 5) i.state = "stopped";
      if (n === 7) (i.targets[0] as { state: string }).state = "unhealthy";
    });

  it("skips them with their reasons under notReady: skip, and never plans them", () => {
    const plan = planWaves(messy(), makePlan({ notReady: "skip", maxUnavailable: 5 }));
    expect(plan.skipped).toHaveLength(7);
    expect(plan.skipped.find((s) => s.reason.includes("stopped"))).toBeDefined();
    expect(plan.skipped.find((s) => s.reason.includes("unhealthy in relay-rtmp"))).toBeDefined();
    const planned = new Set(plan.waves.flatMap((w) => w.instances.map((i) => i.id)));
    for (const s of plan.skipped) expect(planned.has(s.id)).toBe(false);
    expect(plan.warnings.some((w) => w.includes("not SSM-online (ConnectionLost 5)"))).toBe(true);
  });

  it("plans running ones with a warning under notReady: include, but still skips the stopped one", () => {
    const plan = planWaves(messy(), makePlan({ notReady: "include", maxUnavailable: 5 }));
    expect(plan.skipped.map((s) => s.reason)).toEqual(["instance is stopped"]);
    expect(plan.waves.reduce((n, w) => n + w.instances.length, 0)).toBe(49);
    expect(plan.warnings.some((w) => w.includes("planned anyway"))).toBe(true);
  });

  it("refuses to plan under notReady: fail, listing the instances", () => {
    const err = inputError(() => planWaves(messy(), makePlan({ notReady: "fail" })));
    const error = err.issues.find((i) => i.severity === "error");
    expect(error?.path).toBe("fleet.notReady");
    expect(error?.message).toContain("6 running instance(s)");
  });

  it("refuses a fleet where every instance was skipped", () => {
    const fleet = makeFleet({ [A]: 3 }, (i) => {
      i.ssm = "Inactive";
    });
    const err = inputError(() => planWaves(fleet, makePlan({ notReady: "skip" })));
    expect(err.issues.find((i) => i.severity === "error")?.message).toContain("nothing to roll");
  });

  it("refuses an empty fleet", () => {
    const err = inputError(() => planWaves(makeFleet({}), makePlan()));
    expect(err.issues[0]?.path).toBe("fleet.select");
  });
});

describe("order and determinism", () => {
  const ids = (plan: ReturnType<typeof planWaves>) => plan.waves.map((w) => w.instances.map((i) => i.id));

  it("gives the same waves whatever order the instances arrive in", () => {
    const fleet = camera();
    const reversed = { ...fleet, instances: [...fleet.instances].reverse() };
    expect(ids(planWaves(reversed, makePlan(cameraPlan)))).toEqual(
      ids(planWaves(fleet, makePlan(cameraPlan))),
    );
  });

  it("picks different canaries for a different seed", () => {
    const one = planWaves(camera(), makePlan({ ...cameraPlan, seed: 1 }));
    const two = planWaves(camera(), makePlan({ ...cameraPlan, seed: 2 }));
    expect(ids(one)[0]).not.toEqual(ids(two)[0]);
  });

  it("keeps everyone else's order when one instance leaves the fleet", () => {
    const fleet = camera();
    const order = (f: typeof fleet) =>
      planWaves(f, makePlan({ maxUnavailable: 1, waves: [1] })).waves.map((w) => w.instances[0]?.id);
    const before = order(fleet).filter((id) => id !== fleet.instances[17]?.id);
    const after = order({ ...fleet, instances: fleet.instances.filter((_, k) => k !== 17) });
    // Same relative order inside each AZ (the AZ interleaving may shift by one slot).
    const byAz = (list: (string | undefined)[]) =>
      [A, C, D].map((az) => list.filter((id) => fleet.instances.find((i) => i.id === id)?.az === az));
    expect(byAz(after)).toEqual(byAz(before));
  });

  it("rejects a fleet listing an instance twice", () => {
    const fleet = makeFleet({ [A]: 3 });
    fleet.instances.push({ ...(fleet.instances[0] as (typeof fleet.instances)[number]) });
    const err = inputError(() => planWaves(fleet, makePlan()));
    expect(err.issues[0]?.message).toContain("more than once");
  });
});

describe("fleet warnings", () => {
  it("warns about an ALB target group over the 1,000-target quota", () => {
    const fleet = camera();
    fleet.targetGroups.push({
      ...(fleet.targetGroups[0] as (typeof fleet.targetGroups)[number]),
      arn: "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/relay-http/feedfacefeedface",
      name: "relay-http",
      type: "application",
      targetCount: 1_200,
    });
    const plan = planWaves(fleet, makePlan(cameraPlan));
    expect(plan.warnings.filter((w) => w.includes("quota"))).toEqual([
      expect.stringContaining("relay-http has 1200 targets"),
    ]);
  });

  it("warns about an NLB target group over 500 targets in one AZ", () => {
    const plan = planWaves(makeFleet({ [A]: 501, [C]: 500 }), makePlan());
    expect(plan.warnings.filter((w) => w.includes("NLB quota"))).toEqual([
      expect.stringContaining(`501 targets in ${A}`),
    ]);
    expect(plan.warnings.some((w) => w.includes(`in ${C}`))).toBe(false);
  });

  it("shows the interleaving of the documented example: AZs of 4 and 2 go a b a a b a", () => {
    const plan = planWaves(makeFleet({ [A]: 4, [C]: 2 }), makePlan({ waves: [1], maxUnavailable: 1 }));
    expect(plan.waves.map((w) => (w.instances[0]?.az === A ? "a" : "b")).join(" ")).toBe("a b a a b a");
  });

  it("warns about instances in no target group", () => {
    const fleet = makeFleet({ [A]: 10 }, (i, n) => {
      if (n < 2) i.targets = [];
    });
    const plan = planWaves(fleet, makePlan());
    expect(plan.warnings.some((w) => w.startsWith("2 planned instance(s) are in no target group"))).toBe(
      true,
    );
  });

  it("does not call balanced AZs imbalanced", () => {
    const plan = planWaves(makeFleet({ [A]: 300, [C]: 300, [D]: 250 }), makePlan(cameraPlan));
    expect(plan.warnings.some((w) => w.includes("imbalanced"))).toBe(false);
  });
});
