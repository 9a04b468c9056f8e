import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  ResumeProcessesCommand,
  SuspendProcessesCommand,
} from "@aws-sdk/client-auto-scaling";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestSim, type TestSim } from "./helpers.js";

let sim: TestSim;
let asg: AutoScalingClient;
let sts: STSClient;
beforeAll(async () => {
  sim = await startTestSim();
  asg = new AutoScalingClient(sim.client);
  sts = new STSClient(sim.client);
});
afterAll(async () => {
  asg.destroy();
  sts.destroy();
  await sim.close();
});

describe("Auto Scaling over the query protocol", () => {
  it("describes groups with their instances and target groups", async () => {
    const out = await asg.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ["camera-relay-a"] }),
    );
    const g = out.AutoScalingGroups?.[0];
    expect(g).toMatchObject({
      AutoScalingGroupName: "camera-relay-a",
      MinSize: 1,
      MaxSize: 10,
      DesiredCapacity: 5,
    });
    expect(g?.Instances).toHaveLength(12);
    expect(g?.Instances?.[0]).toMatchObject({ LifecycleState: "InService", HealthStatus: "Healthy" });
    expect(g?.TargetGroupARNs?.[0]).toMatch(/^arn:aws:elasticloadbalancing:/);
    expect(g?.CreatedTime).toEqual(new Date(Date.UTC(2025, 0, 1)));
    expect(sim.world.calls.at(-1)?.args[0]).toMatchObject({ names: ["camera-relay-a"] });
  });

  it("suspends and resumes named processes, and shows them suspended in between", async () => {
    await asg.send(
      new SuspendProcessesCommand({
        AutoScalingGroupName: "camera-relay-a",
        ScalingProcesses: ["Terminate", "AZRebalance"],
      }),
    );
    const during = await asg.send(new DescribeAutoScalingGroupsCommand({}));
    expect(during.AutoScalingGroups?.[0]?.SuspendedProcesses?.map((p) => p.ProcessName)).toEqual([
      "Terminate",
      "AZRebalance",
    ]);
    await asg.send(
      new ResumeProcessesCommand({
        AutoScalingGroupName: "camera-relay-a",
        ScalingProcesses: ["Terminate", "AZRebalance"],
      }),
    );
    const after = await asg.send(new DescribeAutoScalingGroupsCommand({}));
    expect(after.AutoScalingGroups?.[0]?.SuspendedProcesses).toEqual([]);
  });

  it("rejects a process name Auto Scaling does not know", async () => {
    const err = await asg
      .send(
        new SuspendProcessesCommand({ AutoScalingGroupName: "camera-relay-a", ScalingProcesses: ["Reboot"] }),
      )
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "ValidationError", $metadata: { httpStatusCode: 400 } });
  });

  it("describes instances by id, at most 50 per call", async () => {
    const out = await asg.send(
      new DescribeAutoScalingInstancesCommand({ InstanceIds: ["i-00000000000000003"] }),
    );
    expect(out.AutoScalingInstances).toEqual([
      {
        InstanceId: "i-00000000000000003",
        AutoScalingGroupName: "camera-relay-a",
        AvailabilityZone: "ap-northeast-1a",
        LifecycleState: "InService",
        HealthStatus: "HEALTHY",
        ProtectedFromScaleIn: false,
      },
    ]);
    const many = Array.from({ length: 51 }, (_, i) => `i-${i}`);
    const err = await asg
      .send(new DescribeAutoScalingInstancesCommand({ InstanceIds: many }))
      .catch((e) => e);
    expect(err).toMatchObject({ name: "ValidationError" });
  });
});

describe("STS", () => {
  it("tells the caller which account it is talking to", async () => {
    const out = await sts.send(new GetCallerIdentityCommand({}));
    expect(out).toMatchObject({
      Account: "123456789012",
      Arn: "arn:aws:iam::123456789012:user/simulator",
      UserId: "AIDASIMULATOR",
    });
  });
});
