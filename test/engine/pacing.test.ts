import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { connectionCapacityCheck } from "../../src/engine/capacity.js";
import { decide } from "../../src/engine/decide.js";
import type { DecideContext, Observation } from "../../src/engine/decide-context.js";
import { burstFor, chargeDisplacement, paceVerdict, refill } from "../../src/engine/pacing.js";
import { type EngineState, type GlobalState, initialState } from "../../src/engine/state.js";
import { ManualClock } from "../../src/util/clock.js";
import { FakeAws } from "./fake-aws.js";
import { makeFleet, makePlan, metricConnections, TG_A } from "./fixtures.js";

function emptyGlobal(): GlobalState {
  const plan = makePlan();
  const { fleet, wavePlan } = makeFleet(new FakeAws(new ManualClock()), { n: 1 });
  return initialState(plan.name, "window", fleet, wavePlan, 0).global;
}

describe("displacement token bucket", () => {
  it("refills once per whole second at perMinute/60, up to a 20-second burst", () => {
    expect(burstFor(3000)).toBe(1000);
    const b = { tokens: 0, at: 10_000 };
    expect(refill(b, 10_999, 3000)).toEqual(b); // no whole second yet
    expect(refill(b, 11_000, 3000)).toEqual({ tokens: 50, at: 11_000 });
    expect(refill(b, 13_700, 3000)).toEqual({ tokens: 150, at: 13_000 });
    expect(refill(b, 60_000, 3000)).toEqual({ tokens: 1000, at: 60_000 }); // capped at the burst
  });

  it("starts a group on a full bucket, takes instances while it lasts, then waits until full", () => {
    const g = emptyGlobal();
    for (let k = 0; k < 5; k++) {
      expect(paceVerdict(g, 5_000, 180, 3000)).toEqual({ admit: true });
      chargeDisplacement(g, 5_000, 180, 3000);
    }
    expect(g.pacing).toEqual({ tokens: 100, at: 5_000 });
    // The group is over (100 < 180); the next starts when the bucket is full: 900 more, 18 s.
    const held = { admit: false, reason: "capacity: pacing displacement at 3000/min", retryAt: 23_000 };
    expect(paceVerdict(g, 5_000, 180, 3000)).toEqual(held);
    expect(paceVerdict(g, 9_400, 180, 3000)).toEqual(held);
    expect(paceVerdict(g, 23_000, 180, 3000)).toEqual({ admit: true });
  });

  it("lets an instance bigger than the burst go on a full bucket, then pays the debt", () => {
    const g = emptyGlobal();
    expect(paceVerdict(g, 0, 1500, 3000)).toEqual({ admit: true });
    chargeDisplacement(g, 0, 1500, 3000);
    expect(g.pacing?.tokens).toBe(-500);
    // Full again after 1,500 tokens: 30 s (the hard minute allows 1,680 ≤ 3,000).
    expect(paceVerdict(g, 1_000, 180, 3000)).toMatchObject({ admit: false, retryAt: 30_000 });
    expect(paceVerdict(g, 30_000, 180, 3000)).toEqual({ admit: true });
  });

  it("keeps the hard minute, telling when the oldest displacement stops counting", () => {
    const g = emptyGlobal();
    g.displaced = [
      { at: 1_000, n: 1500 },
      { at: 20_000, n: 1400 },
    ];
    g.pacing = { tokens: 1000, at: 40_000 };
    const v = paceVerdict(g, 40_000, 180, 3000);
    expect(v).toEqual({
      admit: false,
      reason: "capacity: displacing 180 more connections would exceed 3000/min (2900 in the last minute)",
      retryAt: 61_001,
    });
  });
});

/** A fleet of `n` instances past its canary, each carrying `conns(k)` connections, window wide open. */
function pacedRollout(n: number, perMinute: number, conns: (k: number) => number) {
  const plan = makePlan({ capacity: { connections: metricConnections(perMinute) } });
  const { fleet, wavePlan } = makeFleet(new FakeAws(new ManualClock()), {
    n,
    canary: 0,
    window: n,
    batch: n,
  });
  let state: EngineState = initialState(plan.name, "window", fleet, wavePlan, 0);
  const connections: Record<string, number> = {};
  fleet.instances.forEach((inst, k) => {
    connections[inst.id] = conns(k);
  });
  const check = connectionCapacityCheck(plan);
  if (!check) throw new Error("no capacity check");
  const admitted: { at: number; n: number }[] = [];
  const tick = (now: number) => {
    const ctx: DecideContext = {
      now,
      plan,
      window: wavePlan.window,
      maxFailed: 0,
      drainDelayMs: { [TG_A]: 300_000 },
      pollMs: 15_000,
      admission: [check],
      capacityWaitMs: 3_600_000,
      connections,
      // A fresh reading every tick: this test is about pacing, not about stale data.
      connectionsAt: now,
    };
    const obs: Observation = { at: now, health: {}, commands: {} };
    const d = decide(state, obs, ctx);
    for (const e of d.events) {
      if (e.type === "instance.phase" && e.from === "pending")
        admitted.push({ at: now, n: connections[e.id] ?? 0 });
    }
    state = d.state;
    return d;
  };
  return { tick, admitted, plan };
}

