/** A simulated fleet outlives its process as a snapshot: what comes back, and what cannot. */
import { describe, expect, it } from "vitest";
import { createWorld } from "../../../src/sim/model/world.js";
import { ManualClock } from "../../../src/util/clock.js";
import { healthOf, instanceIds, makeWorld, smallSpec } from "./helpers.js";

const DEPLOY = ["/opt/relay/bin/install v2.0.0", "systemctl restart relay"];

describe("fleet snapshot and restore", () => {
  it("brings back versions, registrations, suspensions and finished commands; a running command comes back Failed", async () => {
    const spec = await smallSpec();
    const t = makeWorld(spec);
    const [a, b, c] = instanceIds(t.world) as [string, string, string];
    const done = t.world.sendCommand({
      documentName: "AWS-RunShellScript",
      instanceIds: [a],
      parameters: { commands: DEPLOY },
    });
    await t.until(
      () =>
        t.world.listCommandInvocations({ commandId: done.commandId, details: false }).items[0]?.status ===
        "Success",
      600_000,
    );
    const running = t.world.sendCommand({
      documentName: "AWS-RunShellScript",
      instanceIds: [b],
      parameters: { commands: DEPLOY },
    });
    await t.step(1_500);
    const tg = t.world.describeTargetGroups({}).items.find((g) => g.name === "relay-http");
    t.world.deregisterTargets(tg?.arn as string, [{ id: c }]);
    t.world.suspendProcesses("camera-relay-test-a", ["Terminate"]);
    const snapshot = JSON.parse(JSON.stringify(t.world.snapshot()));

    const clock = new ManualClock(snapshot.at + 60_000);
    const back = createWorld(spec, {
      clock,
      seed: 7,
      restore: { snapshot, lostCommands: [{ commandId: "lost-1", instanceIds: [a] }] },
    });
    back.advanceTo(clock.now());
    const state = back.state();
    const of = (id: string) => state.instances.find((i) => i.id === id);
    expect(of(a)?.version).toBe("v2.0.0");
    expect(of(c)?.version).toBe("v1.9.0");
    // Deregistered before the snapshot: not registered after it.
    expect(of(c)?.targets["relay-http"]).toBeUndefined();
    expect(healthOf(back, "relay-http", a)).toBe("healthy");
    expect(
      back.describeAutoScalingGroups({}).items.find((g) => g.name === "camera-relay-test-a")
        ?.suspendedProcesses,
    ).toContain("Terminate");
    const inv = (id: string) => back.listCommandInvocations({ commandId: id, details: true }).items[0];
    expect(inv(done.commandId)?.status).toBe("Success");
    expect(inv(running.commandId)).toMatchObject({
      status: "Failed",
      stderr: expect.stringMatching(/restored from a snapshot/),
    });
    expect(inv("lost-1")).toMatchObject({ instanceId: a, status: "Failed" });
  });

  it("refuses a snapshot of another fleet or seed", async () => {
    const spec = await smallSpec();
    const snapshot = makeWorld(spec).world.snapshot();
    const clock = new ManualClock(snapshot.at);
    expect(() => createWorld(spec, { clock, seed: 8, restore: { snapshot } })).toThrow(/--seed 7, not 8/);
    const other = { ...snapshot, instances: snapshot.instances.slice(1) };
    expect(() => createWorld(spec, { clock, seed: 7, restore: { snapshot: other } })).toThrow(
      /another simulated fleet/,
    );
  });
});
