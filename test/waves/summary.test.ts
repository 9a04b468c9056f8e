import { describe, expect, it } from "vitest";
import { planWaves, summarizeFleet } from "../../src/waves/index.js";
import { makeFleet, makePlan } from "./fleet-builder.js";

const A = "ap-northeast-1a";
const C = "ap-northeast-1c";
const D = "ap-northeast-1d";
const settings = {
  canary: "1/az",
  waves: ["2%", "5%", "10%"],
  maxUnavailable: "10%",
  maxUnavailablePerAz: "12%",
};

describe("the preview summary", () => {
  const fleet = makeFleet({ [A]: 400, [C]: 350, [D]: 250 });
  const plan = planWaves(fleet, makePlan(settings));

  it("shows how many stay in service per AZ while each wave is out", () => {
    const s = summarizeFleet(fleet, plan, "waves");
    expect(s.waves[0]).toMatchObject({
      index: 0,
      kind: "canary",
      size: 3,
      perAz: { [A]: 1, [C]: 1, [D]: 1 },
      cumulative: 3,
      cumulativePercent: 0.3,
      inServicePerAz: { [A]: 399, [C]: 349, [D]: 249 },
    });
    expect(s.waves[1]?.inServicePerAz).toEqual({ [A]: 392, [C]: 343, [D]: 245 });
    expect(s.waves.at(-1)).toMatchObject({ cumulative: 1_000, cumulativePercent: 100 });
  });

  it("assumes the worst case of a sliding window: each AZ down by its cap while work remains", () => {
    const s = summarizeFleet(fleet, plan, "window");
    // Per-AZ caps 48/42/30: the canary (1 per AZ) may already overlap with the next instances.
    expect(s.waves[0]?.inServicePerAz).toEqual({ [A]: 352, [C]: 308, [D]: 220 });
    // Last wave: 11/9/7 remain, fewer than the caps, so only they can be out.
    const last = s.waves.at(-1);
    expect(last?.inServicePerAz).toEqual({
      [A]: 400 - (last?.perAz[A] ?? 0),
      [C]: 350 - (last?.perAz[C] ?? 0),
      [D]: 250 - (last?.perAz[D] ?? 0),
    });
  });

  it("does not count stopped instances as in service", () => {
    const withStopped = makeFleet({ [A]: 400, [C]: 350, [D]: 250 }, (i, n) => {
      if (n < 2) i.state = "stopped";
    });
    const s = summarizeFleet(withStopped, planWaves(withStopped, makePlan(settings)), "waves");
    expect(s.azs[A]).toBe(400);
    expect(s.plannedAzs[A]).toBe(398);
    expect(s.skipped).toBe(2);
    expect(s.waves[0]?.inServicePerAz[A]).toBe(397);
  });

  it("lists every AZ in every wave, with 0 where the wave takes none", () => {
    const small = makeFleet({ [A]: 10, [C]: 1 });
    const s = summarizeFleet(small, planWaves(small, makePlan({ waves: [1], maxUnavailable: 1 })), "waves");
    expect(s.waves.every((w) => Object.keys(w.perAz).sort().join() === [A, C].join())).toBe(true);
    expect(s.waves.filter((w) => w.perAz[C] === 0).length).toBe(10);
  });

  it("shows each target group's targets, how many are this fleet's, and the ALB quota", () => {
    const big = makeFleet({ [A]: 10 });
    const tg = big.targetGroups[0] as (typeof big.targetGroups)[number];
    big.targetGroups[0] = { ...tg, type: "application", targetCount: 1_001 };
    const s = summarizeFleet(big, planWaves(big, makePlan()), "waves");
    expect(s.targetGroups).toEqual([
      expect.objectContaining({ name: "relay-rtmp", targetCount: 1_001, fleetTargets: 10, overQuota: true }),
    ]);
  });
});
