import { describe, expect, it } from "vitest";
import type { RolloutEvent } from "../../src/engine/events.js";
import type { RolloutOptions, RolloutResult } from "../../src/engine/run.js";
import { runRollout } from "../../src/engine/run.js";
import {
  batchHolds,
  batchKey,
  firstCommandPoll,
  healthReadyMs,
  mergeStep,
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
/** Ready for drain.closeCommand (drained), having left service at `left`. */
const ready = (id: string, left: number, o: Partial<Subject> = {}): Subject => ({
  id,
  need: "command",
  step: "close",
  phase: "draining",
  phaseSince: left,
  rollback: false,
  ...o,
});
/** Still draining, left service at `left`. */
const draining = (id: string, left: number): Subject => ({
  id,
  need: null,
  phase: "draining",
  phaseSince: left,
  rollback: false,
});

describe("batch holds", () => {
  it("merge at the first command after the drain, and hold nothing else", () => {
    expect(mergeStep(true)).toBe("close");
    expect(mergeStep(false)).toBe("deploy");
    expect(batchKey(ready("a", 0), "close")).toBe(true);
    expect(batchKey(ready("a", 0, { step: "deploy", phase: "deploying" }), "deploy")).toBe(true);
    expect(batchKey(ready("a", 0, { step: "deploy", phase: "deploying" }), "close")).toBe(false);
    expect(batchKey(ready("a", 0, { step: "validate", phase: "validating" }), "close")).toBe(false);
    expect(
      batchKey(ready("a", 0, { need: "register", step: undefined, phase: "registering" }), "close"),
    ).toBe(false);
    expect(batchKey(ready("a", 0, { step: "preDrain", phase: "preDrain" }), "close")).toBe(false);
    expect(batchKey(ready("a", 0, { need: "deregister", phase: "deregistering" }), "close")).toBe(false);
    expect(batchKey(ready("a", 0, { rollback: true }), "close")).toBe(false);
    expect(batchKey(ready("a", 0, { phase: "failed" }), "close")).toBe(false);
    expect(batchKey(ready("a", 0, { reattach: true }), "close")).toBe(false);
  });

  it("waits for instances that left service within the hold, then releases the whole group", () => {
    // a and b drained (they left at 0 s); c left 18 s later and is still draining; d left at 40 s.
    const early = [
      ready("a", 0, { needSince: 120_000 }),
      ready("b", 0),
      draining("c", 18_000),
      draining("d", 40_000),
    ];
    const h = batchHolds(early, 125_000, true, "close", 30_000);
    expect([...h.held].sort()).toEqual(["a", "b"]);
    expect(h.releaseAt).toBe(150_000);
    // c is drained: no partner is due within the hold any more (d left 40 s after a): all go now.
    const joined = [
      ready("a", 0, { needSince: 120_000 }),
      ready("b", 0),
      ready("c", 18_000),
      draining("d", 40_000),
    ];
    expect(batchHolds(joined, 138_000, true, "close", 30_000).held.size).toBe(0);
    // However many partners are still to come, nobody waits past the hold.
    const late = [ready("a", 0, { needSince: 120_000 }), draining("c", 18_000)];
    expect(batchHolds(late, 149_999, true, "close", 30_000).held.size).toBe(1);
    expect(batchHolds(late, 150_000, true, "close", 30_000).held.size).toBe(0);
  });

  it("releases a full SendCommand at once, and holds nothing when batching does not pay", () => {
    const fifty = [...Array.from({ length: 50 }, (_, k) => ready(`i-${k}`, 0)), draining("x", 1_000)];
    expect(batchHolds(fifty, 120_000, true, "close").held.size).toBe(0);
    expect(batchHolds(fifty.slice(1), 120_000, true, "close").held.size).toBe(49);
    expect(batchHolds(fifty.slice(1), 120_000, false, "close").held.size).toBe(0);
    expect(batchHolds(fifty.slice(1), 120_000, true, "close", 0).held.size).toBe(0);
  });

  it("property: nothing waits past the hold, nothing waits without a partner due, nothing else is held", () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const kinds = ["close", "deploy", "draining", "preDrain"] as const;
    for (let run = 0; run < 300; run++) {
      const now = 200_000;
      const subjects = Array.from({ length: 1 + Math.floor(rnd() * 60) }, (_, k) => {
        const kind = kinds[Math.floor(rnd() * kinds.length)];
        const left = now - Math.floor(rnd() * 200_000);
        if (kind === "draining") return draining(`i-${k}`, left);
        const o: Partial<Subject> = {};
        if (kind === "deploy") Object.assign(o, { step: "deploy", phase: "deploying" });
        if (kind === "preDrain") Object.assign(o, { step: "preDrain", phase: "preDrain" });
        if (rnd() < 0.7) o.needSince = now - Math.floor(rnd() * 40_000);
        return ready(`i-${k}`, left, o);
      });
      const { held, releaseAt } = batchHolds(subjects, now, true, "close", 30_000);
      const group = subjects.filter((i) => batchKey(i, "close"));
      for (const i of subjects) {
        if (!held.has(i.id)) continue;
        expect(i.step).toBe("close");
        expect(group.length).toBeLessThan(50);
        expect(Math.min(...group.map((j) => j.needSince ?? now))).toBeGreaterThan(now - 30_000);
        const first = Math.min(...group.map((j) => j.phaseSince));
        expect(subjects.some((j) => j.need === null && j.phaseSince <= first + 30_000)).toBe(true);
        expect(releaseAt).toBeLessThanOrEqual(now + 30_000);
        expect(releaseAt).toBeGreaterThan(now);
      }
      // All or nothing: a group is never split by a hold.
      expect(held.size === 0 || held.size === group.length).toBe(true);
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
