import { describe, expect, it } from "vitest";
import type { TargetHealthDescription } from "../../src/aws/types.js";
import { connectionCapacityCheck } from "../../src/engine/capacity.js";
import { decide, reopen } from "../../src/engine/decide.js";
import type { DecideContext, Observation } from "../../src/engine/decide-context.js";
import { ResumeRefusedError } from "../../src/engine/errors.js";
import { commandFailureReason } from "../../src/engine/instance-step.js";
import { type EngineState, type InstanceRun, initialState } from "../../src/engine/state.js";
import type { Plan } from "../../src/plan/types.js";
import { ManualClock } from "../../src/util/clock.js";
import { FakeAws } from "./fake-aws.js";
import { makeFleet, makePlan, metricConnections, TG_A, TG_B } from "./fixtures.js";

const NOW = 1_000_000;

function setup(o: Parameters<typeof makeFleet>[1], plan: Plan = makePlan()) {
  const aws = new FakeAws(new ManualClock());
  const { fleet, wavePlan } = makeFleet(aws, o);
  const state = initialState(plan.name, plan.rollout.strategy, fleet, wavePlan, 0);
  const ctx: DecideContext = {
    now: NOW,
    plan,
    window: wavePlan.window,
    maxFailed: wavePlan.maxFailed,
    drainDelayMs: { [TG_A]: 30_000, [TG_B]: 30_000 },
    pollMs: 10_000,
    admission: [],
    capacityWaitMs: 600_000,
  };
  return { state, ctx };
}

const obs = (o: Partial<Observation> = {}): Observation => ({ at: NOW, health: {}, commands: {}, ...o });

function put(s: EngineState, id: string, patch: Partial<InstanceRun>): EngineState {
  const i = s.instances[id] as InstanceRun;
  return { ...s, instances: { ...s.instances, [id]: { ...i, ...patch } } };
}

/** Canary done and baked: the rest of the fleet may start. */
function pastCanary(s: EngineState): EngineState {
  const out = put(s, "i-00000", { phase: "done" });
  out.global = {
    ...out.global,
    waves: out.global.waves.map((w) => (w.kind === "canary" ? { ...w, started: true, finished: true } : w)),
    canary: { ...out.global.canary, baked: true },
  };
  return out;
}

function phases(s: EngineState): Record<string, string> {
  return Object.fromEntries(Object.values(s.instances).map((i) => [i.id, i.phase]));
}

const leaving = (s: EngineState) =>
  Object.values(s.instances)
    .filter((i) => i.phase === "deregistering")
    .map((i) => i.id);

function health(entries: Record<string, TargetHealthDescription["state"] | undefined>, reason?: string) {
  const m: Record<string, TargetHealthDescription> = {};
  for (const [id, state] of Object.entries(entries))
    if (state) m[id] = reason ? { id, state, reason } : { id, state };
  return m;
}

describe("decide: admissions", () => {
  it("starts only the canary while the canary is not through, however large the window", () => {
    const { state, ctx } = setup({ n: 10, canary: 1, window: 5 });
    const d = decide(state, obs(), ctx);
    expect(leaving(d.state)).toEqual(["i-00000"]);
    expect(d.state.instances["i-00000"]?.need).toBe("deregister");
  });

  it("never takes more instances out of service than the window", () => {
    const { state, ctx } = setup({ n: 10, canary: 1, window: 3 });
    const d = decide(pastCanary(state), obs(), ctx);
    expect(leaving(d.state)).toHaveLength(3);
  });

  it("never exceeds an AZ's cap, taking the next instance from another AZ instead", () => {
    const { state, ctx } = setup({ n: 13, canary: 1, window: 5, perAz: 1 });
    const d = decide(pastCanary(state), obs(), ctx);
    const azs = leaving(d.state).map((id) => d.state.instances[id]?.az);
    expect(azs).toHaveLength(3);
    expect(new Set(azs).size).toBe(3);
  });

  it("counts failed instances kept out of service against the window", () => {
    const { state, ctx } = setup({ n: 10, canary: 1, window: 3, maxFailed: 5 });
    const s = put(pastCanary(state), "i-00001", { phase: "failed", out: true });
    const d = decide(s, obs(), ctx);
    expect(leaving(d.state)).toHaveLength(2);
  });

  it("in strategy waves, does not start the next wave while the current one has instances in flight", () => {
    const plan = makePlan({ rollout: { strategy: "waves" } });
    const { state, ctx } = setup({ n: 9, canary: 1, batch: 4, window: 8 }, plan);
    let s = pastCanary(state);
    s.global.strategy = "waves";
    // Wave 1 (i-00001..4): two done, two in flight; wave 2 must wait although 6 slots are free.
    s = put(s, "i-00001", { phase: "done" });
    s = put(s, "i-00002", { phase: "done" });
    s = put(s, "i-00003", { phase: "deploying", out: true, step: "deploy", commandId: "c1" });
    s = put(s, "i-00004", { phase: "draining", out: true, checkAt: NOW + 1e6 });
    s.global.waves = s.global.waves.map((w) => (w.index === 1 ? { ...w, started: true } : w));
    const d = decide(s, obs(), ctx);
    expect(leaving(d.state)).toEqual([]);
  });

  it("in strategy window, starts the next wave as soon as a slot frees up", () => {
    const { state, ctx } = setup({ n: 9, canary: 1, batch: 4, window: 3 });
    let s = pastCanary(state);
    s = put(s, "i-00001", { phase: "done" });
    s = put(s, "i-00002", { phase: "done" });
    s = put(s, "i-00003", { phase: "done" });
    s = put(s, "i-00004", { phase: "draining", out: true, checkAt: NOW + 1e6 });
    const d = decide(s, obs(), ctx);
    expect(leaving(d.state)).toEqual(["i-00005", "i-00006"]);
  });

  it("holds an instance back when an admission check says no, and says why", () => {
    const { state, ctx } = setup({ n: 5, canary: 1, window: 3 });
    ctx.admission = [() => ({ admit: false, reason: "capacity: not enough room" })];
    const d = decide(pastCanary(state), obs(), ctx);
    expect(leaving(d.state)).toEqual([]);
    expect(d.events).toContainEqual(
      expect.objectContaining({
        type: "gate.waiting",
        gate: "capacity",
        message: "capacity: not enough room",
      }),
    );
  });
});