/** Connections displaced in the worst `spanMs` window starting at an admission. */
function worstWindow(admitted: { at: number; n: number }[], spanMs: number) {
  let worst = { sum: 0, count: 0 };
  for (const a of admitted) {
    const inside = admitted.filter((b) => b.at >= a.at && b.at < a.at + spanMs);
    const sum = inside.reduce((x, b) => x + b.n, 0);
    if (sum > worst.sum) worst = { sum, count: inside.length };
  }
  return worst;
}

describe("engine: displacement is paced continuously", () => {
  it("spreads admissions over the minute at the full budget, never more in any 60 s", () => {
    // 1,000 servers of 180 connections (capacity lets 200 out), 3,000/min, a tick every second
    // for 10 minutes.
    const r = pacedRollout(1000, 3000, () => 180);
    for (let t = 0; t <= 10 * 60_000; t += 1_000) r.tick(t);
    expect(worstWindow(r.admitted, 60_000).sum).toBeLessThanOrEqual(3000);
    // No minute-sized burst: any 20 s lets at most burst + 20 s of refill go (the minute window
    // released 16 servers, 2,880 connections, at once).
    expect(worstWindow(r.admitted, 20_000).sum).toBeLessThanOrEqual(2000);
    const perTick = new Map<number, number>();
    for (const a of r.admitted) perTick.set(a.at, (perTick.get(a.at) ?? 0) + 1);
    expect(Math.max(...perTick.values())).toBeLessThanOrEqual(5);
    // Groups leave every ~18 s, not every minute or two.
    const ticks = [...perTick.keys()].sort((a, b) => a - b);
    const gaps = ticks.slice(1).map((t, k) => t - (ticks[k] as number));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(25_000);
    // And the budget is used: 10 minutes × 3,000 / 180 ≈ 167 servers (the old minute window: about half).
    expect(r.admitted.length).toBeGreaterThanOrEqual(Math.floor(0.95 * ((10 * 3000) / 180)));
  });

  it("no paced hold is reported as a capacity gate", () => {
    // 50 servers of 40 connections, 600/min: everything fits, only pacing holds them.
    const r = pacedRollout(50, 600, () => 40);
    const gates: string[] = [];
    for (let t = 0; t <= 120_000; t += 1_000)
      for (const e of r.tick(t).events)
        if (e.type.startsWith("gate.")) gates.push(`${e.type} ${"message" in e ? e.message : ""}`);
    expect(r.admitted.length).toBeGreaterThan(25);
    expect(r.admitted.length).toBeLessThan(50);
    expect(gates).toEqual([]);
  });

  it("property: whatever the ticks and loads, no 60 s displaces more than the budget", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 900 }), { minLength: 30, maxLength: 30 }),
        fc.array(fc.integer({ min: 100, max: 9_000 }), { minLength: 100, maxLength: 100 }),
        fc.integer({ min: 600, max: 6_000 }),
        (loads, gaps, perMinute) => {
          const r = pacedRollout(30, perMinute, (k) => loads[k] ?? 0);
          let t = 0;
          for (const g of gaps) {
            t += g;
            r.tick(t);
          }
          for (const a of r.admitted) {
            const inside = r.admitted.filter((b) => b.at >= a.at && b.at < a.at + 60_000);
            const sum = inside.reduce((x, b) => x + b.n, 0);
            // One instance alone may exceed the budget (it would otherwise never go).
            if (inside.length > 1) expect(sum).toBeLessThanOrEqual(perMinute);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("engine: a freed slot is refilled in the same tick", () => {
  it("admits the next instance in the tick where the previous one is done", () => {
    const plan = makePlan();
    const { fleet, wavePlan } = makeFleet(new FakeAws(new ManualClock()), { n: 3, canary: 0, window: 1 });
    const s0 = initialState(plan.name, "window", fleet, wavePlan, 0);
    const a = s0.instances["i-00000"];
    if (!a) throw new Error("fixture");
    const state: EngineState = {
      ...s0,
      instances: {
        ...s0.instances,
        "i-00000": { ...a, phase: "warming", out: true, healthySince: 0, checkAt: 30_000, phaseSince: 0 },
      },
    };
    const ctx: DecideContext = {
      now: 30_000,
      plan,
      window: wavePlan.window,
      maxFailed: 0,
      drainDelayMs: { [TG_A]: 30_000 },
      pollMs: 15_000,
      admission: [],
      capacityWaitMs: 600_000,
    };
    const obs: Observation = {
      at: 30_000,
      health: { [TG_A]: { "i-00000": { id: "i-00000", state: "healthy" } } },
      commands: {},
    };
    const d = decide(state, obs, ctx);
    expect(d.state.instances["i-00000"]?.phase).toBe("done");
    expect(d.state.instances["i-00001"]?.phase).toBe("deregistering");
  });
});
