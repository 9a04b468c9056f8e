import { describe, expect, it } from "vitest";
import type { SimWorld } from "../../../src/sim/model/api.js";
import { codeOf, connectionsOf, healthOf, instanceIds, makeWorld, smallSpec } from "./helpers.js";

const DEPLOY = (v: string) => [`/opt/relay/bin/install ${v}`, "systemctl restart relay"];
const ROLLBACK = ["/opt/relay/bin/install --previous", "systemctl restart relay"];

function send(
  w: SimWorld,
  ids: string[],
  commands: string[],
  more: Partial<Parameters<SimWorld["sendCommand"]>[0]> = {},
) {
  return w.sendCommand({
    documentName: "AWS-RunShellScript",
    instanceIds: ids,
    parameters: { commands },
    ...more,
  });
}

function invocations(w: SimWorld, commandId: string) {
  return w.listCommandInvocations({ commandId, details: true }).items;
}

describe("commands", () => {
  it("run a deploy Pending → InProgress → Success and install the version", async () => {
    const t = makeWorld(await smallSpec());
    const id = instanceIds(t.world)[0] as string;
    const cmd = send(t.world, [id], DEPLOY("v2.0.0"));
    expect(cmd.status).toBe("Pending");
    // Eventually consistent: right after SendCommand the invocation is not there yet …
    expect(codeOf(() => t.world.getCommandInvocation(cmd.commandId, id))).toBe("InvocationDoesNotExist");
    // … while ListCommandInvocations already shows it Pending with ResponseCode -1.
    expect(invocations(t.world, cmd.commandId)[0]).toMatchObject({ status: "Pending", responseCode: -1 });
    await t.step(2_000);
    expect(t.world.getCommandInvocation(cmd.commandId, id)).toMatchObject({
      status: "InProgress",
      statusDetails: "In Progress",
      responseCode: -1,
    });
    const took = await t.until(() => invocations(t.world, cmd.commandId)[0]?.status === "Success", 300_000);
    // install p50 10 s / p99 30 s plus restart p50 2 s: seconds, not minutes.
    expect(took).toBeGreaterThan(3_000);
    expect(took).toBeLessThan(120_000);
    const inv = t.world.getCommandInvocation(cmd.commandId, id);
    expect(inv).toMatchObject({ status: "Success", statusDetails: "Success", responseCode: 0 });
    expect(inv.stdout).toContain("install: v2.0.0 unpacked");
    expect(inv.executionEndedAt).toBeGreaterThan(inv.executionStartedAt as number);
    expect(t.world.listCommands({ commandId: cmd.commandId }).items[0]).toMatchObject({
      status: "Success",
      completedCount: 1,
      errorCount: 0,
    });
    expect(t.world.state().instances.find((i) => i.id === id)?.version).toBe("v2.0.0");
  });

  it("fail with the behaviour's exit code and stderr, and stop at the first failing line", async () => {
    const t = makeWorld(await smallSpec());
    const id = instanceIds(t.world)[0] as string;
    t.world.control({ op: "commandFailures", probability: 1, match: "install" });
    const cmd = send(t.world, [id], DEPLOY("v2.0.0"));
    await t.until(() => invocations(t.world, cmd.commandId)[0]?.status === "Failed", 300_000);
    const inv = t.world.getCommandInvocation(cmd.commandId, id);
    expect(inv).toMatchObject({ statusDetails: "Failed", responseCode: 3 });
    expect(inv.stderr).toContain("install: checksum mismatch for v2.0.0");
    const state = t.world.state().instances.find((i) => i.id === id);
    expect(state).toMatchObject({ version: "v1.9.0", serviceUp: true }); // restart never ran
    expect(t.world.listCommands({ commandId: cmd.commandId }).items[0]).toMatchObject({
      status: "Failed",
      errorCount: 1,
    });
  });

  it("make an invocation Undeliverable when the agent is offline at SendCommand", async () => {
    const t = makeWorld(await smallSpec());
    const [a, b] = instanceIds(t.world) as [string, string];
    t.world.control({ op: "ssmAgent", instanceId: a, online: false });
    const cmd = send(t.world, [a, b], ["true"]);
    expect(invocations(t.world, cmd.commandId).find((i) => i.instanceId === a)).toMatchObject({
      status: "Failed",
      statusDetails: "Undeliverable",
    });
    await t.step(10_000);
    expect(invocations(t.world, cmd.commandId).find((i) => i.instanceId === b)?.status).toBe("Success");
    expect(t.world.listCommands({ commandId: cmd.commandId }).items[0]?.status).toBe("Failed");
  });

  it("time out delivery when the agent goes offline before the command starts", async () => {
    const t = makeWorld(await smallSpec());
    const id = instanceIds(t.world)[0] as string;
    const cmd = send(t.world, [id], ["true"], { timeoutSeconds: 60 });
    t.world.control({ op: "ssmAgent", instanceId: id, online: false });
    await t.step(59_000);
    // SSM tried to deliver and keeps retrying the unavailable node.
    expect(invocations(t.world, cmd.commandId)[0]).toMatchObject({
      status: "Delayed",
      statusDetails: "Delayed",
    });
    await t.step(2_000);
    expect(invocations(t.world, cmd.commandId)[0]).toMatchObject({
      status: "TimedOut",
      statusDetails: "Delivery Timed Out",
    });
    expect(t.world.listCommands({ commandId: cmd.commandId }).items[0]).toMatchObject({
      status: "TimedOut",
      deliveryTimedOutCount: 1,
    });
  });

  it("start a delivered command once the agent comes back online", async () => {
    const t = makeWorld(await smallSpec());
    const id = instanceIds(t.world)[0] as string;
    const cmd = send(t.world, [id], ["true"]);
    t.world.control({ op: "ssmAgent", instanceId: id, online: false });
    await t.step(30_000);
    t.world.control({ op: "ssmAgent", instanceId: id, online: true });
    await t.step(5_000);
    expect(invocations(t.world, cmd.commandId)[0]?.status).toBe("Success");
  });

  it("time out execution past executionTimeout", async () => {
    const t = makeWorld(await smallSpec());
    const id = instanceIds(t.world)[0] as string;
    const cmd = send(t.world, [id], [], {
      parameters: { commands: ["/opt/relay/bin/install v2.0.0"], executionTimeout: ["1"] },
    });
    await t.step(5_000);
    expect(invocations(t.world, cmd.commandId)[0]).toMatchObject({
      status: "TimedOut",
      statusDetails: "Execution Timed Out",
    });
  });

  it("break health when a bad release runs, and recover on rollback", async () => {
    const t = makeWorld(await smallSpec());
    const id = instanceIds(t.world)[0] as string;
    const deploy = send(t.world, [id], DEPLOY("v2.0.0-bad"));
    await t.until(() => invocations(t.world, deploy.commandId)[0]?.status === "Success", 300_000);
    expect(t.world.state().instances.find((i) => i.id === id)?.version).toBe("v2.0.0-bad");
    await t.until(() => healthOf(t.world, "relay-http", id) === "unhealthy", 60_000);
    expect(healthOf(t.world, "relay-rtmp", id)).toBe("unhealthy");
    const rollback = send(t.world, [id], ROLLBACK);
    await t.until(() => invocations(t.world, rollback.commandId)[0]?.status === "Success", 300_000);
    expect(t.world.getCommandInvocation(rollback.commandId, id).stdout).toContain("rolled back to v1.9.0");
    await t.until(() => healthOf(t.world, "relay-http", id) === "healthy", 60_000);
    expect(healthOf(t.world, "relay-rtmp", id)).toBe("healthy");
  });

  it("leave the service down after a failed restart, until a later restart succeeds", async () => {
    const t = makeWorld(await smallSpec());
    const id = instanceIds(t.world)[0] as string;
    t.world.control({ op: "commandFailures", probability: 1, match: "^systemctl" });
    const deploy = send(t.world, [id], DEPLOY("v2.0.0"));
    await t.until(() => invocations(t.world, deploy.commandId)[0]?.status === "Failed", 300_000);
    await t.step(30_000);
    expect(t.world.state().instances.find((i) => i.id === id)).toMatchObject({
      serviceUp: false,
      connections: 0,
    });
    expect(healthOf(t.world, "relay-http", id)).toBe("unhealthy");
    t.world.control({ op: "commandFailures", probability: 0, match: "^systemctl" });
    const retry = send(t.world, [id], ["systemctl restart relay"]);
    await t.until(() => invocations(t.world, retry.commandId)[0]?.status === "Success", 60_000);
    expect(t.world.state().instances.find((i) => i.id === id)).toMatchObject({
      serviceUp: true,
      version: "v2.0.0",
    });
    await t.until(() => healthOf(t.world, "relay-http", id) === "healthy", 60_000);
  });

  it("let a probe print the instance's live connection count", async () => {
    const t = makeWorld(await smallSpec());
    const id = instanceIds(t.world)[0] as string;
    const cmd = send(t.world, [id], ["ss -Htn state established '( sport = :1935 )' | wc -l"]);
    await t.step(5_000);
    expect(t.world.getCommandInvocation(cmd.commandId, id).stdout.trim()).toBe(
      String(connectionsOf(t.world, id)),
    );
  });

  it("run no more invocations at once than MaxConcurrency", async () => {
    const t = makeWorld(await smallSpec());
    const ids = instanceIds(t.world).slice(0, 4);
    const cmd = send(t.world, ids, ["/opt/relay/bin/install v2.0.0"], { maxConcurrency: "50%" });
    let peak = 0;
    while (t.world.listCommands({ commandId: cmd.commandId }).items[0]?.status !== "Success") {
      await t.step(1_000);
      peak = Math.max(
        peak,
        invocations(t.world, cmd.commandId).filter((i) => i.status === "InProgress").length,
      );
    }
    expect(peak).toBe(2);
  });

  it("stop at MaxErrors and terminate the invocations that have not started", async () => {
    const t = makeWorld(await smallSpec());
    const ids = instanceIds(t.world).slice(0, 4);
    t.world.control({ op: "commandFailures", probability: 1 });
    const cmd = send(t.world, ids, ["true"], { maxConcurrency: "1", maxErrors: "0" });
    await t.step(10_000);
    const invs = invocations(t.world, cmd.commandId);
    expect(invs.filter((i) => i.status === "Failed")).toHaveLength(1);
    expect(invs.filter((i) => i.statusDetails === "Terminated")).toHaveLength(3);
    expect(t.world.listCommands({ commandId: cmd.commandId }).items[0]?.status).toBe("Failed");
  });

  it("cancel what has not finished", async () => {
    const t = makeWorld(await smallSpec());
    const id = instanceIds(t.world)[0] as string;
    const cmd = send(t.world, [id], DEPLOY("v2.0.0"));
    await t.step(3_000);
    t.world.cancelCommand(cmd.commandId);
    expect(invocations(t.world, cmd.commandId)[0]?.status).toBe("Cancelled");
    expect(t.world.listCommands({ commandId: cmd.commandId }).items[0]?.status).toBe("Cancelled");
  });

  it("reject more than 50 instance ids, unknown instances and unknown commands with SSM's codes", async () => {
    const t = makeWorld(await smallSpec());
    const many = Array.from({ length: 51 }, (_, n) => `i-0${String(n).padStart(16, "0")}`);
    expect(codeOf(() => send(t.world, many, ["true"]))).toBe("ValidationException");
    expect(codeOf(() => send(t.world, ["i-0000000000000000"], ["true"]))).toBe("InvalidInstanceId");
    expect(codeOf(() => t.world.listCommandInvocations({ commandId: "nope", details: false }))).toBe(
      "InvalidCommandId",
    );
    expect(codeOf(() => t.world.cancelCommand("nope"))).toBe("InvalidCommandId");
  });

  it("target instances by tag", async () => {
    const t = makeWorld(await smallSpec());
    const cmd = t.world.sendCommand({
      documentName: "AWS-RunShellScript",
      targets: [{ key: "tag:Service", values: ["camera-relay"] }],
      parameters: { commands: ["true"] },
    });
    expect(cmd.targetCount).toBe(12);
  });
});