describe("decide: draining", () => {
  function draining(extra: Partial<InstanceRun> = {}, twoGroups = false) {
    const { state, ctx } = setup({ n: 3, canary: 1, window: 1, twoGroups });
    const s = put(state, "i-00000", {
      phase: "draining",
      out: true,
      checkAt: NOW,
      deadline: NOW + 600_000,
      ...extra,
    });
    s.global.waves[0] = { ...(s.global.waves[0] as EngineState["global"]["waves"][number]), started: true };
    return { s, ctx };
  }

  it("never deploys while any target group still routes new connections to the instance", () => {
    const { s, ctx } = draining({}, true);
    const d = decide(
      s,
      obs({ health: { [TG_A]: health({ "i-00000": undefined }), [TG_B]: health({ "i-00000": "healthy" }) } }),
      ctx,
    );
    expect(d.state.instances["i-00000"]?.phase).toBe("draining");
    expect(d.state.instances["i-00000"]?.need).toBe("deregister");
  });

  it("waits while a group shows the target draining", () => {
    const { s, ctx } = draining({}, true);
    const d = decide(
      s,
      obs({ health: { [TG_A]: health({}), [TG_B]: health({ "i-00000": "draining" }) } }),
      ctx,
    );
    expect(d.state.instances["i-00000"]?.phase).toBe("draining");
    expect(d.state.instances["i-00000"]?.need).toBeNull();
  });

  it("does not move on when only some of its groups were observed", () => {
    const { s, ctx } = draining({}, true);
    const d = decide(s, obs({ health: { [TG_A]: health({}) } }), ctx);
    expect(d.state.instances["i-00000"]?.phase).toBe("draining");
  });

  it("deploys once the target is unused or gone in every group", () => {
    const { s, ctx } = draining({}, true);
    const d = decide(
      s,
      obs({ health: { [TG_A]: health({ "i-00000": "unused" }), [TG_B]: health({}) } }),
      ctx,
    );
    expect(d.state.instances["i-00000"]).toMatchObject({
      phase: "deploying",
      need: "command",
      step: "deploy",
    });
  });

  it("ends the drain early when the drain predicate says the connections are gone", () => {
    const { s, ctx } = draining();
    ctx.drainDone = ({ connections }) => connections !== undefined && connections <= 5;
    const o = obs({ health: { [TG_A]: health({ "i-00000": "draining" }) }, connections: { "i-00000": 3 } });
    expect(decide(s, o, ctx).state.instances["i-00000"]?.phase).toBe("deploying");
    const o2 = obs({ health: { [TG_A]: health({ "i-00000": "draining" }) }, connections: { "i-00000": 40 } });
    expect(decide(s, o2, ctx).state.instances["i-00000"]?.phase).toBe("draining");
  });

  it("fails the instance (and keeps it out) when the drain outlives drain.timeout", () => {
    const { s, ctx } = draining({ deadline: NOW - 1 });
    const d = decide(s, obs({ health: { [TG_A]: health({ "i-00000": "draining" }) } }), ctx);
    expect(d.state.instances["i-00000"]).toMatchObject({ phase: "failed", out: true });
    expect(d.state.instances["i-00000"]?.reason).toMatch(
      /drain did not finish within 10m: draining.* in relay-a/,
    );
  });
});

