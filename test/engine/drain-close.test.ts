import { describe, expect, it } from "vitest";
import { decide } from "../../src/engine/decide.js";
import type { DecideContext, Observation } from "../../src/engine/decide-context.js";
import { type EngineState, type InstanceRun, initialState } from "../../src/engine/state.js";
import type { Plan } from "../../src/plan/types.js";
import { ManualClock } from "../../src/util/clock.js";
import { FakeAws } from "./fake-aws.js";
import { makeFleet, makePlan, metricConnections, TG_A } from "./fixtures.js";

const NOW = 1_000_000;

function draining(plan: Plan, conns: number) {
  const { fleet, wavePlan } = makeFleet(new FakeAws(new ManualClock()), { n: 2, canary: 0, window: 1 });
  const s0 = initialState(plan.name, "window", fleet, wavePlan, 0);
  const i = s0.instances["i-00000"] as InstanceRun;
  const state: EngineState = {
    ...s0,
    instances: {
      ...s0.instances,
      "i-00000": { ...i, phase: "draining", phaseSince: NOW - 150_000, out: true, checkAt: NOW },
    },
  };
  const ctx: DecideContext = {
    now: NOW,
    plan,
    window: wavePlan.window,
    maxFailed: 0,
    drainDelayMs: { [TG_A]: 300_000 },
    pollMs: 15_000,
    admission: [],
    capacityWaitMs: 600_000,
    connections: { "i-00000": conns, "i-00001": 180 },
    drainDone: ({ connections }) => connections !== undefined && connections <= 10,
  };
  const obs: Observation = {
    at: NOW,
    health: { [TG_A]: { "i-00000": { id: "i-00000", state: "draining" } } },
    commands: {},
    connections: ctx.connections,
  };
  return { state, ctx, obs };
}

const withClose = makePlan({
  capacity: { connections: metricConnections(null) },
  drain: { untilConnections: 10 },
  steps: { close: { commands: ["/opt/relay/bin/relayctl close-all"], timeoutMs: 60_000 } },
});

describe("drain to a threshold, then close", () => {
  it("runs drain.closeCommand on the stragglers left at the threshold, still out of rotation", () => {
    const { state, ctx, obs } = draining(withClose, 4);
    const d = decide(state, obs, ctx);
    const i = d.state.instances["i-00000"] as InstanceRun;
    expect(i).toMatchObject({ phase: "draining", step: "close", need: "command", out: true });
    // What the close command closes is cut: the reading just before it.
    expect(i.cut).toBe(4);
    expect(d.events).toContainEqual(
      expect.objectContaining({
        type: "instance.phase",
        id: "i-00000",
        detail: "drained to 4 connection(s): closing them (drain.closeCommand)",
      }),
    );
    // The close succeeded: deploy starts.
    const polled: Observation = {
      at: NOW + 2_000,
      health: {},
      commands: {
        "cmd-1": { "i-00000": { instanceId: "i-00000", status: "Success", statusDetails: "Success" } },
      },
    };
    const sent: EngineState = {
      ...d.state,
      instances: { ...d.state.instances, "i-00000": { ...i, need: null, commandId: "cmd-1" } },
    };
    const d2 = decide(sent, polled, { ...ctx, now: NOW + 2_000 });
    expect(d2.state.instances["i-00000"]).toMatchObject({
      phase: "deploying",
      step: "deploy",
      need: "command",
      cut: 4, // counted once, not again when the close ends the drain
    });
  });

  it("goes straight to deploy when nothing is left to close, or without a closeCommand", () => {
    const none = draining(withClose, 0);
    expect(decide(none.state, none.obs, none.ctx).state.instances["i-00000"]?.phase).toBe("deploying");
    const noClose = makePlan({
      capacity: { connections: metricConnections(null) },
      drain: { untilConnections: 10 },
    });
    const plain = draining(noClose, 4);
    expect(decide(plain.state, plain.obs, plain.ctx).state.instances["i-00000"]?.phase).toBe("deploying");
  });

  it("fails the instance, still out of service, when the close command fails", () => {
    const { state, ctx, obs } = draining(withClose, 4);
    const d = decide(state, obs, ctx);
    const i = d.state.instances["i-00000"] as InstanceRun;
    const sent: EngineState = {
      ...d.state,
      instances: { ...d.state.instances, "i-00000": { ...i, need: null, commandId: "cmd-1" } },
    };
    const failed: Observation = {
      at: NOW + 2_000,
      health: {},
      commands: {
        "cmd-1": {
          "i-00000": { instanceId: "i-00000", status: "Failed", statusDetails: "Failed", responseCode: 2 },
        },
      },
    };
    const d2 = decide(sent, failed, { ...ctx, now: NOW + 2_000 });
    expect(d2.state.instances["i-00000"]).toMatchObject({ phase: "failed", out: true });
    expect(d2.state.instances["i-00000"]?.reason).toMatch(/^close: the command failed with exit code 2/);
  });
});
