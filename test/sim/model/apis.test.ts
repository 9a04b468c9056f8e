import { describe, expect, it } from "vitest";
import { codeOf, instanceIds, makeWorld, smallSpec } from "./helpers.js";

describe("EC2", () => {
  it("filters instances by tag, state and AZ and pages with MaxResults", async () => {
    const t = makeWorld(await smallSpec());
    const w = t.world;
    expect(
      w.describeInstances({ filters: [{ name: "tag:Service", values: ["camera-relay"] }] }).items,
    ).toHaveLength(12);
    expect(w.describeInstances({ filters: [{ name: "tag:Service", values: ["other"] }] }).items).toHaveLength(
      0,
    );
    expect(
      w.describeInstances({ filters: [{ name: "availability-zone", values: ["ap-northeast-1c"] }] }).items,
    ).toHaveLength(5);
    expect(
      w.describeInstances({ filters: [{ name: "tag-key", values: ["aws:autoscaling:groupName"] }] }).items,
    ).toHaveLength(12);
    const first = w.describeInstances({ maxResults: 5 });
    expect(first.items).toHaveLength(5);
    const second = w.describeInstances({ maxResults: 5, nextToken: first.nextToken as string });
    const third = w.describeInstances({ maxResults: 5, nextToken: second.nextToken as string });
    expect(third.nextToken).toBeUndefined();
    expect(new Set([...first.items, ...second.items, ...third.items].map((i) => i.instanceId)).size).toBe(12);
    t.world.control({ op: "terminateInstance", instanceId: first.items[0]?.instanceId as string });
    expect(
      w.describeInstances({ filters: [{ name: "instance-state-name", values: ["running"] }] }).items,
    ).toHaveLength(11);
  });

  it("answers InvalidInstanceID.NotFound and rejects MaxResults with InstanceIds", async () => {
    const t = makeWorld(await smallSpec());
    expect(codeOf(() => t.world.describeInstances({ instanceIds: ["i-0123456789abcdef0"] }))).toBe(
      "InvalidInstanceID.NotFound",
    );
    const id = instanceIds(t.world)[0] as string;
    expect(codeOf(() => t.world.describeInstances({ instanceIds: [id], maxResults: 5 }))).toBe(
      "InvalidParameterCombination",
    );
    expect(t.world.describeAvailabilityZones()).toEqual([
      { name: "ap-northeast-1a", id: "apne1-az1", state: "available" },
      { name: "ap-northeast-1c", id: "apne1-az2", state: "available" },
    ]);
  });
});

describe("Auto Scaling", () => {
  it("suspends and resumes processes and rejects unknown groups with ValidationError", async () => {
    const t = makeWorld(await smallSpec());
    const w = t.world;
    const groups = w.describeAutoScalingGroups({}).items;
    expect(groups.map((g) => [g.name, g.instances.length])).toEqual([
      ["camera-relay-test-a", 7],
      ["camera-relay-test-c", 5],
    ]);
    w.suspendProcesses("camera-relay-test-a", ["Terminate", "AZRebalance"]);
    expect(w.state().autoScalingGroups[0]?.suspendedProcesses).toEqual(["AZRebalance", "Terminate"]);
    w.resumeProcesses("camera-relay-test-a");
    expect(
      w.describeAutoScalingGroups({ names: ["camera-relay-test-a"] }).items[0]?.suspendedProcesses,
    ).toEqual([]);
    expect(codeOf(() => w.suspendProcesses("nope", ["Launch"]))).toBe("ValidationError");
    expect(codeOf(() => w.suspendProcesses("camera-relay-test-a", ["Explode"]))).toBe("ValidationError");
    const id = instanceIds(w)[0] as string;
    expect(w.describeAutoScalingInstances({ instanceIds: [id] }).items[0]).toMatchObject({
      groupName: "camera-relay-test-a",
      lifecycleState: "InService",
    });
  });
});

describe("SSM inventory and parameters", () => {
  it("reports agents Online or ConnectionLost and pages at most 50", async () => {
    const t = makeWorld(await smallSpec());
    const id = instanceIds(t.world)[0] as string;
    t.world.control({ op: "ssmAgent", instanceId: id, online: false });
    const lost = t.world.describeInstanceInformation({ pingStatus: ["ConnectionLost"] }).items;
    expect(lost.map((i) => i.instanceId)).toEqual([id]);
    const page = t.world.describeInstanceInformation({ maxResults: 5 });
    expect(page.items).toHaveLength(5);
    expect(page.nextToken).toBeDefined();
    expect(codeOf(() => t.world.describeInstanceInformation({ maxResults: 51 }))).toBeDefined();
  });

  it("creates a parameter only once without Overwrite (the run lock)", async () => {
    const t = makeWorld(await smallSpec());
    const w = t.world;
    expect(w.putParameter({ name: "/rollwave/lock", value: "a", overwrite: false })).toEqual({
      version: 1,
      tier: "Standard",
    });
    expect(codeOf(() => w.putParameter({ name: "/rollwave/lock", value: "b", overwrite: false }))).toBe(
      "ParameterAlreadyExists",
    );
    expect(w.getParameter("/rollwave/lock").value).toBe("a");
    expect(w.putParameter({ name: "/rollwave/lock", value: "c", overwrite: true })).toMatchObject({
      version: 2,
    });
    w.deleteParameter("/rollwave/lock");
    expect(codeOf(() => w.getParameter("/rollwave/lock"))).toBe("ParameterNotFound");
    expect(codeOf(() => w.deleteParameter("/rollwave/lock"))).toBe("ParameterNotFound");
  });

  it("names the account in GetCallerIdentity", async () => {
    const t = makeWorld(await smallSpec());
    expect(t.world.getCallerIdentity().account).toBe("123456789012");
  });
});

describe("determinism", () => {
  async function run(seed: number) {
    const t = makeWorld(await smallSpec(), seed);
    const ids = instanceIds(t.world).slice(0, 3);
    t.world.sendCommand({
      documentName: "AWS-RunShellScript",
      instanceIds: ids,
      parameters: {
        commands: [
          "/opt/relay/bin/relayctl drain --rate 30/s",
          "/opt/relay/bin/install v2.0.0",
          "systemctl restart relay",
        ],
      },
    });
    await t.step(180_000);
    const m = t.world.metrics();
    return { state: t.world.state(), cameras: m.cameras, series: m.series };
  }

  it("replays the same history for the same seed, and a different one for another seed", async () => {
    const a = await run(42);
    const b = await run(42);
    const c = await run(43);
    expect(b).toEqual(a);
    expect(c.series).not.toEqual(a.series);
  });
});

describe("scheduled faults", () => {
  it("terminate a random instance and take an agent offline at the times the spec says", async () => {
    const spec = await smallSpec((raw) => {
      raw.faults = {
        scheduled: [
          { at: "1m", op: "terminateInstance", instanceId: "random" },
          { at: "2m", op: "ssmAgent", instanceId: "random", online: false },
        ],
      };
    });
    const t = makeWorld(spec);
    await t.step(59_000);
    expect(t.world.state().instances.filter((i) => i.state !== "running")).toEqual([]);
    await t.step(2_000);
    expect(t.world.state().instances.filter((i) => i.state === "shutting-down")).toHaveLength(1);
    await t.step(60_000);
    const lost = t.world.describeInstanceInformation({ pingStatus: ["ConnectionLost"] }).items;
    expect(lost).toHaveLength(2); // the terminated one and the one whose agent went away
    expect(t.world.metrics().cameras.connected).toBe(2000);
  });
});
