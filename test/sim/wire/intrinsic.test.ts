/**
 * The intrinsic phase times the simulator reports in /_sim/state (rollout-speed issue §1): one
 * instance is cycled by hand through the real SDK clients, as the engine would, and the recorded
 * times are checked against what the same APIs show.
 */
import { fileURLToPath } from "node:url";
import {
  DeregisterTargetsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SimIntrinsic, SimStateSnapshot } from "../../../src/sim/model/api.js";
import { DEFAULT_BUCKETS, type RunningSimulator, startSimulator } from "../../../src/sim/server.js";
import { ManualClock } from "../../../src/util/clock.js";

const smallFleet = fileURLToPath(new URL("../../../plans/sim/small-fleet.yaml", import.meta.url));
const T0 = Date.UTC(2026, 0, 1, 3, 0, 0);

let sim: RunningSimulator;
let clock: ManualClock;
let elb: ElasticLoadBalancingV2Client;
let ssm: SSMClient;
let tgs: string[];
beforeEach(async () => {
  clock = new ManualClock(T0);
  const noBuckets = Object.fromEntries(Object.keys(DEFAULT_BUCKETS).map((k) => [k, null]));
  sim = await startSimulator({ fleet: smallFleet, clock, seed: 4, faults: { buckets: noBuckets } });
  const opts = {
    region: sim.region,
    endpoint: sim.endpoint,
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
  };
  elb = new ElasticLoadBalancingV2Client(opts);
  ssm = new SSMClient(opts);
  const out = await elb.send(new DescribeTargetGroupsCommand({}));
  tgs = (out.TargetGroups ?? []).map((t) => t.TargetGroupArn as string);
});
afterEach(async () => {
  elb.destroy();
  ssm.destroy();
  await sim.close();
});

async function state(): Promise<SimStateSnapshot> {
  return (await (await fetch(`${sim.endpoint}/_sim/state`)).json()) as SimStateSnapshot;
}
async function intrinsicOf(id: string): Promise<SimIntrinsic> {
  return (await state()).intrinsic.find((i) => i.instanceId === id) as SimIntrinsic;
}

/** Send a step and let it finish; answers its elapsed time as GetCommandInvocation reports it. */
async function run(id: string, step: string, commands: string[]): Promise<number> {
  const sent = await ssm.send(
    new SendCommandCommand({
      DocumentName: "AWS-RunShellScript",
      InstanceIds: [id],
      Parameters: { commands },
      Comment: `rollwave small-relay ${step} tok`,
    }),
  );
  await clock.advance(120_000);
  const inv = await ssm.send(
    new GetCommandInvocationCommand({ CommandId: sent.Command?.CommandId as string, InstanceId: id }),
  );
  expect(inv.Status).toBe("Success");
  const m = /^PT([\d.]+)S$/.exec(inv.ExecutionElapsedTime ?? "");
  return Number(m?.[1]) * 1000;
}

/** Steps of 1 s until the instance is healthy in every group; answers the simulated time that took. */
async function untilHealthy(id: string): Promise<number> {
  const start = clock.now();
  for (let i = 0; i < 300; i++) {
    const states = await Promise.all(
      tgs.map(async (arn) => {
        const h = await elb.send(
          new DescribeTargetHealthCommand({ TargetGroupArn: arn, Targets: [{ Id: id }] }),
        );
        return h.TargetHealthDescriptions?.[0]?.TargetHealth?.State;
      }),
    );
    if (states.every((s) => s === "healthy")) return clock.now() - start;
    await clock.advance(1_000);
  }
  throw new Error(`${id} never became healthy`);
}

