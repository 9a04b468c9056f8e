import { fileURLToPath } from "node:url";
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  ResumeProcessesCommand,
  SuspendProcessesCommand,
} from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeInstancesCommand, EC2Client, paginateDescribeInstances } from "@aws-sdk/client-ec2";
import {
  DeregisterTargetsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  PutParameterCommand,
  SendCommandCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningSimulator, startSimulator } from "../../../src/sim/server.js";
import { ManualClock } from "../../../src/util/clock.js";

const smallFleet = fileURLToPath(new URL("../../../plans/sim/small-fleet.yaml", import.meta.url));
const T0 = Date.UTC(2026, 0, 1, 3, 0, 0);

let sim: RunningSimulator;
let clock: ManualClock;
let opts: { region: string; endpoint: string; credentials: { accessKeyId: string; secretAccessKey: string } };
beforeAll(async () => {
  clock = new ManualClock(T0);
  sim = await startSimulator({ fleet: smallFleet, clock, seed: 3 });
  opts = {
    region: sim.region,
    endpoint: sim.endpoint,
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
  };
});
afterAll(async () => {
  await sim.close();
});

async function tgArn(name: string): Promise<string> {
  const elb = new ElasticLoadBalancingV2Client(opts);
  const out = await elb.send(new DescribeTargetGroupsCommand({ Names: [name] }));
  return out.TargetGroups?.[0]?.TargetGroupArn as string;
}

async function instanceIds(): Promise<string[]> {
  const out = await new EC2Client(opts).send(new DescribeInstancesCommand({}));
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId as string);
}