describe("decide: commands and health", () => {
  function inPhase(patch: Partial<InstanceRun>, plan?: Plan) {
    const { state, ctx } = setup({ n: 3, canary: 1, window: 1 }, plan);
    const s = put(state, "i-00000", { out: true, deadline: NOW + 600_000, ...patch });
    return { s, ctx };
  }

  it("starts a step's deadline when its SendCommand succeeded, not when it was decided", () => {
    // Decided an hour ago (SendCommand kept failing), sent 10 minutes ago; deploy timeout 5 min →
    // the engine's deadline is 2 × 5 min + 1 min = 11 min after the send.
    const { s: s0, ctx } = inPhase({
      phase: "deploying",
      step: "deploy",
      commandId: "c1",
      phaseSince: NOW - 3_600_000,
      deadline: NOW - 3_600_000 + 660_000,
    });
    const s = {
      ...s0,
      global: {
        ...s0.global,
        commands: {
          c1: { id: "c1", step: "deploy" as const, ids: ["i-00000"], sentAt: NOW - 600_000, nextPollAt: NOW },
        },
      },
    };
    const running: Observation["commands"] = {
      c1: { "i-00000": { instanceId: "i-00000", status: "InProgress", statusDetails: "InProgress" } },
    };
    const d = decide(s, obs({ commands: running }), ctx);
    expect(d.state.instances["i-00000"]).toMatchObject({ phase: "deploying", deadline: NOW + 60_000 });
    const late = decide(d.state, obs({ at: NOW + 61_000, commands: running }), { ...ctx, now: NOW + 61_000 });
    expect(late.state.instances["i-00000"]?.phase).toBe("failed");
  });

  it("treats an invocation not listed yet as not-yet, not as a failure", () => {
    const { s, ctx } = inPhase({ phase: "deploying", step: "deploy", commandId: "c1" });
    const d = decide(s, obs({ commands: { c1: {} } }), ctx);
    expect(d.state.instances["i-00000"]?.phase).toBe("deploying");
  });

  it("registers in every group after a successful deploy when there is no validate step", () => {
    const { s, ctx } = inPhase({ phase: "deploying", step: "deploy", commandId: "c1" });
    const d = decide(
      s,
      obs({
        commands: {
          c1: { "i-00000": { instanceId: "i-00000", status: "Success", statusDetails: "Success" } },
        },
      }),
      ctx,
    );
    expect(d.state.instances["i-00000"]).toMatchObject({ phase: "registering", need: "register" });
  });

  it("fails with the exit code and the first lines of stderr", () => {
    const { s, ctx } = inPhase({ phase: "deploying", step: "deploy", commandId: "c1" });
    const inv = {
      instanceId: "i-00000",
      status: "Failed" as const,
      statusDetails: "Failed",
      responseCode: 2,
      stderr: "E: disk full\nline 2\nline 3\nline 4",
    };
    const d = decide(s, obs({ commands: { c1: { "i-00000": inv } } }), ctx);
    expect(d.state.instances["i-00000"]?.reason).toBe(
      "deploy: the command failed with exit code 2 (Failed): E: disk full | line 2 | line 3",
    );
  });

  it.each([
    ["Undeliverable", "Failed", /SSM could not deliver the command/],
    ["Delivery Timed Out", "TimedOut", /did not pick up the command/],
    ["Execution Timed Out", "TimedOut", /ran past its timeout of 5m/],
    ["Terminated", "Failed", /terminated/],
    ["Cancelled", "Cancelled", /cancelled/],
  ] as const)("maps %s to a clear reason", (details, status, re) => {
    expect(
      commandFailureReason("deploy", { instanceId: "i", status, statusDetails: details }, 300_000),
    ).toMatch(re);
  });

  it("checks EC2 before blaming the agent for an Undeliverable command, then skips a terminated instance", () => {
    const { s, ctx } = inPhase({ phase: "deploying", step: "deploy", commandId: "c1" });
    const inv = { instanceId: "i-00000", status: "Failed" as const, statusDetails: "Undeliverable" };
    const d1 = decide(s, obs({ commands: { c1: { "i-00000": inv } } }), ctx);
    expect(d1.state.instances["i-00000"]).toMatchObject({ phase: "deploying", suspect: true });
    const d2 = decide(d1.state, obs({ ec2: { "i-00000": "terminated" } }), ctx);
    expect(d2.state.instances["i-00000"]).toMatchObject({ phase: "skipped" });
    expect(d2.state.instances["i-00000"]?.reason).toMatch(/terminated/);
  });

  it("counts warming as done only after stableFor healthy in all groups", () => {
    const { s, ctx } = inPhase({ phase: "warming", healthySince: NOW - 10_000 });
    const healthy = obs({ health: { [TG_A]: health({ "i-00000": "healthy" }) } });
    expect(decide(s, healthy, ctx).state.instances["i-00000"]?.phase).toBe("warming");
    const later = decide(s, healthy, { ...ctx, now: NOW + 25_000 });
    expect(later.state.instances["i-00000"]).toMatchObject({ phase: "done", out: false });
  });

  it("goes back to registering when the target flaps during warming", () => {
    const { s, ctx } = inPhase({ phase: "warming", healthySince: NOW - 10_000 });
    const d = decide(s, obs({ health: { [TG_A]: health({ "i-00000": "unhealthy" }) } }), ctx);
    expect(d.state.instances["i-00000"]?.phase).toBe("registering");
    expect(d.events).toContainEqual(
      expect.objectContaining({
        type: "instance.phase",
        to: "registering",
        detail: expect.stringMatching(/flapped/),
      }),
    );
  });

  it("fails at the alarm gate when a listed alarm does not exist, rather than passing silently", () => {
    const plan = makePlan({ health: { alarms: ["relay-5xx", "relay-typo"] } });
    const { s, ctx } = inPhase({ phase: "warming", healthySince: NOW - 60_000, atAlarmGate: true }, plan);
    const d = decide(s, obs({ alarms: [{ name: "relay-5xx", state: "OK" }] }), ctx);
    expect(d.state.instances["i-00000"]?.reason).toBe("alarm gate: alarm(s) not found: relay-typo");
  });

  it("fails at the alarm gate when a listed alarm is in ALARM", () => {
    const plan = makePlan({ health: { alarms: ["relay-5xx"] } });
    const { s, ctx } = inPhase({ phase: "warming", healthySince: NOW - 60_000, atAlarmGate: true }, plan);
    const d = decide(s, obs({ alarms: [{ name: "relay-5xx", state: "ALARM" }] }), ctx);
    expect(d.state.instances["i-00000"]?.reason).toMatch(/relay-5xx in ALARM/);
  });
});

