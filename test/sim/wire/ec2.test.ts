import {
  DescribeAvailabilityZonesCommand,
  DescribeInstancesCommand,
  EC2Client,
  paginateDescribeInstances,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestSim, type TestSim } from "./helpers.js";

let sim: TestSim;
let ec2: EC2Client;
beforeAll(async () => {
  sim = await startTestSim();
  ec2 = new EC2Client(sim.client);
});
afterAll(async () => {
  ec2.destroy();
  await sim.close();
});

describe("EC2 over the EC2 query protocol", () => {
  it("returns every instance field the SDK reads, with tags that need XML escaping intact", async () => {
    const out = await ec2.send(new DescribeInstancesCommand({}));
    const instances = (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
    expect(instances.map((i) => i.InstanceId)).toEqual(
      (await Promise.resolve(sim.world.describeInstances({}))).items.map((i) => i.instanceId),
    );
    const first = instances[0];
    expect(first?.State).toEqual({ Code: 16, Name: "running" });
    expect(first?.Placement?.AvailabilityZone).toBe("ap-northeast-1a");
    expect(first?.PrivateIpAddress).toBe("10.0.0.10");
    expect(first?.InstanceType).toBe("c6i.large");
    expect(first?.LaunchTime).toEqual(new Date(Date.UTC(2026, 0, 1)));
    expect(first?.Tags).toContainEqual({ Key: "Odd & <Tag>", Value: "a<b" });
    expect(out.Reservations?.[0]?.OwnerId).toBe("123456789012");
    expect(out.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("passes filters and instance ids through as the model's plain inputs", async () => {
    sim.world.calls.length = 0;
    await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: "tag:Service", Values: ["camera-relay", "edge"] },
          { Name: "availability-zone", Values: ["ap-northeast-1c"] },
        ],
      }),
    );
    await ec2.send(
      new DescribeInstancesCommand({ InstanceIds: ["i-00000000000000002", "i-00000000000000004"] }),
    );
    const args = sim.world.calls.filter((c) => c.method === "describeInstances").map((c) => c.args[0]);
    expect(args[0]).toMatchObject({
      filters: [
        { name: "tag:Service", values: ["camera-relay", "edge"] },
        { name: "availability-zone", values: ["ap-northeast-1c"] },
      ],
    });
    expect(args[1]).toMatchObject({ instanceIds: ["i-00000000000000002", "i-00000000000000004"] });
  });

  it("pages with MaxResults and NextToken until every instance is seen", async () => {
    const first = await ec2.send(new DescribeInstancesCommand({ MaxResults: 5 }));
    expect(first.NextToken).toBeTruthy();
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateDescribeInstances({ client: ec2, pageSize: 5 }, {})) {
      pages++;
      for (const r of page.Reservations ?? [])
        for (const i of r.Instances ?? []) seen.push(i.InstanceId ?? "");
    }
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(12);
  });

  it("rejects MaxResults together with InstanceIds with EC2's own error", async () => {
    const err = await ec2
      .send(new DescribeInstancesCommand({ InstanceIds: ["i-00000000000000001"], MaxResults: 5 }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "InvalidParameterCombination", $metadata: { httpStatusCode: 400 } });
  });

  it("refuses more than 200 filter values in one call, as EC2 does", async () => {
    const ids = Array.from({ length: 201 }, (_, i) => `i-${i}`);
    const err = await ec2
      .send(new DescribeInstancesCommand({ Filters: [{ Name: "instance-id", Values: ids }] }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "FilterLimitExceeded" });
    const ok = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: "instance-id", Values: ids.slice(0, 200) }] }),
    );
    expect(ok.$metadata.httpStatusCode).toBe(200);
  });

  it("lists the availability zones of the region", async () => {
    const out = await ec2.send(new DescribeAvailabilityZonesCommand({}));
    expect(out.AvailabilityZones?.map((z) => [z.ZoneName, z.ZoneId, z.State, z.RegionName])).toEqual([
      ["ap-northeast-1a", "apne1-az4", "available", "ap-northeast-1"],
      ["ap-northeast-1c", "apne1-az1", "available", "ap-northeast-1"],
    ]);
  });
});
