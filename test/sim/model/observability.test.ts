import { describe, expect, it } from "vitest";
import type { SimWorld } from "../../../src/sim/model/api.js";
import { connectionsOf, instanceIds, makeWorld, type Raw, smallSpec, tgArn } from "./helpers.js";

function alarm(w: SimWorld, name: string) {
  return w.describeAlarms({ alarmNames: [name] }).items[0];
}

describe("alarms", () => {
  it("raise relay-camera-disconnects while cameras cannot find room, and clear it after", async () => {
    const spec = await smallSpec((raw) => {
      raw.cameras.perInstanceLimit = 170;
      raw.commands.find((c: Raw) => c.match.includes("systemctl")).duration = { p50: "150s", p99: "151s" };
    });
    const t = makeWorld(spec);
    await t.step(60_000);
    expect(alarm(t.world, "relay-camera-disconnects")?.state).toBe("OK");
    t.world.sendCommand({
      documentName: "AWS-RunShellScript",
      instanceIds: instanceIds(t.world).slice(0, 3),
      parameters: { commands: ["systemctl restart relay"] },
    });
    await t.step(120_000);
    const raised = alarm(t.world, "relay-camera-disconnects");
    expect(raised?.state).toBe("ALARM");
    expect(raised?.comparison).toBe("LessThanThreshold");
    await t.step(240_000);
    expect(alarm(t.world, "relay-camera-disconnects")?.state).toBe("OK");
    expect(t.world.describeAlarms({ stateValue: "ALARM" }).items).toEqual([]);
  });

  it("raise relay-5xx-rate when more than 2% of registered targets fail health checks", async () => {
    const t = makeWorld(await smallSpec());
    await t.step(60_000);
    expect(alarm(t.world, "relay-5xx-rate")?.state).toBe("OK");
    t.world.control({ op: "healthFlap", instanceId: instanceIds(t.world)[0] as string, seconds: 600 });
    await t.step(120_000);
    expect(alarm(t.world, "relay-5xx-rate")?.state).toBe("ALARM");
  });

  it("start as INSUFFICIENT_DATA before their first period", async () => {
    const t = makeWorld(await smallSpec());
    expect(alarm(t.world, "relay-5xx-rate")?.state).toBe("INSUFFICIENT_DATA");
  });
});

describe("metrics", () => {
  it("answer GetMetricData with each instance's connections, newest first and at most 10 s old", async () => {
    const t = makeWorld(await smallSpec());
    const id = instanceIds(t.world)[0] as string;
    t.world.sendCommand({
      documentName: "AWS-RunShellScript",
      instanceIds: [id],
      parameters: { commands: ["/opt/relay/bin/relayctl drain --rate 50/s"] },
    });
    await t.step(120_000);
    const now = t.clock.now();
    const [r, fleet, other] = t.world.getMetricData({
      start: now - 120_000,
      end: now,
      queries: [
        {
          id: "c",
          namespace: "CameraRelay",
          metricName: "ActiveConnections",
          dimensions: [{ name: "InstanceId", value: id }],
          periodSeconds: 10,
          stat: "Maximum",
        },
        {
          id: "f",
          namespace: "CameraRelay",
          metricName: "ConnectedCameras",
          dimensions: [],
          periodSeconds: 60,
          stat: "Minimum",
        },
        {
          id: "x",
          namespace: "AWS/EC2",
          metricName: "CPUUtilization",
          dimensions: [],
          periodSeconds: 60,
          stat: "Average",
        },
      ],
    });
    expect(r?.values[0]).toBe(0);
    expect(now - (r?.timestamps[0] as number)).toBeLessThanOrEqual(10_000);
    expect(r?.values.at(-1)).toBeGreaterThan(100); // before the drain
    expect(r?.timestamps).toEqual([...(r?.timestamps ?? [])].sort((a, b) => b - a));
    expect(fleet?.values.length).toBe(2);
    // Shed cameras find room within a second; a 10 s sample sees at most a few of them in flight.
    expect(Math.min(...(fleet?.values ?? []))).toBeGreaterThan(1900);
    expect(other?.values).toEqual([]);
  });
});

describe("invariants", () => {
  it("record a capacity-floor violation in the AZ that drops below its floor, once per episode", async () => {
    const t = makeWorld(await smallSpec());
    const byAz = new Map<string, string[]>();
    for (const i of t.world.state().instances) byAz.set(i.az, [...(byAz.get(i.az) ?? []), i.id]);
    const small = byAz.get("ap-northeast-1c") as string[];
    t.world.setCapacityFloor({ perAz: { "ap-northeast-1a": 6, "ap-northeast-1c": 4 } });
    const arn = tgArn(t.world, "relay-http");
    t.world.deregisterTargets(arn, [{ id: small[0] as string }]); // 5 → 4: at the floor, fine
    await t.step(40_000);
    expect(t.world.metrics().invariantViolations).toEqual([]);
    t.world.deregisterTargets(arn, [{ id: small[1] as string }]); // 4 → 3: below
    await t.step(40_000);
    t.world.deregisterTargets(arn, [{ id: small[2] as string }]); // still the same episode
    await t.step(40_000);
    const v = t.world.metrics().invariantViolations;
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ invariant: "capacity-floor" });
    expect(v[0]?.message).toContain("ap-northeast-1c");
    // Back in service, then below again: a second episode.
    t.world.registerTargets(arn, [{ id: small[1] as string }, { id: small[2] as string }]);
    await t.step(60_000);
    t.world.deregisterTargets(arn, [{ id: small[3] as string }, { id: small[4] as string }]);
    await t.step(1_000);
    expect(t.world.metrics().invariantViolations).toHaveLength(2);
  });

  it("stay clean through a full drain–deploy–register cycle above the floor", async () => {
    const t = makeWorld(await smallSpec());
    t.world.setCapacityFloor({ total: 11 });
    const id = instanceIds(t.world)[0] as string;
    const tgs = ["relay-rtmp", "relay-http"].map((n) => tgArn(t.world, n));
    t.world.sendCommand({
      documentName: "AWS-RunShellScript",
      instanceIds: [id],
      parameters: { commands: ["/opt/relay/bin/relayctl drain --rate 50/s"] },
    });
    await t.until(() => connectionsOf(t.world, id) === 0, 60_000);
    for (const arn of tgs) t.world.deregisterTargets(arn, [{ id }]);
    await t.step(61_000);
    const deploy = t.world.sendCommand({
      documentName: "AWS-RunShellScript",
      instanceIds: [id],
      parameters: { commands: ["/opt/relay/bin/install v2.0.0", "systemctl restart relay"] },
    });
    await t.until(
      () => t.world.listCommands({ commandId: deploy.commandId }).items[0]?.status === "Success",
      300_000,
    );
    for (const arn of tgs) t.world.registerTargets(arn, [{ id }]);
    await t.step(60_000);
    const m = t.world.metrics();
    expect(m.invariantViolations).toEqual([]);
    expect(m.cameras.connected).toBe(2000);
    expect(m.series.length).toBeGreaterThan(100);
    expect(m.series.some((s) => s.inService === 11 && s.draining === 1)).toBe(true);
    expect(t.world.state().instances.find((i) => i.id === id)?.targets).toEqual({
      "relay-rtmp": "healthy",
      "relay-http": "healthy",
    });
  });
});