describe("decide: failure policy", () => {
  function withFailures(failed: number, maxFailed: number, action: "pause" | "abort" | "rollback") {
    const plan = makePlan({ rollout: { failures: { action } } });
    const { state, ctx } = setup({ n: 10, canary: 1, window: 4, maxFailed }, plan);
    let s = pastCanary(state);
    for (let k = 1; k <= failed; k++)
      s = put(s, `i-0000${k}`, { phase: "failed", out: false, deployedAt: k });
    return { s, ctx };
  }

  it("does not trigger at exactly maxFailed failures", () => {
    const { s, ctx } = withFailures(2, 2, "pause");
    const d = decide(s, obs(), ctx);
    expect(d.state.global.mode).toBe("running");
    expect(leaving(d.state).length).toBeGreaterThan(0);
  });

  it("treats any canary failure as a failed gate, even within maxFailed", () => {
    const { state, ctx } = setup({ n: 10, canary: 2, window: 4, maxFailed: 5 });
    let s = put(state, "i-00000", { phase: "failed", out: true, deployedAt: 1 });
    s = put(s, "i-00001", { phase: "done" });
    s.global.waves[0] = { ...(s.global.waves[0] as EngineState["global"]["waves"][number]), started: true };
    const d = decide(s, obs(), ctx);
    expect(d.events).toContainEqual(
      expect.objectContaining({
        type: "policy.triggered",
        action: "pause",
        reason: "canary failed: 1 of 2 instance(s)",
      }),
    );
    expect(leaving(d.state)).toEqual([]);
    expect(d.state.global.outcome).toEqual({
      status: "paused",
      reason: "canary failed: 1 of 2 instance(s); paused, resume to continue",
    });
    // Once an operator resumes past it, the same canary failure does not trip the gate again.
    s.global.policy = { action: null, acknowledgedFailures: 1 };
    expect(decide(s, obs(), ctx).state.global.mode).toBe("running");
  });

  it("pauses: stops starting instances once failures exceed maxFailed", () => {
    const { s, ctx } = withFailures(3, 2, "pause");
    const d = decide(s, obs(), ctx);
    expect(d.events).toContainEqual(
      expect.objectContaining({ type: "policy.triggered", action: "pause", failed: 3, maxFailed: 2 }),
    );
    expect(leaving(d.state)).toEqual([]);
    expect(d.state.global.outcome?.status).toBe("paused");
  });

  it("aborts without starting anything more", () => {
    const { s, ctx } = withFailures(3, 2, "abort");
    const d = decide(s, obs(), ctx);
    expect(leaving(d.state)).toEqual([]);
    expect(d.state.global.outcome?.status).toBe("aborted");
  });

  it("rolls back updated instances newest first, within the window", () => {
    const { s: s0, ctx } = withFailures(3, 2, "rollback");
    let s = put(s0, "i-00000", { phase: "done", deployedAt: 0 });
    s = put(s, "i-00004", { phase: "done", deployedAt: 10 });
    s = put(s, "i-00005", { phase: "done", deployedAt: 20 });
    const d = decide(s, obs(), ctx);
    // These failed instances are still in service (out: false), so each takes a slot to roll back.
    const rb = Object.values(d.state.instances)
      .filter((i) => i.rollback)
      .sort((a, b) => (b.deployedAt ?? 0) - (a.deployedAt ?? 0));
    expect(rb.map((i) => i.id)).toEqual(["i-00005", "i-00004", "i-00003", "i-00002"]);
    expect(phases(d.state)["i-00000"]).toBe("done");
  });
});

describe("decide: rollback obeys the capacity checks", () => {
  it("holds the newest updated instance back with the check's reason, and nothing older jumps it", () => {
    const plan = makePlan({ rollout: { failures: { action: "rollback" } } });
    const { state, ctx } = setup({ n: 10, canary: 1, window: 4, maxFailed: 2 }, plan);
    let s = pastCanary(state);
    for (let k = 1; k <= 3; k++) s = put(s, `i-0000${k}`, { phase: "failed", out: false, deployedAt: k });
    s = put(s, "i-00005", { phase: "done", deployedAt: 20 });
    const held = { ...ctx, admission: [() => ({ admit: false as const, reason: "capacity: no room" })] };
    const d = decide(s, obs(), held);
    expect(Object.values(d.state.instances).filter((i) => i.rollback)).toEqual([]);
    expect(d.events).toContainEqual(
      expect.objectContaining({ type: "gate.waiting", gate: "capacity", message: "capacity: no room" }),
    );
    // With room, the same state starts rolling back at once (newest first).
    const free = decide(s, obs(), ctx);
    expect(Object.values(free.state.instances).filter((i) => i.rollback).length).toBeGreaterThan(0);
  });
});

