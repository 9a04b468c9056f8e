/**
 * Control requests (`rollwave abort [--rollback]` / `approve` from another terminal) as inputs to the
 * pure `decide`: what each does in each state, that a request for another rollout is never applied,
 * that applying one twice (a crash before it was acknowledged) changes nothing, and the parser's
 * refusal of anything that is not a request.
 */
import { describe, expect, it } from "vitest";
import type { TargetHealthDescription } from "../../src/aws/types.js";
import { type ControlRequest, parseControlRequest } from "../../src/engine/control.js";
import { decide, reopen } from "../../src/engine/decide.js";
import type { DecideContext, Observation } from "../../src/engine/decide-context.js";
import { type EngineState, type InstanceRun, initialState } from "../../src/engine/state.js";
import type { Plan } from "../../src/plan/types.js";
import { ManualClock } from "../../src/util/clock.js";
import { FakeAws } from "./fake-aws.js";
import { makeFleet, makePlan, TG_A, TG_B } from "./fixtures.js";

const NOW = 1_000_000;
const ROLLOUT = "r-1111";

function setup(plan: Plan = makePlan()) {
  const aws = new FakeAws(new ManualClock());
  const { fleet, wavePlan } = makeFleet(aws, { n: 8, canary: 1, window: 2 });
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
    rolloutId: ROLLOUT,
  };
  return { state, ctx };
}

const obs = (o: Partial<Observation> = {}): Observation => ({ at: NOW, health: {}, commands: {}, ...o });

function put(s: EngineState, id: string, patch: Partial<InstanceRun>): EngineState {
  const i = s.instances[id] as InstanceRun;
  return { ...s, instances: { ...s.instances, [id]: { ...i, ...patch } } };
}

function pastCanary(s: EngineState): EngineState {
  const out = put(s, "i-00000", { phase: "done", deployedAt: 1 });
  out.global = {
    ...out.global,
    waves: out.global.waves.map((w) => (w.kind === "canary" ? { ...w, started: true, finished: true } : w)),
    canary: { ...out.global.canary, baked: true },
  };
  return out;
}

const leaving = (s: EngineState) =>
  Object.values(s.instances)
    .filter((i) => i.phase === "deregistering")
    .map((i) => i.id);

const request = (action: ControlRequest["action"], o: Partial<ControlRequest> = {}): ControlRequest => ({
  id: `req-${action}`,
  action,
  rolloutId: ROLLOUT,
  requestedBy: "bo@laptop",
  at: "2026-12-02T10:00:00.000Z",
  ...o,
});

const controlEvents = (events: { type: string }[]) => events.filter((e) => e.type === "control");

function healthy(ids: string[]) {
  const m: Record<string, TargetHealthDescription> = {};
  for (const id of ids) m[id] = { id, state: "healthy" };
  return { [TG_A]: m };
}

/** A canary done and baked (bake 0), the approval gate waiting. */
function atApprovalGate(ctxOver: Partial<DecideContext> = {}) {
  const plan = makePlan({ rollout: { canary: { approve: true, bakeMs: 0 } } });
  const { state, ctx: base } = setup(plan);
  const ctx = { ...base, ...ctxOver };
  const s0 = put(state, "i-00000", { phase: "done", deployedAt: 1 });
  s0.global.waves[0] = { ...(s0.global.waves[0] as EngineState["global"]["waves"][number]), started: true };
  const baking = decide(s0, obs(), ctx);
  const waiting = decide(baking.state, obs({ health: healthy(["i-00000"]) }), ctx);
  return { waiting, ctx };
}