describe("intrinsic phase times in /_sim/state", () => {
  it("records one cycle: drawn command times, the drain to zero connections, and health after registration", async () => {
    const before = await state();
    const id = before.instances[0]?.id as string;
    const connections = before.instances[0]?.connections as number;
    expect(connections).toBeGreaterThan(0);
    expect((await intrinsicOf(id)).cycles).toBe(0);

    for (const arn of tgs)
      await elb.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: id }] }));
    const drainElapsed = await run(id, "preDrain", ["/opt/relay/bin/relayctl drain --rate 50/s"]);
    const deployElapsed = await run(id, "deploy", [
      "/opt/relay/bin/install v2.0.0",
      "systemctl restart relay",
    ]);
    for (const arn of tgs)
      await elb.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: id }] }));
    const healthyAfter = await untilHealthy(id);

    const r = await intrinsicOf(id);
    expect(r.cycles).toBe(1);
    expect(r.displaced).toBe(connections);
    // Commands: exactly the durations the invocations report, by step.
    expect(r.stepMs["rollwave small-relay preDrain"]).toBeCloseTo(drainElapsed, -1);
    expect(r.stepMs["rollwave small-relay deploy"]).toBeCloseTo(deployElapsed, -1);
    expect(r.commandMs).toBe(
      r.stepMs["rollwave small-relay preDrain"]! + r.stepMs["rollwave small-relay deploy"]!,
    );
    // Drain: shedding 50/s from the time the drain started, ended before the 30 s/60 s delays.
    expect(r.drainMs).toBeGreaterThan(((connections - 50) / 50) * 1000);
    expect(r.drainMs).toBeLessThan(30_000);
    expect(r.drainsEndedByDelay).toBe(0);
    // Health: 3 checks 10 s apart after registration: 20–30 s, within the second we polled.
    expect(r.healthMs).toBeGreaterThanOrEqual(20_000);
    expect(r.healthMs).toBeLessThanOrEqual(30_000);
    expect(Math.abs(r.healthMs - healthyAfter)).toBeLessThanOrEqual(1_000);
    expect(r.serviceMs).toBe(r.commandMs + r.drainMs + r.healthMs);
  });

  it("ends a drain at the deregistration delay when stragglers stay, and at once under a high threshold", async () => {
    const [a, b] = (await state()).instances.map((i) => i.id) as [string, string];
    sim.world.control({ op: "slowDrain", share: 1, instanceIds: [a] });
    // The ALB group (30 s delay) first, the cameras' NLB group (60 s) 40 s later: the drain runs
    // from the first deregistration to the end of the cameras' group's delay.
    const [rtmp, http] = ["relay-rtmp", "relay-http"].map(
      (name) => tgs.find((arn) => arn.includes(`:targetgroup/${name}/`)) as string,
    ) as [string, string];
    await elb.send(new DeregisterTargetsCommand({ TargetGroupArn: http, Targets: [{ Id: a }] }));
    await clock.advance(40_000);
    await elb.send(new DeregisterTargetsCommand({ TargetGroupArn: rtmp, Targets: [{ Id: a }] }));
    await run(a, "preDrain", ["/opt/relay/bin/relayctl drain --rate 50/s"]);
    await run(a, "deploy", ["/opt/relay/bin/install v2.0.0", "systemctl restart relay"]);
    for (const arn of tgs)
      await elb.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: a }] }));
    await untilHealthy(a);
    const slow = await intrinsicOf(a);
    expect(slow.drainsEndedByDelay).toBe(1);
    expect(slow.drainMs).toBe(40_000 + 60_000);

    const set = await fetch(`${sim.endpoint}/_sim/drain`, {
      method: "POST",
      body: JSON.stringify({ threshold: 1000 }),
    });
    expect(set.status).toBe(200);
    expect((await state()).drainThreshold).toBe(1000);
    for (const arn of tgs)
      await elb.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: b }] }));
    for (const arn of tgs)
      await elb.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: b }] }));
    await untilHealthy(b);
    expect((await intrinsicOf(b)).drainMs).toBe(0);

    const bad = await fetch(`${sim.endpoint}/_sim/drain`, {
      method: "POST",
      body: JSON.stringify({ threshold: -1 }),
    });
    expect(bad.status).toBe(400);
  });
});