describe("connection capacity check", () => {
  const capPlan = (maxDisplacedPerMinute: number | null) =>
    makePlan({
      capacity: {
        connections: metricConnections(maxDisplacedPerMinute),
      },
    });

  function verdict(
    plan: Plan,
    inServiceAfter: number,
    total: number,
    displaced: { at: number; n: number }[] = [],
  ) {
    const check = connectionCapacityCheck(plan);
    if (!check) throw new Error("no check");
    const { state } = setup({ n: 2 }, plan);
    state.global.displaced = displaced;
    // i-00001 stands for the rest of the fleet.
    const connections: Record<string, number> = { "i-00000": 180, "i-00001": total - 180 };
    return check({
      instance: state.instances["i-00000"] as InstanceRun,
      state,
      now: NOW,
      plan,
      connections,
      connectionsAt: NOW,
      inServiceAfter,
    });
  }

  it("admits while everything connected fits on the instances that stay, at 1 − headroom", () => {
    // 800 × 250 × 0.9 = 180,000: exactly fits.
    expect(verdict(capPlan(null), 800, 180_000)).toEqual({ admit: true });
  });

  it("holds back, with the numbers, when the rest would be over capacity", () => {
    const v = verdict(capPlan(null), 790, 180_000);
    expect(v).toEqual({
      admit: false,
      reason: "capacity: 180000 connections would not fit on 790 instance(s) (177750 with 10% headroom)",
    });
  });

  it("limits connections displaced per minute, but always lets the first of a quiet minute go", () => {
    expect(verdict(capPlan(100), 900, 180_000)).toEqual({ admit: true });
    const busy = verdict(capPlan(3_000), 900, 180_000, [{ at: NOW - 30_000, n: 2_900 }]);
    expect(busy).toMatchObject({
      admit: false,
      reason: expect.stringMatching(/exceed 3000\/min \(2900 in the last minute\)/),
    });
    expect(verdict(capPlan(3_000), 900, 180_000, [{ at: NOW - 61_000, n: 2_900 }])).toEqual({ admit: true });
  });

  /** 10 instances, limit 250 at 10% headroom: 9 left in service hold 2,025. */
  function tenInstances(
    readings: Record<string, number> | undefined,
    at: number | undefined = NOW,
    error?: string,
  ) {
    const plan = capPlan(null);
    const check = connectionCapacityCheck(plan);
    if (!check) throw new Error("no check");
    const { state } = setup({ n: 10 }, plan);
    const ctx: Parameters<typeof check>[0] = {
      instance: state.instances["i-00000"] as InstanceRun,
      state,
      now: NOW,
      plan,
      inServiceAfter: 9,
    };
    if (readings) ctx.connections = readings;
    if (at !== undefined) ctx.connectionsAt = at;
    if (error !== undefined) ctx.connectionsError = error;
    return check(ctx);
  }
  const each = (n: number, count: number) =>
    Object.fromEntries(Array.from({ length: count }, (_, k) => [`i-${String(k).padStart(5, "0")}`, n]));

  it("counts an instance without a datapoint at its limit, never as zero", () => {
    // Control: all 10 report 220 → 2,200 > 2,025 → hold.
    expect(tenInstances(each(220, 10))).toMatchObject({ admit: false });
    // Two report nothing: 8 × 220 + 2 × 250 = 2,260 > 2,025 → still hold (counting them as 0 let one out).
    expect(tenInstances(each(220, 8))).toEqual({
      admit: false,
      reason:
        "capacity: 2260 connections would not fit on 9 instance(s) (2025 with 10% headroom, 2 instance(s) without a datapoint counted at 250)",
    });
    // Missing is not "always hold": 8 × 150 + 2 × 250 = 1,700 ≤ 2,025 → admit.
    expect(tenInstances(each(150, 8))).toEqual({ admit: true });
  });

  it("holds when there is no reading, or it is older than maxAge, and says why", () => {
    const fine = each(100, 10);
    expect(tenInstances(fine, NOW - 120_000)).toEqual({ admit: true });
    expect(tenInstances(fine, NOW - 120_001)).toEqual({
      admit: false,
      reason: "capacity: the connection reading is older than maxAge 2m",
    });
    expect(tenInstances(fine, NOW - 200_000, "Throttling: Rate exceeded")).toEqual({
      admit: false,
      reason:
        "capacity: the connection reading is older than maxAge 2m; the metric could not be read: Throttling: Rate exceeded",
    });
    expect(tenInstances(undefined, undefined, "AccessDenied")).toEqual({
      admit: false,
      reason: "capacity: no connection reading, the metric could not be read: AccessDenied",
    });
  });
});

