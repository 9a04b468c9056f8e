import { describe, expect, it } from "vitest";
import { SimApiError } from "../../../src/sim/model/api.js";
import { healthOf, instanceIds, makeWorld, smallSpec, tgArn } from "./helpers.js";

// small-fleet.yaml: relay-http is an ALB group (interval 10 s, healthy 3, unhealthy 2, delay 30 s).
describe("target health", () => {
  it("shows a deregistered target as draining for the whole delay, then as not registered", async () => {
    const t = makeWorld(await smallSpec());
    const id = instanceIds(t.world)[0] as string;
    const arn = tgArn(t.world, "relay-http");
    t.world.deregisterTargets(arn, [{ id }]);
    const [h] = t.world.describeTargetHealth(arn, [{ id }]);
    expect(h).toMatchObject({ state: "draining", reason: "Target.DeregistrationInProgress" });
    await t.step(29_000);
    expect(healthOf(t.world, "relay-http", id)).toBe("draining");
    await t.step(1_000);
    expect(t.world.describeTargetHealth(arn, [{ id }])[0]).toMatchObject({
      state: "unused",
      reason: "Target.NotRegistered",
    });
    // Omitting Targets lists only what is registered.
    expect(t.world.describeTargetHealth(arn).map((x) => x.id)).not.toContain(id);
  });

  it("takes a registered target from initial to healthy after the healthy threshold of checks", async () => {
    const t = makeWorld(await smallSpec());
    const id = instanceIds(t.world)[1] as string;
    const arn = tgArn(t.world, "relay-http");
    t.world.deregisterTargets(arn, [{ id }]);
    await t.step(31_000);
    t.world.registerTargets(arn, [{ id }]);
    expect(t.world.describeTargetHealth(arn, [{ id }])[0]).toMatchObject({
      state: "initial",
      reason: "Elb.RegistrationInProgress",
    });
    await t.step(10_000);
    expect(t.world.describeTargetHealth(arn, [{ id }])[0]?.reason).toBe("Elb.InitialHealthChecking");
    // Healthy at the third passing check: after 2 full intervals, within 3.
    const elapsed = 10_000 + (await t.until(() => healthOf(t.world, "relay-http", id) === "healthy", 60_000));
    expect(elapsed).toBeGreaterThan(20_000);
    expect(elapsed).toBeLessThanOrEqual(31_000);
  });

  it("turns a target unhealthy after the unhealthy threshold of failed checks, and healthy again after it recovers", async () => {
    const t = makeWorld(await smallSpec());
    const id = instanceIds(t.world)[2] as string;
    t.world.control({ op: "healthFlap", instanceId: id, seconds: 60 });
    const down = await t.until(() => healthOf(t.world, "relay-http", id) === "unhealthy", 60_000);
    expect(down).toBeGreaterThan(10_000);
    expect(down).toBeLessThanOrEqual(21_000);
    expect(t.world.describeTargetHealth(tgArn(t.world, "relay-http"), [{ id }])[0]?.reason).toBe(
      "Target.Timeout",
    );
    const up = await t.until(() => healthOf(t.world, "relay-http", id) === "healthy", 120_000);
    // Failing until t=60 s, then three passing checks.
    expect(down + up).toBeGreaterThan(80_000);
    expect(down + up).toBeLessThanOrEqual(91_000);
  });

  it("accepts deregistering a target that is not registered", async () => {
    const t = makeWorld(await smallSpec());
    const id = instanceIds(t.world)[0] as string;
    const arn = tgArn(t.world, "relay-http");
    t.world.deregisterTargets(arn, [{ id }]);
    await t.step(31_000);
    expect(() => t.world.deregisterTargets(arn, [{ id }])).not.toThrow();
    expect(healthOf(t.world, "relay-http", id)).toBe("unused");
  });

  it("only deregisters a port-override target when the same port is given", async () => {
    const t = makeWorld(await smallSpec());
    const id = instanceIds(t.world)[3] as string;
    const arn = tgArn(t.world, "relay-http");
    t.world.registerTargets(arn, [{ id, port: 9090 }]);
    t.world.deregisterTargets(arn, [{ id }]); // the default-port registration drains …
    t.world.deregisterTargets(arn, [{ id, port: 9091 }]); // … a wrong port matches nothing
    await t.step(40_000);
    const left = t.world.describeTargetHealth(arn).filter((h) => h.id === id);
    expect(left.map((h) => h.port)).toEqual([9090]);
    t.world.deregisterTargets(arn, [{ id, port: 9090 }]);
    expect(t.world.describeTargetHealth(arn, [{ id, port: 9090 }])[0]?.state).toBe("draining");
  });

  it("refuses to register an instance that is not running, with InvalidTarget", async () => {
    const t = makeWorld(await smallSpec());
    const id = instanceIds(t.world)[4] as string;
    const arn = tgArn(t.world, "relay-http");
    t.world.control({ op: "terminateInstance", instanceId: id });
    expect(() => t.world.registerTargets(arn, [{ id }])).toThrowError(
      expect.objectContaining({ code: "InvalidTarget" }),
    );
    expect(healthOf(t.world, "relay-http", id)).toBe("unused");
  });

  it("answers TargetGroupNotFound for an unknown group", async () => {
    const t = makeWorld(await smallSpec());
    const arn = "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/nope/0123456789abcdef";
    let err: unknown;
    try {
      t.world.describeTargetHealth(arn);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SimApiError);
    expect((err as SimApiError).code).toBe("TargetGroupNotFound");
    expect(() => t.world.describeTargetGroups({ names: ["nope"] })).toThrowError(
      expect.objectContaining({ code: "TargetGroupNotFound" }),
    );
  });

  it("reports the NLB's connection termination and every group's delay as attributes", async () => {
    const t = makeWorld(await smallSpec());
    const nlb = t.world.describeTargetGroupAttributes(tgArn(t.world, "relay-rtmp"));
    expect(nlb["deregistration_delay.timeout_seconds"]).toBe("60");
    expect(nlb["deregistration_delay.connection_termination.enabled"]).toBe("false");
    const alb = t.world.describeTargetGroupAttributes(tgArn(t.world, "relay-http"));
    expect(alb["deregistration_delay.timeout_seconds"]).toBe("30");
    expect(alb["deregistration_delay.connection_termination.enabled"]).toBeUndefined();
  });
});
