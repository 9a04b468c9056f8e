import { describe, expect, it } from "vitest";
import type { RolloutEvent } from "../../src/engine/events.js";
import type { RolloutOptions, RolloutResult } from "../../src/engine/run.js";
import { runRollout } from "../../src/engine/run.js";
import {
  batchHolds,
  batchKey,
  firstCommandPoll,
  healthReadyMs,
  nextCommandPoll,
  recordSlowest,
  recordStepDurations,
  scheduleCommandPoll,
  sleepUntilDue,
} from "../../src/engine/schedule.js";
import { type GlobalState, initialState } from "../../src/engine/state.js";
import { ManualClock } from "../../src/util/clock.js";
import { FakeAws } from "./fake-aws.js";
import { makeFleet, makePlan, metricConnections, TG_A } from "./fixtures.js";
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
    // Both done: the command's slowest (b, 20 s) is the step's first cohort estimate.
    expect(g.stepTimes?.deploy).toEqual({ ms: 12_000, n: 2, maxMs: 20_000 });
    expect(again.done).toEqual(["a", "b"]);
    // A poll after that changes nothing (each instance and each command is folded once).
    scheduleCommandPoll(g, again, {}, 30_000);
    expect(g.stepTimes?.deploy).toEqual({ ms: 12_000, n: 2, maxMs: 20_000 });
  });

  it("while batching, polls a command once its slowest instance is expected done", () => {
    const g = emptyGlobal();
    recordStepDurations(g, "deploy", [20_000]);
    // No slowest known yet: just after the mean, batching or not.
    expect(firstCommandPoll(g, "deploy", 0, true)).toBe(20_500);
    recordSlowest(g, "deploy", 45_000);
    recordSlowest(g, "deploy", 55_000); // EWMA, weight 0.2: 47 s
    expect(g.stepTimes?.deploy?.maxMs).toBe(47_000);
    expect(firstCommandPoll(g, "deploy", 0, true)).toBe(47_500);
    expect(firstCommandPoll(g, "deploy", 0, false)).toBe(20_500);
    // At most two minutes, however slow the step.
    recordSlowest(g, "deploy", 3_600_000);
    expect(firstCommandPoll(g, "deploy", 0, true)).toBe(120_000);
    // Nothing to learn from a step never observed.
    recordSlowest(g, "validate", 1_000);
    expect(g.stepTimes?.validate).toBeUndefined();
  });
});

type Subject = Parameters<typeof batchKey>[0];
const ready = (id: string, o: Partial<Subject> = {}): Subject => ({
  id,
  need: "command",
  step: "deploy",
  phase: "deploying",
  rollback: false,
  ...o,
});