describe("decide: the runner's inputs (interrupt, error, approval, guard) and sticky endings", () => {
  it("an error stops new work, lets in-flight instances finish, then pauses with the error as reason", () => {
    const { state, ctx } = setup({ n: 10, canary: 1, window: 4 });
    let s = pastCanary(state);
    s = put(s, "i-00001", { phase: "draining", out: true, checkAt: NOW + 60_000 });
    const d1 = decide(s, obs(), { ...ctx, error: "journal write failed: ENOSPC" });
    expect(leaving(d1.state)).toEqual([]);
    expect(d1.state.global.error).toEqual({ reason: "journal write failed: ENOSPC", at: NOW });
    expect(d1.state.global.outcome).toBeUndefined();
    expect(d1.events).toContainEqual(expect.objectContaining({ type: "warning", code: "W_LOOP_ERROR" }));
    // The error is sticky: a clean tick starts nothing new either, and resets the error count.
    const d2 = decide(d1.state, obs(), ctx);
    expect(leaving(d2.state)).toEqual([]);
    expect(d2.state.global.consecutiveErrors).toBe(0);
    // Once the in-flight instance is back, the run pauses for `resume`.
    const d3 = decide(put(d2.state, "i-00001", { phase: "done", out: false }), obs(), ctx);
    expect(d3.state.global.outcome).toEqual({
      status: "paused",
      reason:
        "error: journal write failed: ENOSPC; nothing left in flight; fix the cause and resume to continue",
    });
    expect(d3.state.global.pausedFor).toBe("error");
  });

  it("gives up after maxConsecutiveErrors ticks in a row, naming the instances still in flight", () => {
    const { state, ctx } = setup({ n: 10, canary: 1, window: 4 });
    let s = put(pastCanary(state), "i-00001", { phase: "draining", out: true, checkAt: NOW + 60_000 });
    const c = { ...ctx, error: "EIO", maxConsecutiveErrors: 3 };
    s = decide(s, obs(), c).state;
    s = decide(s, obs(), c).state;
    expect(s.global.outcome).toBeUndefined();
    const d = decide(s, obs(), c);
    expect(d.state.global.outcome).toEqual({
      status: "paused",
      reason:
        "gave up after 3 errors in a row (first: EIO); 1 instance(s) still in flight: i-00001 (draining); fix the cause and run `rollwave resume`",
    });
  });

  it("an interrupt during a failure-policy abort keeps it an abort", () => {
    const plan = makePlan({ rollout: { failures: { action: "abort" } } });
    const { state, ctx } = setup({ n: 10, canary: 1, window: 4, maxFailed: 0 }, plan);
    let s = put(pastCanary(state), "i-00001", { phase: "failed", out: true, deployedAt: 1 });
    s = put(s, "i-00002", { phase: "draining", out: true, checkAt: NOW + 60_000 });
    const d1 = decide(s, obs(), ctx);
    expect(d1.state.global.mode).toBe("stopping");
    const d2 = decide(d1.state, obs(), { ...ctx, interrupt: true });
    expect(d2.state.global.interrupted).toBe(true);
    const d3 = decide(put(d2.state, "i-00002", { phase: "done", out: false }), obs(), ctx);
    expect(d3.state.global.outcome?.status).toBe("aborted");
  });

  it("resume refuses an aborted rollout, and a crashed abort only finishes bringing instances back", () => {
    const plan = makePlan({ rollout: { failures: { action: "abort" } } });
    const { state, ctx } = setup({ n: 10, canary: 1, window: 4, maxFailed: 0 }, plan);
    let s = put(pastCanary(state), "i-00001", { phase: "failed", out: true, deployedAt: 1 });
    s = put(s, "i-00002", { phase: "draining", out: true, checkAt: NOW + 60_000 });
    const aborting = decide(s, obs(), ctx).state;
    // A crash mid-abort (no outcome yet): resume keeps the abort.
    const reopened = reopen(aborting, undefined);
    expect(reopened.global.mode).toBe("stopping");
    const d = decide(put(reopened, "i-00002", { phase: "done", out: false }), obs(), ctx);
    expect(leaving(d.state)).toEqual([]);
    expect(d.state.global.outcome?.status).toBe("aborted");
    expect(() => reopen(d.state, "aborted")).toThrow(ResumeRefusedError);
    expect(() => reopen(d.state, "aborted")).toThrow(/aborted.*an abort is final/);
  });

  it("the approval answer is an input: stop pauses (resume approves), rollback rolls the canary back, pause pauses, approve admits", () => {
    const plan = makePlan({ rollout: { canary: { approve: true, bakeMs: 0 } } });
    const { state, ctx } = setup({ n: 6, canary: 1, window: 2 }, plan);
    const s0 = put(state, "i-00000", { phase: "done", deployedAt: 0 });
    s0.global.waves[0] = { ...(s0.global.waves[0] as EngineState["global"]["waves"][number]), started: true };
    // The bake (0 s) passes on the first reading of a healthy canary; then the gate waits.
    const baking = decide(s0, obs(), ctx).state;
    expect(baking.global.canary.baked).toBe(false);
    const waiting = decide(baking, obs({ health: { [TG_A]: health({ "i-00000": "healthy" }) } }), ctx).state;
    expect(waiting.global.canary.approval).toBe("waiting");
    expect(leaving(waiting)).toEqual([]);
    const stopped = decide(waiting, obs(), { ...ctx, now: 5_000, approval: "stop" }).state;
    expect(stopped.global).toMatchObject({
      outcome: { status: "paused", reason: expect.stringMatching(/stopped at the approval gate/) },
      pausedFor: "approval",
      canary: { answer: { answer: "stop", at: 5_000 } },
    });
    expect(leaving(stopped)).toEqual([]);
    // `resume` is the operator's decision to go on: the gate counts as approved.
    expect(reopen(stopped, "paused").global.canary.approval).toBe("approved");
    const rejected = decide(waiting, obs(), { ...ctx, approval: "rollback" });
    expect(rejected.state.global.mode).toBe("rollingBack");
    expect(rejected.state.global.canary.answer?.answer).toBe("rollback");
    expect(rejected.events).toContainEqual(
      expect.objectContaining({
        type: "policy.triggered",
        action: "rollback",
        reason: expect.stringMatching(/rejected/),
      }),
    );
    // The canary instance goes back through drain → rollback, nothing else leaves service.
    expect(leaving(rejected.state)).toEqual(["i-00000"]);
    expect(rejected.state.instances["i-00000"]?.rollback).toBe(true);
    // Without a rollback step there is nothing to roll back with: it pauses and says so.
    const noStep = makePlan({ rollout: { canary: { approve: true, bakeMs: 0 } }, steps: { rollback: null } });
    const np = decide(waiting, obs(), { ...ctx, plan: noStep, approval: "rollback" }).state;
    expect(np.global.outcome).toMatchObject({
      status: "paused",
      reason: expect.stringMatching(/no rollback step/),
    });
    const paused = decide(waiting, obs(), { ...ctx, approval: "pause" }).state;
    expect(paused.global).toMatchObject({ outcome: { status: "paused" }, pausedFor: "approval" });
    const approved = decide(waiting, obs(), { ...ctx, approval: "approve" });
    expect(approved.events).toContainEqual(
      expect.objectContaining({ type: "gate.passed", gate: "approval" }),
    );
    expect(leaving(approved.state).length).toBeGreaterThan(0);
  });

  it("a refused account guard fails the rollout before anything starts", () => {
    const { state, ctx } = setup({ n: 4 });
    const d = decide(state, obs(), { ...ctx, guardRefused: "account guard: wrong account" });
    expect(d.state.global.outcome).toEqual({ status: "failed", reason: "account guard: wrong account" });
    expect(leaving(d.state)).toEqual([]);
  });
});

