import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import {
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterEach, describe, expect, it } from "vitest";
import { FaultInjector } from "../../../src/sim/wire/faults.js";
import { tickIntervalMs } from "../../../src/sim/wire/http-server.js";
import { ManualClock, ScaledClock } from "../../../src/util/clock.js";
import { createRng } from "../../../src/util/rng.js";
import { startTestSim, type TestSim } from "./helpers.js";

describe("token buckets in simulated time", () => {
  it("lets a burst of 40 ELB Describe calls through, throttles the 41st, and refills 10 per second", () => {
    const f = new FaultInjector(undefined, createRng(1));
    const t = 1_000_000;
    for (let i = 0; i < 40; i++)
      expect(f.judge("ELBv2", i % 2 ? "DescribeTargetHealth" : "DescribeTargetGroups", t)).toBeUndefined();
    expect(f.judge("ELBv2", "DescribeTargetHealth", t)).toEqual({ kind: "throttle" });
    // 0.5 s later five tokens are back, not more.
    for (let i = 0; i < 5; i++) expect(f.judge("ELBv2", "DescribeLoadBalancers", t + 500)).toBeUndefined();
    expect(f.judge("ELBv2", "DescribeLoadBalancers", t + 500)).toEqual({ kind: "throttle" });
    // Registration has its own bucket: Describe exhaustion does not touch it.
    expect(f.judge("ELBv2", "RegisterTargets", t + 500)).toBeUndefined();
  });

  it("meters by the most specific key: action, then the longest prefix, then the service", () => {
    const f = new FaultInjector({ buckets: { "SSM.Get*": { burst: 1, perSecond: 0 } } }, createRng(1));
    expect(f.bucketKey("SSM", "GetCommandInvocation")).toBe("SSM.GetCommandInvocation");
    expect(f.bucketKey("SSM", "GetParameter")).toBe("SSM.Get*");
    expect(f.bucketKey("SSM", "SendCommand")).toBe("SSM");
    expect(f.bucketKey("EC2", "DescribeInstances")).toBe("EC2.Describe*");
    f.set({ buckets: { "EC2.Describe*": null, EC2: null } });
    expect(f.bucketKey("EC2", "DescribeInstances")).toBeUndefined();
  });

  it("lets a burst of 100 EC2 Describe calls through by default, throttles the 101st, and refills 20 per second", () => {
    const f = new FaultInjector(undefined, createRng(1));
    const t = 2_000_000;
    for (let i = 0; i < 100; i++) expect(f.judge("EC2", "DescribeInstances", t)).toBeUndefined();
    expect(f.judge("EC2", "DescribeInstances", t)).toEqual({ kind: "throttle" });
    for (let i = 0; i < 2; i++) expect(f.judge("EC2", "DescribeAvailabilityZones", t + 100)).toBeUndefined();
    expect(f.judge("EC2", "DescribeInstances", t + 100)).toEqual({ kind: "throttle" });
  });

  it("rejects rates outside 0..1", () => {
    const f = new FaultInjector(undefined, createRng(1));
    expect(() => f.set({ errorRate: 1.5 })).toThrow(/errorRate/);
    expect(() => f.set({ throttleRate: -0.1 })).toThrow(/throttleRate/);
  });
});