describe("batch holds", () => {
  it("hold calls that others will share, never departures, rollbacks or failed instances", () => {
    expect(batchKey(ready("a"))).toBe("command:deploy");
    expect(batchKey(ready("a", { step: "close", phase: "draining" }))).toBe("command:close");
    expect(batchKey(ready("a", { step: "validate", phase: "validating" }))).toBe("command:validate");
    expect(batchKey(ready("a", { need: "register", step: undefined, phase: "registering" }))).toBe(
      "register",
    );
    expect(batchKey(ready("a", { step: "preDrain", phase: "preDrain" }))).toBeUndefined();
    expect(batchKey(ready("a", { need: "deregister", phase: "deregistering" }))).toBeUndefined();
    expect(batchKey(ready("a", { rollback: true }))).toBeUndefined();
    expect(batchKey(ready("a", { step: "rollback", phase: "rollingBack" }))).toBeUndefined();
    expect(batchKey(ready("a", { need: "register", phase: "failed" }))).toBeUndefined();
    expect(batchKey(ready("a", { reattach: true }))).toBeUndefined();
    expect(batchKey(ready("a", { need: null }))).toBeUndefined();
  });

  it("holds a group until its first member waited the hold, then releases all of it", () => {
    const group = [ready("a", { needSince: 0 }), ready("b", { needSince: 18_000 }), ready("c")];
    const early = batchHolds(group, 20_000, true, 30_000);
    expect([...early.held].sort()).toEqual(["a", "b", "c"]);
    expect(early.releaseAt).toBe(30_000);
    const due = batchHolds(group, 30_000, true, 30_000);
    expect(due.held.size).toBe(0);
    expect(due.releaseAt).toBe(Number.POSITIVE_INFINITY);
    // Groups are separate: a register group that just formed keeps waiting.
    const mixed = batchHolds(
      [...group, ready("r", { need: "register", step: undefined, phase: "registering", needSince: 25_000 })],
      30_000,
      true,
      30_000,
    );
    expect([...mixed.held]).toEqual(["r"]);
    expect(mixed.releaseAt).toBe(55_000);
  });

  it("releases a full SendCommand at once, and holds nothing when batching does not pay", () => {
    const fifty = Array.from({ length: 50 }, (_, k) => ready(`i-${k}`));
    expect(batchHolds(fifty, 0, true).held.size).toBe(0);
    expect(batchHolds(fifty.slice(1), 0, true).held.size).toBe(49);
    expect(batchHolds(fifty.slice(1), 0, false).held.size).toBe(0);
  });

  it("property: nothing waits longer than the hold, and nothing held is alone in a full call", () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const steps = ["close", "deploy", "validate", "preDrain"] as const;
    for (let run = 0; run < 200; run++) {
      const now = 100_000;
      const subjects = Array.from({ length: 1 + Math.floor(rnd() * 60) }, (_, k) => {
        const step = steps[Math.floor(rnd() * steps.length)];
        const o: Partial<Subject> = { step };
        if (rnd() < 0.7) o.needSince = now - Math.floor(rnd() * 40_000);
        return ready(`i-${k}`, o);
      });
      const { held, releaseAt } = batchHolds(subjects, now, true, 30_000);
      for (const i of subjects) {
        if (!held.has(i.id)) continue;
        expect(i.step).not.toBe("preDrain");
        // Held: its group's first member has waited less than the hold, and the group is not full.
        const group = subjects.filter((j) => j.step === i.step);
        expect(group.length).toBeLessThan(50);
        expect(Math.min(...group.map((j) => j.needSince ?? now))).toBeGreaterThan(now - 30_000);
        expect(releaseAt).toBeLessThanOrEqual(now + 30_000);
        expect(releaseAt).toBeGreaterThan(now);
      }
    }
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

describe("engine: calls are shared while more instances are still to leave", () => {
  // 31 servers of 100 connections, 900 displaced a minute: the bucket (300) lets groups of three
  // leave every 20 s, into a window of 16 (capacity would allow 17) that they never fill.
  const paced = makePlan({
    capacity: { connections: metricConnections(900) },
    steps: { validate: { commands: ["curl -fsS http://127.0.0.1/healthz"], timeoutMs: 60_000 } },
    rollout: { maxUnavailable: { kind: "count", count: 16 } },
  });
  const runPaced = async (extra: Partial<RolloutOptions>) => {
    const h = harness({ n: 31, canary: 1, batch: 30, window: 16 }, paced, {
      commandMs: 5_000,
      drainDelayMs: 10_000,
    });
    for (const id of h.aws.instances.keys()) h.aws.connections[id] = 100;
    const r = await driveFine(h, runRollout(options(h, { pollMs: 15_000, ...extra })));
    return { h, r };
  };
  const sends = (h: Harness, step: string) =>
    h.aws.mutations
      .filter((m) => m.action === "SSM.SendCommand" && m.detail.includes(step))
      .map((m) => ({ at: m.at, ids: (m.detail.split(" ")[1] ?? "").split(",") }));

  it("merges paced groups into larger calls, holds no instance past the hold, and none at the end", async () => {
    const { h, r } = await runPaced({});
    expect(r.status).toBe("succeeded");
    expect(r.instances.succeeded).toBe(31);
    const deploys = sends(h, "deploy v2");
    const deployed = deploys.flatMap((d) => d.ids);
    expect(new Set(deployed).size).toBe(31);
    const last = Math.max(
      ...h.events.filter((e) => e.type === "instance.phase" && e.from === "pending").map((e) => e.at),
    );
    // Departures leave three at a time; while more are to come, the deploys carry more than that.
    const whileBatching = deploys.slice(1).filter((d) => d.at < last);
    expect(whileBatching.length).toBeGreaterThan(1);
    const mean = whileBatching.reduce((a, d) => a + d.ids.length, 0) / whileBatching.length;
    expect(mean).toBeGreaterThan(4);
    // Ready (drained) to sent: never longer than the 30 s hold plus one tick.
    const drained = phaseTimes(h.events, "draining", "deploying");
    for (const d of deploys)
      for (const id of d.ids) {
        const wait = d.at - (drained.get(id) as number);
        expect(wait).toBeLessThanOrEqual(30_000 + 5_000);
        // Once nothing is left to leave, nothing waits to be batched.
        if ((drained.get(id) as number) > last) expect(wait).toBeLessThanOrEqual(1_000);
      }
  });

  it("costs fewer calls than the same rollout without holds or read slack", async () => {
    const batched = await runPaced({});
    const eager = await runPaced({ batchHoldMs: 0, readSlackMs: 0 });
    expect(eager.r.status).toBe("succeeded");
    const per = (x: { r: RolloutResult }) => x.r.apiCalls.total / 31;
    expect(per(batched), JSON.stringify(batched.r.apiCalls.byAction)).toBeLessThan(per(eager));
    const sc = (x: { r: RolloutResult }) => x.r.apiCalls.byAction["SSM.SendCommand"] ?? 0;
    expect(sc(batched)).toBeLessThan(sc(eager));
  });
});