describe("decide: the canary cannot pass vacuously, and the bake needs evidence", () => {
  function canaryDone(o: { skipped?: boolean; alarms?: string[]; bakeMs?: number; sameAz?: boolean } = {}) {
    const plan = makePlan({
      rollout: { canary: { bakeMs: o.bakeMs ?? 60_000 } },
      health: { alarms: o.alarms ?? [] },
    });
    // Round-robin AZs: i-00000 and i-00003 share eu-west-1a; with 2 instances nothing else is in 1a.
    const { state, ctx } = setup({ n: o.sameAz === false ? 2 : 6, canary: 1, window: 2 }, plan);
    const s = put(
      state,
      "i-00000",
      o.skipped ? { phase: "skipped", reason: "instance is terminated", out: true } : { phase: "done" },
    );
    s.global.waves[0] = { ...(s.global.waves[0] as EngineState["global"]["waves"][number]), started: true };
    return { s, ctx };
  }
  const healthy = (ids: string[]) => ({
    [TG_A]: health(Object.fromEntries(ids.map((id) => [id, "healthy" as const]))),
  });

  it("replaces a skipped canary with the next pending instance of the same AZ, and bakes that one", () => {
    const { s, ctx } = canaryDone({ skipped: true });
    const d = decide(s, obs(), ctx);
    expect(d.events).toContainEqual(expect.objectContaining({ code: "W_CANARY_REPLACED" }));
    expect(d.state.instances["i-00003"]?.wave).toBe(0);
    expect(d.state.global.waves[0]?.ids).toEqual(["i-00000", "i-00003"]);
    // The replacement starts; nothing else does, and no bake began.
    expect(leaving(d.state)).toEqual(["i-00003"]);
    expect(d.state.global.canary.bakeUntil).toBeUndefined();
  });

  it("fails the canary gate when a skipped canary has no replacement in its AZ", () => {
    const { s, ctx } = canaryDone({ skipped: true, sameAz: false });
    const d = decide(s, obs(), ctx);
    expect(d.events).toContainEqual(
      expect.objectContaining({
        type: "policy.triggered",
        reason: expect.stringMatching(
          /^canary gate: i-00000 \(eu-west-1a\) instance is terminated, and no pending instance in eu-west-1a/,
        ),
      }),
    );
    expect(leaving(d.state)).toEqual([]);
    expect(d.state.global.outcome?.status).toBe("paused");
  });

  it("does not pass the bake without a reading of the canary from its end; waits, then fails it", () => {
    const { s, ctx } = canaryDone({ alarms: ["relay-5xx"] });
    let st = decide(s, obs(), ctx).state;
    const until = st.global.canary.bakeUntil as number;
    // At the bake's end the alarms cannot be read (DescribeAlarms failed): not baked.
    const at = (t: number) => ({ ...ctx, now: t });
    st = decide(st, obs({ at: until, health: healthy(["i-00000"]) }), at(until)).state;
    expect(st.global.canary.baked).toBe(false);
    expect(leaving(st)).toEqual([]);
    // Within the grace a full reading passes it.
    const ok = decide(
      st,
      obs({ at: until + 60_000, health: healthy(["i-00000"]), alarms: [{ name: "relay-5xx", state: "OK" }] }),
      at(until + 60_000),
    );
    expect(ok.state.global.canary.baked).toBe(true);
    // Without one past the grace, the canary fails and the policy runs.
    const late = decide(st, obs({ at: until + 121_000 }), at(until + 121_000));
    expect(late.state.instances["i-00000"]).toMatchObject({
      phase: "failed",
      reason: "bake: no evidence: the canary's health and alarms could not be read for 2m after the bake",
    });
    expect(late.events).toContainEqual(expect.objectContaining({ type: "policy.triggered" }));
  });
});

