import { describe, expect, it } from "vitest";
import type { RolloutEvent } from "../../src/engine/events.js";
import type { RolloutResult } from "../../src/engine/run.js";
import { runRollout } from "../../src/engine/run.js";
import {
  firstCommandPoll,
  healthReadyMs,
  nextCommandPoll,
  recordStepDurations,
  scheduleCommandPoll,
  sleepUntilDue,
} from "../../src/engine/schedule.js";
import { type GlobalState, initialState } from "../../src/engine/state.js";
import { ManualClock } from "../../src/util/clock.js";
import { FakeAws } from "./fake-aws.js";
import { makeFleet, makePlan, TG_A } from "./fixtures.js";
import type { Harness } from "./harness.js";
import { harness, options } from "./harness.js";

function emptyGlobal(): GlobalState {
  const plan = makePlan();
  const { fleet, wavePlan } = makeFleet(new FakeAws(new ManualClock()), { n: 1 });
  return initialState(plan.name, "window", fleet, wavePlan, 0).global;
}

describe("command polls by expectation", () => {
  it("learns a step's duration across the fleet and polls just after it", () => {
    const g = emptyGlobal();
    // Nothing observed yet: a first look after 2 s.
    expect(firstCommandPoll(g, "deploy", 100_000)).toBe(102_000);
    recordStepDurations(g, "deploy", [20_000]);
    expect(g.stepTimes?.deploy).toEqual({ ms: 20_000, n: 1 });
    recordStepDurations(g, "deploy", [30_000]); // EWMA, weight 0.2
    expect(g.stepTimes?.deploy).toEqual({ ms: 22_000, n: 2 });
    expect(firstCommandPoll(g, "deploy", 100_000)).toBe(122_500);
    // A 0.1 s command is looked at after a second, not 15.
    recordStepDurations(g, "validate", [100]);
    expect(firstCommandPoll(g, "validate", 100_000)).toBe(101_000);
  });

  it("backs off for a command still running: a quarter of the time waited, 1 s to 30 s", () => {
    const g = emptyGlobal();
    recordStepDurations(g, "deploy", [20_000]);
    // Polled early at 8 s: the next look is just after the expected finish, not 2 s later.
    expect(nextCommandPoll(g, "deploy", 0, 8_000)).toBe(2_000 + 8_000);
    expect(nextCommandPoll(g, "deploy", 0, 18_000)).toBe(18_000 + 2_500);
    // Past the expectation: a quarter of the time waited.
    expect(nextCommandPoll(g, "deploy", 0, 40_000)).toBe(50_000);
    expect(nextCommandPoll(g, "deploy", 0, 600_000)).toBe(630_000);
    expect(nextCommandPoll(g, "validate", 0, 1_000)).toBe(2_000);
  });

  it("folds each instance's success once, from the agent's finish time", () => {
    const g = emptyGlobal();
    const c = { id: "c1", step: "deploy" as const, ids: ["a", "b"], sentAt: 0, nextPollAt: 0 };
    const first = scheduleCommandPoll(
      g,
      c,
      {
        a: { instanceId: "a", status: "Success", statusDetails: "Success", finishedAt: 10_000 },
        b: { instanceId: "b", status: "InProgress", statusDetails: "InProgress" },
      },
      12_000,
    );
    expect(g.stepTimes?.deploy).toEqual({ ms: 10_000, n: 1 });
    const again = scheduleCommandPoll(
      g,
      first,
      {
        a: { instanceId: "a", status: "Success", statusDetails: "Success", finishedAt: 10_000 },
        b: { instanceId: "b", status: "Success", statusDetails: "Success", finishedAt: 20_000 },
      },
      21_000,
    );
    expect(g.stepTimes?.deploy).toEqual({ ms: 12_000, n: 2 });
    expect(again.done).toEqual(["a", "b"]);
  });
});

