/**
 * Properties of the wave planner on random fleets (uneven AZs 1–6, 1 to 12,000 instances) and random
 * rollout settings. The expected numbers are derived here from the documented rules, independently
 * of the planner's own arithmetic.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Fleet, Instance, InstanceTarget } from "../../src/fleet/types.js";
import { InputError, type Plan } from "../../src/plan/types.js";
import { resolveSize, type Size } from "../../src/util/size.js";
import { planWaves } from "../../src/waves/index.js";
import type { WavePlan } from "../../src/waves/types.js";
import { azCountsOf, makeFleet, makePlan } from "./fleet-builder.js";

const AZ_NAMES = ["eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1d", "eu-west-1e", "eu-west-1f"];

const count = (max: number) => fc.integer({ min: 1, max }).map((n): Size => ({ kind: "count", count: n }));
const percent = (maxTenths: number) =>
  fc.integer({ min: 1, max: maxTenths }).map((t): Size => ({ kind: "percent", percent: t / 10 }));
const perAz = (max: number) => fc.integer({ min: 1, max }).map((n): Size => ({ kind: "perAz", count: n }));

const settings = fc.record({
  canary: fc.option(fc.oneof(count(20), percent(100), perAz(3)), { nil: null }),
  waves: fc.array(fc.oneof(count(300), percent(400), perAz(20)), { maxLength: 4 }),
  maxUnavailable: fc.oneof(count(400), percent(500), perAz(30)),
  maxUnavailablePerAz: fc.option(fc.oneof(count(100), percent(500), perAz(15)), { nil: null }),
  maxFailed: fc.oneof(fc.constant<Size>({ kind: "count", count: 0 }), count(20), percent(50)),
  seed: fc.integer(),
  notReady: fc.constantFrom<"skip" | "include">("skip", "include"),
  // Every k-th instance has its SSM agent down; every m-th is stopped.
  ssmDownEvery: fc.option(fc.integer({ min: 2, max: 40 }), { nil: null }),
  stoppedEvery: fc.option(fc.integer({ min: 3, max: 60 }), { nil: null }),
  // Every j-th is unhealthy in its target group; every l-th is in no target group at all.
  unhealthyEvery: fc.option(fc.integer({ min: 2, max: 50 }), { nil: null }),
  looseEvery: fc.option(fc.integer({ min: 2, max: 50 }), { nil: null }),
});

type Settings = typeof settings extends fc.Arbitrary<infer T> ? T : never;

function build(azSizes: number[], s: Settings): { fleet: Fleet; plan: Pick<Plan, "rollout" | "fleet"> } {
  const counts: Record<string, number> = {};
  azSizes.forEach((n, k) => {
    counts[AZ_NAMES[k] as string] = n;
  });
  const fleet = makeFleet(counts, (i, n) => {
    if (s.ssmDownEvery && n % s.ssmDownEvery === 1) i.ssm = "ConnectionLost";
    if (s.stoppedEvery && n % s.stoppedEvery === 2) i.state = "stopped";
    if (s.unhealthyEvery && n % s.unhealthyEvery === 0)
      i.targets = [{ ...(i.targets[0] as InstanceTarget), state: "unhealthy" }];
    if (s.looseEvery && n % s.looseEvery === 3) i.targets = [];
  });
  const plan = makePlan({ notReady: s.notReady, seed: s.seed });
  plan.rollout = {
    ...plan.rollout,
    canary: s.canary ? { size: s.canary, bakeMs: 0, approve: false } : null,
    waves: s.waves,
    maxUnavailable: s.maxUnavailable,
    maxUnavailablePerAz: s.maxUnavailablePerAz,
    failures: { ...plan.rollout.failures, maxFailed: s.maxFailed },
  };
  return { fleet, plan };
}

function isPlanned(i: Instance, notReady: "skip" | "include"): boolean {
  if (i.state !== "running") return false;
  return notReady === "include" || (i.ssm === "Online" && i.targets.every((t) => t.state === "healthy"));
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function checkPlan(fleet: Fleet, plan: Pick<Plan, "rollout" | "fleet">, s: Settings): void {
  const planned = fleet.instances.filter((i) => isPlanned(i, s.notReady));
  const n = azCountsOf(planned);
  const azs = Object.keys(n);
  const N = planned.length;
  const W = resolveSize(s.maxUnavailable, N, azs.length);
  const cap: Record<string, number> = {};
  for (const az of azs) {
    const c = s.maxUnavailablePerAz;
    const nAz = n[az] as number;
    cap[az] = !c
      ? Math.min(W, nAz)
      : c.kind === "percent"
        ? resolveSize(c, nAz, 1)
        : Math.min(nAz, Math.max(1, c.count));
  }
  const canaryOk = (() => {
    const c = s.canary;
    if (!c || N === 0) return true;
    if (c.kind === "perAz") {
      const takes = azs.map((az) => Math.min(c.count, n[az] as number));
      return takes.every((t, k) => t <= (cap[azs[k] as string] as number)) && sum(takes) <= W;
    }
    const size = resolveSize(c, N, azs.length);
    return size <= W && size <= sum(azs.map((az) => Math.min(cap[az] as number, n[az] as number)));
  })();

  let result: WavePlan;
  try {
    result = planWaves(fleet, plan);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    // The only reasons a generated plan may be refused: nothing to roll, or a canary too big.
    expect(N === 0 || !canaryOk).toBe(true);
    return;
  }
  expect(N > 0 && canaryOk).toBe(true);

  // Exactly once: planned ∪ skipped = fleet, no instance twice.
  const waveIds = result.waves.flatMap((w) => w.instances.map((i) => i.id));
  expect(new Set(waveIds).size).toBe(waveIds.length);
  expect(waveIds.length).toBe(N);
  expect(new Set([...waveIds, ...result.skipped.map((x) => x.id)])).toEqual(
    new Set(fleet.instances.map((i) => i.id)),
  );
  expect(waveIds.length + result.skipped.length).toBe(fleet.instances.length);

  // Canary first, and only first.
  expect(result.waves.filter((w) => w.kind === "canary").length).toBe(s.canary ? 1 : 0);
  if (s.canary) expect(result.waves[0]?.kind).toBe("canary");

  // Caps hold in every wave; sizes follow the list (the last size repeating).
  expect(result.window.maxUnavailable).toBe(W);
  expect(result.window.perAz).toEqual(cap);
  const rem: Record<string, number> = { ...n };
  const list: Size[] = s.waves.length > 0 ? s.waves : [{ kind: "count", count: W }];
  let batch = 0;
  // Violations are collected (one expect per run keeps 12,000-instance cases fast).
  const bad: string[] = [];
  for (const w of result.waves) {
    const inWave = azCountsOf(w.instances);
    if (w.instances.length > W) bad.push(`wave ${w.index}: ${w.instances.length} > window ${W}`);
    for (const [az, k] of Object.entries(inWave)) {
      if (k > (cap[az] as number)) bad.push(`wave ${w.index}: ${k} of ${az} > cap ${cap[az]}`);
    }
    let expected: number;
    if (w.kind === "canary") {
      const c = s.canary as Size;
      if (c.kind === "perAz") {
        for (const az of azs) {
          const want = Math.min(c.count, n[az] as number);
          if ((inWave[az] ?? 0) !== want) bad.push(`canary: ${inWave[az] ?? 0} of ${az}, want ${want}`);
        }
      }
      expected =
        c.kind === "perAz"
          ? sum(azs.map((az) => Math.min(c.count, n[az] as number)))
          : resolveSize(c, N, azs.length);
    } else {
      const size = list[Math.min(batch++, list.length - 1)] as Size;
      expected =
        size.kind === "perAz"
          ? Math.min(W, sum(azs.map((az) => Math.min(size.count, cap[az] as number, rem[az] as number))))
          : Math.min(
              resolveSize(size, N, azs.length),
              W,
              sum(azs.map((az) => Math.min(cap[az] as number, rem[az] as number))),
            );
      if (size.kind === "perAz" && Object.values(inWave).some((k) => k > size.count)) {
        bad.push(`wave ${w.index}: more than ${size.count} from one AZ`);
      }
    }
    if (w.instances.length !== expected)
      bad.push(`wave ${w.index}: size ${w.instances.length}, want ${expected}`);
    for (const [az, k] of Object.entries(inWave)) rem[az] = (rem[az] as number) - k;
  }
  expect(bad).toEqual([]);

  // Deterministic: same seed, instances in another order → the same waves.
  const again = planWaves({ ...fleet, instances: [...fleet.instances].reverse() }, plan);
  expect(again.waves).toEqual(result.waves);
}

describe("wave planner properties", () => {
  it("holds on small fleets (1–6 uneven AZs, up to a few hundred instances)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 6 }),
        settings,
        (azSizes, s) => {
          const { fleet, plan } = build(azSizes, s);
          checkPlan(fleet, plan, s);
        },
      ),
      { numRuns: 250 },
    );
  });

  it("holds on large fleets (up to 12,000 instances)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 2_000 }), { minLength: 1, maxLength: 6 }),
        settings,
        (azSizes, s) => {
          const { fleet, plan } = build(azSizes, s);
          checkPlan(fleet, plan, s);
        },
      ),
      { numRuns: 30 },
    );
  });

  it("keeps every AZ within 2 instances of its proportional share after every wave", () => {
    // With no per-AZ cap and no per-AZ canary, the order alone spreads the AZs.
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 2, maxLength: 6 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer(),
        (azSizes, size, seed) => {
          const counts: Record<string, number> = {};
          azSizes.forEach((n, k) => {
            counts[AZ_NAMES[k] as string] = n;
          });
          const fleet = makeFleet(counts);
          const N = fleet.instances.length;
          const result = planWaves(
            fleet,
            makePlan({ canary: null, waves: [size], maxUnavailable: size, seed }),
          );
          const taken: Record<string, number> = {};
          let done = 0;
          let worst = 0;
          for (const w of result.waves) {
            for (const i of w.instances) taken[i.az] = (taken[i.az] ?? 0) + 1;
            done += w.instances.length;
            for (const [az, n] of Object.entries(counts)) {
              worst = Math.max(worst, Math.abs((taken[az] ?? 0) - (done * n) / N));
            }
          }
          expect(worst).toBeLessThan(2);
        },
      ),
      { numRuns: 150 },
    );
  });
});
