import {
  DeregisterTargetsCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  paginateDescribeTargetGroups,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestSim, type TestSim } from "./helpers.js";

let sim: TestSim;
let elb: ElasticLoadBalancingV2Client;
let tgArn: string;
beforeAll(async () => {
  sim = await startTestSim();
  elb = new ElasticLoadBalancingV2Client(sim.client);
  tgArn = sim.world.describeTargetGroups({}).items[0]?.arn as string;
});
afterAll(async () => {
  elb.destroy();
  await sim.close();
});

describe("ELBv2 over the query protocol", () => {
  it("describes load balancers with their type, scheme and zones", async () => {
    const out = await elb.send(new DescribeLoadBalancersCommand({}));
    expect(out.LoadBalancers).toHaveLength(1);
    expect(out.LoadBalancers?.[0]).toMatchObject({
      LoadBalancerName: "relay-alb",
      Type: "application",
      Scheme: "internal",
      State: { Code: "active" },
      AvailabilityZones: [{ ZoneName: "ap-northeast-1a" }, { ZoneName: "ap-northeast-1c" }],
      CreatedTime: new Date(Date.UTC(2025, 5, 1)),
    });
  });

  it("pages target groups with PageSize and Marker/NextMarker", async () => {
    const names: string[] = [];
    for await (const page of paginateDescribeTargetGroups({ client: elb }, { PageSize: 2 })) {
      expect(page.TargetGroups?.length).toBeLessThanOrEqual(2);
      for (const tg of page.TargetGroups ?? []) names.push(tg.TargetGroupName ?? "");
    }
    expect(names).toEqual(["relay-http", "relay-http-1", "relay-http-2"]);
    const first = await elb.send(new DescribeTargetGroupsCommand({ PageSize: 1 }));
    expect(first.NextMarker).toBeTruthy();
    expect(first.TargetGroups?.[0]).toMatchObject({
      Protocol: "HTTP",
      Port: 8080,
      HealthCheckIntervalSeconds: 10,
      HealthyThresholdCount: 3,
      UnhealthyThresholdCount: 2,
      HealthCheckPath: "/healthz",
      TargetType: "instance",
    });
  });

  it("returns target group attributes as key/value pairs", async () => {
    const out = await elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tgArn }));
    expect(out.Attributes).toContainEqual({ Key: "deregistration_delay.timeout_seconds", Value: "30" });
  });

  it("reports the health of every target when no targets are named", async () => {
    const out = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tgArn }));
    expect(out.TargetHealthDescriptions).toHaveLength(12);
    expect(out.TargetHealthDescriptions?.[0]).toMatchObject({
      Target: { Id: "i-00000000000000001", Port: 8080, AvailabilityZone: "ap-northeast-1a" },
      TargetHealth: { State: "healthy" },
    });
  });

  it("registers and deregisters targets with their port overrides, and shows the new states", async () => {
    sim.world.calls.length = 0;
    await elb.send(
      new DeregisterTargetsCommand({
        TargetGroupArn: tgArn,
        Targets: [{ Id: "i-00000000000000001" }, { Id: "i-00000000000000002", Port: 9090 }],
      }),
    );
    expect(sim.world.calls[0]).toEqual({
      method: "deregisterTargets",
      args: [tgArn, [{ id: "i-00000000000000001" }, { id: "i-00000000000000002", port: 9090 }]],
    });
    const draining = await elb.send(
      new DescribeTargetHealthCommand({ TargetGroupArn: tgArn, Targets: [{ Id: "i-00000000000000001" }] }),
    );
    expect(draining.TargetHealthDescriptions?.[0]?.TargetHealth).toMatchObject({
      State: "draining",
      Reason: "Target.DeregistrationInProgress",
    });
    await elb.send(
      new RegisterTargetsCommand({ TargetGroupArn: tgArn, Targets: [{ Id: "i-00000000000000001" }] }),
    );
    const initial = await elb.send(
      new DescribeTargetHealthCommand({ TargetGroupArn: tgArn, Targets: [{ Id: "i-00000000000000001" }] }),
    );
    expect(initial.TargetHealthDescriptions?.[0]?.TargetHealth).toMatchObject({
      State: "initial",
      Reason: "Elb.RegistrationInProgress",
    });
  });

  it("answers an unknown target group with TargetGroupNotFound in the query error shape", async () => {
    const err = await elb
      .send(new DescribeTargetHealthCommand({ TargetGroupArn: `${tgArn}-missing` }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "TargetGroupNotFoundException", $metadata: { httpStatusCode: 400 } });
    expect((err as { Code?: string }).Code ?? (err as { name: string }).name).toMatch(/TargetGroupNotFound/);
  });

  it("refuses RegisterTargets without targets", async () => {
    const err = await elb
      .send(new RegisterTargetsCommand({ TargetGroupArn: tgArn, Targets: [] }))
      .catch((e) => e);
    expect(err).toMatchObject({ name: "ValidationError" });
  });
});