describe("decide: control requests", () => {
  it("abort stops new work, lets in-flight instances come back, then ends aborted naming who asked", () => {
    const { state, ctx } = setup();
    const s = put(pastCanary(state), "i-00001", { phase: "draining", out: true, checkAt: NOW + 60_000 });
    const d1 = decide(s, obs(), { ...ctx, control: request("abort") });
    expect(controlEvents(d1.events)).toEqual([
      expect.objectContaining({
        type: "control",
        action: "abort",
        requestId: "req-abort",
        requestedBy: "bo@laptop",
        outcome: "applied",
        message: expect.stringContaining("1 instance(s) in flight come back"),
      }),
    ]);
    expect(leaving(d1.state)).toEqual([]);
    expect(d1.state.global.outcome).toBeUndefined();
    expect(d1.state.global.mode).toBe("stopping");
    const d2 = decide(put(d1.state, "i-00001", { phase: "done", out: false }), obs(), ctx);
    expect(leaving(d2.state)).toEqual([]);
    expect(d2.state.global.outcome).toEqual({
      status: "aborted",
      reason: "aborted by bo@laptop (rollwave abort); aborted",
    });
    // An abort is final: resume refuses it.
    expect(() => reopen(d2.state, "aborted")).toThrow(/an abort is final/);
  });

  it("abort while paused-to-be by an interrupt still ends aborted; applied twice it is ignored the second time", () => {
    const { state, ctx } = setup();
    const s = put(pastCanary(state), "i-00001", { phase: "draining", out: true, checkAt: NOW + 60_000 });
    const d1 = decide(s, obs(), { ...ctx, interrupt: true, control: request("abort") });
    const again = decide(d1.state, obs(), { ...ctx, control: request("abort") });
    expect(controlEvents(again.events)).toEqual([
      expect.objectContaining({ outcome: "ignored", message: "already aborting" }),
    ]);
    const end = decide(put(again.state, "i-00001", { phase: "done", out: false }), obs(), ctx);
    expect(end.state.global.outcome?.status).toBe("aborted");
  });

  it("abort --rollback runs the rollback policy: updated instances roll back, the run ends rolled-back", () => {
    const { state, ctx } = setup();
    const s = pastCanary(state);
    const d1 = decide(s, obs(), { ...ctx, control: request("rollback") });
    expect(controlEvents(d1.events)[0]).toMatchObject({ outcome: "applied", action: "rollback" });
    expect(d1.state.global.mode).toBe("rollingBack");
    expect(d1.state.global.policy).toMatchObject({
      action: "rollback",
      reason: "rollback requested by bo@laptop (rollwave abort --rollback)",
    });
    // The canary (deployed) is taken out again for its rollback; nothing pending starts forward.
    expect(leaving(d1.state)).toEqual(["i-00000"]);
    expect(d1.state.instances["i-00000"]?.rollback).toBe(true);
    const back = decide(
      put(d1.state, "i-00000", { phase: "rolledBack", out: false, need: null }),
      obs(),
      ctx,
    );
    expect(back.state.global.outcome).toEqual({
      status: "rolled-back",
      reason: "rollback requested by bo@laptop (rollwave abort --rollback); rolled back 1 instance(s)",
    });
  });

  it("abort --rollback is ignored when the plan has no rollback step", () => {
    const plan = makePlan({ steps: { rollback: null } });
    const { state, ctx } = setup(plan);
    const d = decide(pastCanary(state), obs(), { ...ctx, control: request("rollback") });
    expect(controlEvents(d.events)[0]).toMatchObject({
      outcome: "ignored",
      message: "the plan has no rollback step (steps.rollback)",
    });
    expect(d.state.global.mode).toBe("running");
  });

  it("approve passes a waiting approval gate and the rest of the fleet starts", () => {
    const { waiting, ctx } = atApprovalGate();
    expect(waiting.state.global.canary.approval).toBe("waiting");
    const d = decide(waiting.state, obs(), { ...ctx, control: request("approve") });
    expect(controlEvents(d.events)[0]).toMatchObject({ outcome: "applied", action: "approve" });
    expect(d.events).toContainEqual(
      expect.objectContaining({
        type: "gate.passed",
        gate: "approval",
        message: "approval gate passed: approved by bo@laptop (rollwave approve)",
      }),
    );
    expect(leaving(d.state).length).toBeGreaterThan(0);
  });

  it("approve is never given in advance: before the gate waits it is ignored, and the gate still waits later", () => {
    const plan = makePlan({ rollout: { canary: { approve: true, bakeMs: 0 } } });
    const { state, ctx } = setup(plan);
    const d = decide(state, obs(), { ...ctx, control: request("approve") });
    expect(controlEvents(d.events)[0]).toMatchObject({
      outcome: "ignored",
      message: expect.stringContaining("no approval gate is waiting"),
    });
    expect(d.state.global.canary.approval).toBe("none");
  });

  it("a request naming another rollout is never applied", () => {
    const { waiting, ctx } = atApprovalGate();
    const d = decide(waiting.state, obs(), { ...ctx, control: request("approve", { rolloutId: "r-old" }) });
    expect(controlEvents(d.events)[0]).toMatchObject({
      outcome: "ignored",
      message: `the request is for rollout r-old, not this one (${ROLLOUT})`,
    });
    expect(d.state.global.canary.approval).toBe("waiting");
    expect(leaving(d.state)).toEqual([]);
    const a = decide(waiting.state, obs(), { ...ctx, control: request("abort", { rolloutId: "r-old" }) });
    expect(a.state.global.mode).toBe("running");
  });

  it("abort at a waiting approval gate ends the rollout aborted at once (nothing in flight)", () => {
    const { waiting, ctx } = atApprovalGate();
    const d = decide(waiting.state, obs(), { ...ctx, control: request("abort") });
    expect(d.state.global.outcome?.status).toBe("aborted");
  });

  it("with approvalWaitMs the gate waits with a deadline for a remote approval, then pauses", () => {
    const { waiting, ctx } = atApprovalGate({ approvalWaitMs: 600_000 });
    const g = waiting.events.find((e) => e.type === "gate.waiting" && e.gate === "approval");
    expect(g).toMatchObject({ until: NOW + 600_000, message: expect.stringContaining("rollwave approve") });
    const still = decide(waiting.state, obs(), { ...ctx, now: NOW + 599_000 });
    expect(still.state.global.outcome).toBeUndefined();
    const late = decide(still.state, obs(), { ...ctx, now: NOW + 600_000 });
    expect(late.state.global).toMatchObject({ outcome: { status: "paused" }, pausedFor: "approval" });
    expect(late.state.global.outcome?.reason).toContain("nobody approved within 10m");
    // A resume counts as the approval, as for any approval pause.
    expect(reopen(late.state, "paused").global.canary.approval).toBe("approved");
  });
});

describe("parseControlRequest: the stored value is untrusted", () => {
  const good = request("abort");
  it("reads a request", () => {
    expect(parseControlRequest(JSON.stringify(good))).toEqual(good);
  });
  it.each([
    ["not JSON", "{nope"],
    ["null", "null"],
    ["an array", "[]"],
    ["an unknown action", JSON.stringify({ ...good, action: "delete-everything" })],
    ["no rollout id", JSON.stringify({ ...good, rolloutId: undefined })],
    ["a number for an id", JSON.stringify({ ...good, id: 7 })],
    ["a bad date", JSON.stringify({ ...good, at: "yesterday" })],
    ["a huge field", JSON.stringify({ ...good, requestedBy: "x".repeat(10_000) })],
  ])("refuses %s", (_what, text) => {
    expect(parseControlRequest(text)).toBeUndefined();
  });
});