describe("decide: capacity lost during the rollout counts against the window", () => {
  it("a finished instance seen unhealthy takes a slot until healthy again", () => {
    const { state, ctx } = setup({ n: 10, canary: 1, window: 2 });
    let s = pastCanary(state);
    s = put(s, "i-00001", { phase: "done" });
    s = put(s, "i-00002", { phase: "draining", out: true, checkAt: NOW + 60_000 });
    const seen = obs({
      health: { [TG_A]: health({ "i-00000": "healthy", "i-00001": "unhealthy", "i-00002": "draining" }) },
    });
    const d = decide(s, seen, ctx);
    expect(d.state.instances["i-00001"]?.lost).toBe("unhealthy in relay-a");
    expect(d.events).toContainEqual(expect.objectContaining({ code: "W_CAPACITY_LOST" }));
    // Window 2: the draining one plus the lost one fill it, nothing new starts.
    expect(leaving(d.state)).toEqual([]);
    const back = decide(
      d.state,
      obs({
        health: { [TG_A]: health({ "i-00000": "healthy", "i-00001": "healthy", "i-00002": "draining" }) },
      }),
      ctx,
    );
    expect(back.state.instances["i-00001"]?.lost).toBeUndefined();
    expect(leaving(back.state)).toHaveLength(1);
  });
});

describe("reopen: work a resume re-issues gets fresh deadlines", () => {
  it("refreshes drain, health and unsent-command deadlines; a sent command keeps its own", () => {
    const { state, ctx } = setup({ n: 6, canary: 1, window: 4 });
    const later = NOW + 6 * 3_600_000; // resumed six hours after the crash
    let s = pastCanary(state);
    s = put(s, "i-00001", { phase: "draining", out: true, deadline: NOW });
    s = put(s, "i-00002", { phase: "registering", out: true, need: "register", deadline: NOW });
    s = put(s, "i-00003", { phase: "deploying", out: true, step: "deploy", need: "command", deadline: NOW });
    s = put(s, "i-00004", { phase: "deploying", out: true, step: "deploy", commandId: "c1", deadline: NOW });
    const r = reopen(s, "paused", { now: later, plan: ctx.plan });
    expect(r.instances["i-00001"]?.deadline).toBe(later + 600_000);
    expect(r.instances["i-00002"]?.deadline).toBe(later + 300_000);
    expect(r.instances["i-00003"]).toMatchObject({ deadline: later + 660_000, reattach: true });
    expect(r.instances["i-00004"]?.deadline).toBe(NOW);
  });
});

describe("decide: no room left in the window", () => {
  it("pauses with the reason and what to do, nothing in flight, when failed and lost servers fill the window", () => {
    const { state, ctx } = setup({ n: 6, canary: 1, window: 2 });
    let s = pastCanary(state);
    // Both slots taken: one terminated (skipped keeps its slot for good), one finished server that
    // turned unhealthy (lost). Nothing failed, so the failure policy has nothing to say.
    s = put(s, "i-00001", { phase: "skipped", out: true, reason: "instance is terminated" });
    s = put(s, "i-00002", { phase: "done", lost: "unhealthy in relay-a" });
    const d = decide(s, obs(), ctx);
    expect(leaving(d.state)).toEqual([]);
    expect(d.state.global.outcome?.status).toBe("paused");
    expect(d.state.global.outcome?.reason).toMatch(
      /^no room left in the window: 2 failed or lost instance\(s\) are out of service \(maxUnavailable 2\), 3 instance\(s\) not started; nothing is in flight\. .*`rollwave resume`$/,
    );
    expect(d.state.global.pausedFor).toBe("capacity");
    // A paused rollout resumes (unlike a failed one); with the same servers still out it pauses again.
    const again = reopen(d.state, "paused");
    expect(again.global.outcome).toBeUndefined();
    expect(decide(again, obs(), ctx).state.global.outcome?.status).toBe("paused");
  });

  it("lets the instances go once a lost server is back: the pause is not final", () => {
    const { state, ctx } = setup({ n: 6, canary: 1, window: 2 });
    let s = pastCanary(state);
    s = put(s, "i-00001", { phase: "skipped", out: true, reason: "instance is terminated" });
    s = put(s, "i-00002", { phase: "done", lost: "unhealthy in relay-a" });
    expect(decide(s, obs(), ctx).state.global.outcome?.status).toBe("paused");
    const back = decide(
      reopen(decide(s, obs(), ctx).state, "paused"),
      // The group's read lists every target; the finished canary is in it too.
      obs({ health: { [TG_A]: health({ "i-00000": "healthy", "i-00002": "healthy" }) } }),
      ctx,
    );
    expect(back.state.global.outcome).toBeUndefined();
    expect(leaving(back.state)).toHaveLength(1);
  });
});
