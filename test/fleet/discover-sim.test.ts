import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createReadOnlyAws } from "../../src/aws/connect.js";
import type { AwsConnection } from "../../src/aws/types.js";
import { discoverFleet } from "../../src/fleet/discover.js";
import type { FleetSpec } from "../../src/plan/types.js";
import { type RunningSimulator, startSimulator } from "../../src/sim/index.js";
import { ScaledClock } from "../../src/util/clock.js";

let sim: RunningSimulator;
let aws: AwsConnection;

beforeAll(async () => {
  // One clock for both sides, fast enough that the client-side budget costs no real time.
  const clock = new ScaledClock(600);
  sim = await startSimulator({ clock });
  aws = createReadOnlyAws({
    region: sim.region,
    endpointUrl: sim.endpoint,
    credentials: { accessKeyId: "simulator", secretAccessKey: "simulator" },
    clock,
  });
});

afterAll(async () => {
  aws?.close();
  await sim?.close();
});

const spec: FleetSpec = {
  select: { tags: { Service: "camera-relay", Env: "prod" } },
  exclude: { tags: { "rollwave/skip": "true" } },
  targetGroups: [],
  autoScaling: { suspendProcesses: [] },
  notReady: "skip",
};

describe("discovery against the simulator's default 1,000-server fleet", () => {
  it("finds every relay with its AZ, ASG, SSM status and its port in both target groups, in a few dozen calls", async () => {
    const fleet = await discoverFleet(aws.reader, spec, { region: sim.region });

    expect(fleet.instances).toHaveLength(1_000);
    expect(fleet.account).toBe(sim.accountId);
    const perAz: Record<string, number> = {};
    for (const i of fleet.instances) perAz[i.az] = (perAz[i.az] ?? 0) + 1;
    expect(perAz).toEqual({ "ap-northeast-1a": 360, "ap-northeast-1c": 340, "ap-northeast-1d": 300 });

    expect(fleet.autoScalingGroups).toEqual([
      "camera-relay-prod-a",
      "camera-relay-prod-c",
      "camera-relay-prod-d",
    ]);
    expect(fleet.instances.every((i) => i.autoScalingGroup === `camera-relay-prod-${i.az.slice(-1)}`)).toBe(
      true,
    );
    expect(fleet.instances.every((i) => i.ssm === "Online" && i.state === "running")).toBe(true);

    const groups = Object.fromEntries(fleet.targetGroups.map((g) => [g.name, g]));
    expect(groups["relay-rtmp"]).toMatchObject({
      type: "network",
      protocol: "TCP",
      deregistrationDelaySeconds: 300,
      connectionTermination: false,
      targetCount: 1_000,
    });
    expect(groups["relay-http"]).toMatchObject({
      type: "application",
      deregistrationDelaySeconds: 30,
      targetCount: 1_000,
    });
    const rtmp = groups["relay-rtmp"]?.arn;
    const http = groups["relay-http"]?.arn;
    for (const i of fleet.instances) {
      expect(i.targets.map((t) => [t.targetGroupArn, t.port, t.state]).sort()).toEqual(
        [
          [rtmp, 1935, "healthy"],
          [http, 8080, "healthy"],
        ].sort(),
      );
    }

    const calls = aws.calls();
    // Budget: no call per instance. See the table in src/fleet/discover.ts.
    expect(calls.byAction["SSM.DescribeInstanceInformation"]).toBe(20);
    expect(calls.byAction["AutoScaling.DescribeAutoScalingInstances"]).toBe(20);
    expect(calls.byAction["ELBv2.DescribeTargetHealth"]).toBe(2);
    expect(calls.total).toBeLessThanOrEqual(60);
    expect(Object.keys(calls.byAction).every((a) => /\.(Describe|List|Get)/.test(a))).toBe(true);
  });

  it("still discovers the whole fleet through 30% throttling and 2% server errors, and counts what the server saw", async () => {
    const before = sim.apiCalls();
    const throttled: string[] = [];
    const stormy = createReadOnlyAws({
      region: sim.region,
      endpointUrl: sim.endpoint,
      credentials: { accessKeyId: "simulator", secretAccessKey: "simulator" },
      clock: sim.clock,
      onThrottle: (operation) => throttled.push(operation),
    });
    sim.setFaults({ throttleRate: 0.3, errorRate: 0.02 });
    try {
      const fleet = await discoverFleet(stormy.reader, spec, { region: sim.region });
      expect(fleet.instances).toHaveLength(1_000);
      expect(fleet.instances.every((i) => i.targets.length === 2 && i.ssm === "Online")).toBe(true);
    } finally {
      sim.setFaults({ throttleRate: 0, errorRate: 0 });
      stormy.close();
    }
    const after = sim.apiCalls();
    const ours = stormy.calls();
    // Two independent counters of the same requests: ours (client side, retries included) and the server's.
    expect(ours.total).toBe(after.total - before.total);
    expect(ours.throttled).toBe(after.throttled - before.throttled);
    expect(ours.throttled).toBeGreaterThan(0);
    expect(throttled).toHaveLength(ours.throttled);
    expect(throttled.every((op) => /^(EC2|ELBv2|SSM|AutoScaling|STS)\.\w+$/.test(op))).toBe(true);
  });
});