describe("wire faults through the real SDK clients", () => {
  let sim: TestSim | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it("throttles an exhausted bucket; the SDK retries and succeeds once simulated time refills it", async () => {
    // Real-time clock, a bucket of 2 refilling 10/s: four concurrent calls overdraw it, and the SDK's
    // backoff (hundreds of ms for throttling) gives the bucket time to refill.
    sim = await startTestSim({
      clock: new ScaledClock(1),
      faults: { buckets: { "ELBv2.Describe*": { burst: 2, perSecond: 10 } } },
    });
    const elb = new ElasticLoadBalancingV2Client({ ...sim.client, maxAttempts: 10 });
    const results = await Promise.all(
      Array.from({ length: 4 }, () => elb.send(new DescribeTargetGroupsCommand({}))),
    );
    expect(results.every((r) => r.TargetGroups?.length)).toBe(true);
    const calls = sim.wire.counter.snapshot();
    expect(calls.throttled).toBeGreaterThan(0);
    expect(calls.byAction["ELBv2.DescribeTargetGroups"]).toBe(4 + calls.throttled);
    elb.destroy();
  });

  it("surfaces each service's own throttling error when the client does not retry", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1)); // time stands still: no refill
    sim = await startTestSim({ clock, faults: { throttleRate: 1 } });
    const opts = { ...sim.client, maxAttempts: 1 };
    const ec2 = await new EC2Client(opts).send(new DescribeInstancesCommand({})).catch((e: unknown) => e);
    const elb = await new ElasticLoadBalancingV2Client(opts)
      .send(new DescribeTargetGroupsCommand({}))
      .catch((e: unknown) => e);
    const ssm = await new SSMClient(opts)
      .send(new GetParameterCommand({ Name: "x" }))
      .catch((e: unknown) => e);
    expect(ec2).toMatchObject({ name: "RequestLimitExceeded", $metadata: { httpStatusCode: 503 } });
    expect(elb).toMatchObject({
      name: "Throttling",
      message: "Rate exceeded",
      $metadata: { httpStatusCode: 400 },
    });
    expect(ssm).toMatchObject({ name: "ThrottlingException", $metadata: { httpStatusCode: 400 } });
    expect(sim.wire.counter.snapshot().throttled).toBe(3);
  });

  it("throttles once a bucket is empty and stays throttled while simulated time stands still", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    sim = await startTestSim({
      clock,
      faults: { buckets: { "EC2.DescribeInstances": { burst: 1, perSecond: 1 } } },
    });
    const ec2 = new EC2Client({ ...sim.client, maxAttempts: 1 });
    await ec2.send(new DescribeInstancesCommand({}));
    const err = await ec2.send(new DescribeInstancesCommand({})).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "RequestLimitExceeded", $metadata: { httpStatusCode: 503 } });
    await clock.advance(1_000);
    const again = await ec2.send(new DescribeInstancesCommand({}));
    expect(again.$metadata.httpStatusCode).toBe(200);
    ec2.destroy();
  });

  it("answers injected 5xx that the SDK retries as transient", async () => {
    sim = await startTestSim({ faults: { errorRate: 1 } });
    const ssm = new SSMClient({ ...sim.client, maxAttempts: 3 });
    const err = (await ssm.send(new GetParameterCommand({ Name: "x" })).catch((e: unknown) => e)) as {
      $metadata: { httpStatusCode: number; attempts: number };
    };
    expect(err.$metadata.httpStatusCode).toBeGreaterThanOrEqual(500);
    expect(err.$metadata.attempts).toBe(3);
    expect(sim.wire.counter.snapshot()).toMatchObject({ errors5xx: 3, byAction: { "SSM.GetParameter": 3 } });
    ssm.destroy();
  });

  it("adds latency in simulated time: a request waits until the clock has moved", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    sim = await startTestSim({ clock, faults: { latencyMs: 5_000 } });
    const ec2 = new EC2Client(sim.client);
    let done = false;
    const call = ec2.send(new DescribeInstancesCommand({})).then(() => {
      done = true;
    });
    for (let i = 0; i < 50 && clock.pending === 0; i++) await new Promise((r) => setTimeout(r, 5));
    await clock.advance(4_999);
    expect(done).toBe(false);
    await clock.advance(1);
    await call;
    expect(done).toBe(true);
    ec2.destroy();
  });
});

describe("the idle ticker", () => {
  it("ticks about once per simulated second, but never faster than every 20 ms of real time", () => {
    expect(tickIntervalMs(new ScaledClock(1))).toBe(1000);
    expect(tickIntervalMs(new ScaledClock(10))).toBe(100);
    expect(tickIntervalMs(new ScaledClock(60))).toBe(20);
    expect(tickIntervalMs(new ScaledClock(6000))).toBe(20);
    expect(tickIntervalMs(new ManualClock(0))).toBe(1000);
  });
});