describe("the real fleet model behind the wire (plans/sim/small-fleet.yaml)", () => {
  it("serves the spec's account, region and twelve instances, paged five at a time", async () => {
    expect(sim.region).toBe("ap-northeast-1");
    const id = await new STSClient(opts).send(new GetCallerIdentityCommand({}));
    expect(id.Account).toBe("123456789012");
    const pages: number[] = [];
    for await (const page of paginateDescribeInstances({ client: new EC2Client(opts), pageSize: 5 }, {})) {
      pages.push((page.Reservations ?? []).flatMap((r) => r.Instances ?? []).length);
    }
    expect(pages).toEqual([5, 5, 2]);
  });

  it("filters instances by tag, zone and state the way EC2 does", async () => {
    const ec2 = new EC2Client(opts);
    const count = async (Filters: { Name: string; Values: string[] }[]) =>
      (await ec2.send(new DescribeInstancesCommand({ Filters }))).Reservations?.flatMap(
        (r) => r.Instances ?? [],
      ).length;
    expect(await count([{ Name: "availability-zone", Values: ["ap-northeast-1a"] }])).toBe(7);
    expect(await count([{ Name: "tag:Service", Values: ["camera-relay"] }])).toBe(12);
    expect(await count([{ Name: "tag:Service", Values: ["something-else"] }])).toBe(0);
    expect(await count([{ Name: "tag-key", Values: ["Env"] }])).toBe(12);
    expect(await count([{ Name: "instance-state-name", Values: ["running"] }])).toBe(12);
  });

  it("drains a deregistered target for the deregistration delay, then shows it unused", async () => {
    const elb = new ElasticLoadBalancingV2Client(opts);
    const arn = await tgArn("relay-http"); // ALB group, 30 s delay
    const [id] = await instanceIds();
    const health = async () =>
      (
        await elb.send(
          new DescribeTargetHealthCommand({ TargetGroupArn: arn, Targets: [{ Id: id as string }] }),
        )
      ).TargetHealthDescriptions?.[0]?.TargetHealth;
    expect((await health())?.State).toBe("healthy");
    await elb.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: id as string }] }));
    expect(await health()).toMatchObject({ State: "draining", Reason: "Target.DeregistrationInProgress" });
    await clock.advance(31_000);
    expect(await health()).toMatchObject({ State: "unused" });

    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: id as string }] }));
    expect((await health())?.State).toBe("initial");
    await clock.advance(60_000); // 3 checks at 10 s intervals
    expect((await health())?.State).toBe("healthy");
  });

  it("runs a command: the invocation is missing for a moment, then reports the live connection count", async () => {
    const ssm = new SSMClient(opts);
    const [id] = await instanceIds();
    const sent = await ssm.send(
      new SendCommandCommand({
        DocumentName: "AWS-RunShellScript",
        InstanceIds: [id as string],
        Parameters: { commands: ["ss -Htn state established '( sport = :1935 )' | wc -l"] },
      }),
    );
    const commandId = sent.Command?.CommandId as string;
    const early = await ssm
      .send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: id }))
      .catch((e: unknown) => e);
    expect(early).toMatchObject({ name: "InvocationDoesNotExist" });
    await clock.advance(10_000);
    const done = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: id }));
    expect(done.Status).toBe("Success");
    const live = sim.state().instances.find((i) => i.id === id)?.connections;
    expect(done.StandardOutputContent?.trim()).toBe(String(live));
    const listed = await ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, Details: true }));
    expect(listed.CommandInvocations?.[0]?.CommandPlugins?.[0]?.Output?.trim()).toBe(String(live));
  });

  it("carries a failed command's stderr in the listed plugin output after the agent's ERROR title", async () => {
    const ssm = new SSMClient(opts);
    const [id] = await instanceIds();
    sim.world.control({ op: "commandFailures", probability: 1, match: "install" });
    try {
      const sent = await ssm.send(
        new SendCommandCommand({
          DocumentName: "AWS-RunShellScript",
          InstanceIds: [id as string],
          Parameters: { commands: ["/opt/relay/bin/install v9.9.9"] },
        }),
      );
      await clock.advance(120_000);
      const listed = await ssm.send(
        new ListCommandInvocationsCommand({ CommandId: sent.Command?.CommandId, Details: true }),
      );
      const plugin = listed.CommandInvocations?.[0]?.CommandPlugins?.[0];
      expect(plugin?.Status).toBe("Failed");
      expect(plugin?.Output).toMatch(/\n----------ERROR-------\ninstall: checksum mismatch for v9\.9\.9/);
    } finally {
      sim.world.control({ op: "commandFailures", probability: 0, match: "install" });
    }
  });

  it("makes PutParameter without Overwrite an atomic create-if-absent", async () => {
    const ssm = new SSMClient(opts);
    await ssm.send(new PutParameterCommand({ Name: "/rollwave/lock/relay", Value: "a", Type: "String" }));
    const err = await ssm
      .send(
        new PutParameterCommand({
          Name: "/rollwave/lock/relay",
          Value: "b",
          Type: "String",
          Overwrite: false,
        }),
      )
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "ParameterAlreadyExists" });
  });

  it("shows an SSM agent taken offline through the control endpoint as ConnectionLost", async () => {
    const ssm = new SSMClient(opts);
    const ids = await instanceIds();
    const target = ids[5] as string;
    const res = await fetch(`${sim.endpoint}/_sim/control`, {
      method: "POST",
      body: JSON.stringify({ op: "ssmAgent", instanceId: target, online: false }),
    });
    expect(res.status).toBe(200);
    await clock.advance(600_000);
    const out = await ssm.send(
      new DescribeInstanceInformationCommand({ Filters: [{ Key: "InstanceIds", Values: [target] }] }),
    );
    expect(out.InstanceInformationList?.[0]?.PingStatus).toBe("ConnectionLost");
  });

  it("shows a terminated instance leaving the running state", async () => {
    const ids = await instanceIds();
    const target = ids[11] as string;
    await fetch(`${sim.endpoint}/_sim/control`, {
      method: "POST",
      body: JSON.stringify({ op: "terminateInstance", instanceId: target }),
    });
    const out = await new EC2Client(opts).send(new DescribeInstancesCommand({ InstanceIds: [target] }));
    expect(out.Reservations?.[0]?.Instances?.[0]?.State?.Name).not.toBe("running");
  });

  it("answers alarms and metrics from the model", async () => {
    const cw = new CloudWatchClient(opts);
    const alarms = await cw.send(new DescribeAlarmsCommand({ AlarmNames: ["relay-camera-disconnects"] }));
    expect(alarms.MetricAlarms?.[0]?.AlarmName).toBe("relay-camera-disconnects");
    expect(["OK", "ALARM", "INSUFFICIENT_DATA"]).toContain(alarms.MetricAlarms?.[0]?.StateValue);
    const now = clock.now();
    const data = await cw.send(
      new GetMetricDataCommand({
        StartTime: new Date(now - 300_000),
        EndTime: new Date(now),
        MetricDataQueries: [
          {
            Id: "cams",
            MetricStat: {
              Metric: { Namespace: "CameraRelay", MetricName: "ConnectedCameras" },
              Period: 60,
              Stat: "Average",
            },
          },
        ],
      }),
    );
    const result = data.MetricDataResults?.[0];
    expect(result?.Values?.length).toBeGreaterThan(0);
    expect(result?.Timestamps?.[0]).toBeInstanceOf(Date);
    expect(result?.Values?.[0]).toBeLessThanOrEqual(2000);
  });

  it("suspends and resumes Auto Scaling processes on a real group", async () => {
    const asg = new AutoScalingClient(opts);
    const groups = await asg.send(new DescribeAutoScalingGroupsCommand({}));
    const name = groups.AutoScalingGroups?.[0]?.AutoScalingGroupName as string;
    await asg.send(
      new SuspendProcessesCommand({ AutoScalingGroupName: name, ScalingProcesses: ["Terminate"] }),
    );
    const during = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
    expect(during.AutoScalingGroups?.[0]?.SuspendedProcesses?.map((p) => p.ProcessName)).toEqual([
      "Terminate",
    ]);
    expect(sim.state().autoScalingGroups.find((g) => g.name === name)?.suspendedProcesses).toEqual([
      "Terminate",
    ]);
    await asg.send(new ResumeProcessesCommand({ AutoScalingGroupName: name }));
    const after = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
    expect(after.AutoScalingGroups?.[0]?.SuspendedProcesses).toEqual([]);
  });

  it("counts every call by Service.Action in the metrics endpoint", async () => {
    const res = await fetch(`${sim.endpoint}/_sim/metrics`);
    const body = (await res.json()) as {
      api: { byAction: Record<string, number>; total: number };
      cameras: object;
    };
    expect(body.cameras).toHaveProperty("connected");
    expect(body.api.byAction["EC2.DescribeInstances"]).toBeGreaterThan(3);
    expect(body.api.total).toBe(sim.apiCalls().total);
  });

  it("prints ready-to-paste environment lines for another process", () => {
    expect(sim.envLines()).toEqual([
      `export AWS_ENDPOINT_URL=${sim.endpoint}`,
      "export AWS_REGION=ap-northeast-1",
      "export AWS_DEFAULT_REGION=ap-northeast-1",
      "export AWS_ACCESS_KEY_ID=simulator",
      "export AWS_SECRET_ACCESS_KEY=simulator",
    ]);
    expect(sim.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe("startSimulator", () => {
  it("refuses to listen anywhere but loopback", async () => {
    await expect(startSimulator({ fleet: smallFleet, host: "0.0.0.0" })).rejects.toThrow(/loopback/);
  });
});
