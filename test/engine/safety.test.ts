/**
 * Safety off the happy path, end to end against the fake AWS: the canary cannot pass vacuously, lost
 * capacity counts against the window, every wait ends, and rollback never runs on a routed server.
 */
import { describe, expect, it } from "vitest";
import type { RolloutEvent } from "../../src/engine/events.js";
import { runRollout } from "../../src/engine/run.js";
import { makePlan } from "./fixtures.js";
import { drive, harness, options } from "./harness.js";

const ofType = <T extends RolloutEvent["type"]>(events: RolloutEvent[], type: T) =>
  events.filter((e): e is Extract<RolloutEvent, { type: T }> => e.type === type);

const phaseAt = (events: RolloutEvent[], id: string, to: string) =>
  ofType(events, "instance.phase").find((e) => e.id === id && e.to === to)?.at;

describe("the canary cannot pass vacuously", () => {
  it("replaces a canary terminated mid-drain with an instance of the same AZ, and bakes that one", async () => {
    const h = harness({ n: 9, canary: 1, window: 2 });
    const r = await drive(h, runRollout(options(h)), () => {
      if (phaseAt(h.events, "i-00000", "draining")) h.aws.terminate("i-00000");
    });
    expect(r.status).toBe("succeeded");
    expect(r.perInstance["i-00000"]?.phase).toBe("skipped");
    const replaced = ofType(h.events, "warning").find((w) => w.code === "W_CANARY_REPLACED");
    expect(replaced?.message).toMatch(/i-00000 \(eu-west-1a\).*i-00003 from the same AZ/);
    // The bake starts only once the replacement is done, and nothing else starts before it passed.
    const bake = ofType(h.events, "gate.waiting").find((g) => g.gate === "bake")?.at as number;
    expect(bake).toBeGreaterThanOrEqual(phaseAt(h.events, "i-00003", "done") as number);
    const baked = ofType(h.events, "gate.passed").find((g) => g.gate === "bake")?.at as number;
    const others = ofType(h.events, "instance.phase").filter(
      (e) => !["i-00000", "i-00003"].includes(e.id) && e.from === "pending",
    );
    expect(others.length).toBeGreaterThan(0);
    expect(Math.min(...others.map((e) => e.at))).toBeGreaterThanOrEqual(baked);
  });
});

describe("capacity lost during the rollout counts", () => {
  it("a finished instance terminated mid-rollout keeps its slot: once seen, no more out than the window", async () => {
    const h = harness({ n: 12, canary: 1, window: 2 });
    // Out of service per tick, from the moment the engine reported the loss. The instance may die
    // while the window is full (3 out for a moment: nobody can prevent that); once back within the
    // window, the engine must stay there, counting the lost one as out.
    const after: number[] = [];
    const r = await drive(h, runRollout(options(h)), () => {
      if (phaseAt(h.events, "i-00001", "done")) h.aws.terminate("i-00001");
      const seen = ofType(h.events, "warning").some(
        (w) => w.code === "W_CAPACITY_LOST" && w.message.startsWith("i-00001"),
      );
      if (seen) after.push(h.aws.instances.size - h.aws.inService().length);
    });
    expect(after.length).toBeGreaterThan(5);
    const within = after.findIndex((n) => n <= 2);
    expect(within).toBeGreaterThanOrEqual(0);
    expect(Math.max(...after.slice(within))).toBeLessThanOrEqual(2);
    expect(r.status).toBe("succeeded");
    expect(r.instances.succeeded).toBe(12);
  });
});

describe("every wait ends", () => {
  it("an instance terminated during a rollback is not polled forever; the run ends", async () => {
    const plan = makePlan({ rollout: { failures: { action: "rollback" } } });
    const h = harness({ n: 8, canary: 1, window: 3, maxFailed: 1 }, plan);
    h.aws.commandResult = (req, id) =>
      req.commands[0]?.startsWith("deploy") && ["i-00002", "i-00003"].includes(id) ? "Failed" : "Success";
    const r = await drive(
      h,
      runRollout(options(h)),
      () => {
        if (phaseAt(h.events, "i-00001", "rollingBack") || phaseAt(h.events, "i-00000", "rollingBack")) {
          h.aws.terminate("i-00001");
        }
      },
      6 * 3_600_000,
    );
    expect(["rolled-back", "failed"]).toContain(r.status);
    expect(h.aws.calls().byAction["EC2.DescribeInstances"] ?? 0).toBeLessThan(10);
    expect(r.durationMs).toBeLessThan(3_600_000);
  });
});

describe("rollback never runs on a server in service", () => {
  it("with failedInstances reregister, drains a re-registered failed server before its rollback command", async () => {
    const plan = makePlan({ rollout: { failures: { action: "rollback", failedInstances: "reregister" } } });
    const h = harness({ n: 8, canary: 1, window: 3, maxFailed: 0 }, plan);
    h.aws.commandResult = (req, id) =>
      req.commands[0]?.startsWith("deploy") && id === "i-00002" ? "Failed" : "Success";
    const r = await drive(h, runRollout(options(h)));
    expect(r.status).toBe("rolled-back");
    const mine = h.aws.mutations.filter((m) => m.detail.includes("i-00002"));
    const rollback = mine.findIndex((m) => m.action === "SSM.SendCommand" && m.detail.endsWith("rollback"));
    expect(rollback).toBeGreaterThan(0);
    const lastRegister = mine
      .slice(0, rollback)
      .map((m) => m.action)
      .lastIndexOf("ELBv2.RegisterTargets");
    const lastDeregister = mine
      .slice(0, rollback)
      .map((m) => m.action)
      .lastIndexOf("ELBv2.DeregisterTargets");
    expect(lastRegister).toBeGreaterThanOrEqual(0);
    expect(lastDeregister).toBeGreaterThan(lastRegister);
  });
});