describe("health and sleep timing", () => {
  it("waits interval × healthyThreshold of the slowest group, or the poll interval when unknown", () => {
    const checks = {
      a: { intervalMs: 10_000, healthyThreshold: 3 },
      b: { intervalMs: 5_000, healthyThreshold: 2 },
    };
    expect(healthReadyMs(["a", "b"], checks, 15_000)).toBe(31_000);
    expect(healthReadyMs(["b"], checks, 15_000)).toBe(11_000);
    expect(healthReadyMs(["a", "unknown"], checks, 15_000)).toBe(15_000);
  });

  it("sleeps until the next due time, at least 250 ms, at most a tick", () => {
    expect(sleepUntilDue(3_200, 5_000)).toBe(3_200);
    expect(sleepUntilDue(-10, 5_000)).toBe(250);
    expect(sleepUntilDue(60_000, 5_000)).toBe(5_000);
    expect(sleepUntilDue(Number.POSITIVE_INFINITY, 5_000)).toBe(5_000);
  });
});

/** Drive a run in 250 ms steps (the engine's shortest sleep), so timings are exact. */
async function driveFine(h: Harness, run: Promise<RolloutResult>): Promise<RolloutResult> {
  let out: { r?: RolloutResult; e?: unknown } | undefined;
  run.then(
    (r) => {
      out = { r };
    },
    (e) => {
      out = { e };
    },
  );
  let idle = 0;
  for (let t = 0; !out && t < 6 * 3_600_000; ) {
    if (h.clock.pending === 0) {
      if (++idle > 5_000) throw new Error("the engine neither sleeps nor finishes");
      await new Promise((r) => setTimeout(r, 1));
      continue;
    }
    idle = 0;
    await h.clock.advance(5_000);
    t += 5_000;
  }
  if (!out?.r) throw out?.e ?? new Error("did not finish");
  return out.r;
}

function phaseTimes(events: RolloutEvent[], from: string, to: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of events)
    if (e.type === "instance.phase" && e.from === from && e.to === to) m.set(e.id, e.at);
  return m;
}

describe("engine: reads are scheduled by expectation", () => {
  const plan = makePlan({
    steps: { validate: { commands: ["curl -fsS http://127.0.0.1/healthz"], timeoutMs: 60_000 } },
    health: { stableForMs: 30_000 },
  });

  it("moves on within a second or two of a command's end, once the step's duration is known", async () => {
    const h = harness({ n: 13, canary: 1, batch: 4, window: 4 }, plan, { commandMs: 7_300 });
    const r = await driveFine(h, runRollout(options(h, { pollMs: 15_000 })));
    expect(r.status).toBe("succeeded");
    const sends = h.aws.mutations.filter((m) => m.action === "SSM.SendCommand" && m.detail.includes("curl"));
    const done = phaseTimes(h.events, "validating", "registering");
    // After the canary's validate (the first observation), every validate is read ≤ 1.5 s after its end.
    const lags: number[] = [];
    for (const s of sends.slice(1)) {
      const ids = (s.detail.split(" ")[1] ?? "").split(",");
      for (const id of ids) lags.push((done.get(id) as number) - (s.at + 7_300));
    }
    expect(lags.length).toBe(12);
    for (const l of lags) expect(l).toBeLessThanOrEqual(1_500);
    // Each command was listed once, except the canary's two (their step durations were unknown).
    expect(r.apiCalls.byAction["SSM.ListCommandInvocations"]).toBe(3 + 3 + 6);
  });

  it("reads health once interval × threshold can have passed, and ends stableFor exactly on time", async () => {
    const h = harness({ n: 5, canary: 1, batch: 4, window: 4 }, plan, { healthyAfterMs: 25_000 });
    for (const tg of h.fleet.targetGroups) tg.healthCheck = { intervalSeconds: 10, healthyThreshold: 3 };
    const r = await driveFine(h, runRollout(options(h, { pollMs: 15_000 })));
    expect(r.status).toBe("succeeded");
    const registered = new Map<string, number>();
    for (const m of h.aws.mutations)
      if (m.action === "ELBv2.RegisterTargets")
        for (const id of m.detail.match(/i-\d+/g) ?? []) registered.set(id, m.at);
    const healthy = phaseTimes(h.events, "registering", "warming");
    const done = phaseTimes(h.events, "warming", "done");
    for (const [id, at] of registered) {
      // One read at 10 s × 3 + 1 s, and it is healthy then (the fake turns healthy at 25 s).
      expect((healthy.get(id) as number) - at).toBe(31_000);
      expect((done.get(id) as number) - (healthy.get(id) as number)).toBe(30_000);
    }
    expect(registered.size).toBe(5);
    void TG_A;
  });
});
