import { afterEach, describe, expect, it } from "vitest";
import { connectTo } from "./helpers.js";
import { ec2Filters, formList, members, ok, type Stub, startStub, x } from "./stub-server.js";

let stub: Stub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

interface FakeInstance {
  id: string;
  az: string;
  state: string;
  tags: Record<string, string>;
}

function fakeInstances(n: number): FakeInstance[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `i-${String(i).padStart(17, "0")}`,
    az: ["us-east-1a", "us-east-1b", "us-east-1c"][i % 3] as string,
    state: i % 10 === 9 ? "stopped" : "running",
    tags: { Service: i % 2 === 0 ? "relay" : "web", Env: "prod" },
  }));
}

function instanceXml(i: FakeInstance): string {
  return x(
    "item",
    x("instanceId", i.id),
    x("instanceState", x("code", i.state === "running" ? 16 : 80), x("name", i.state)),
    x("placement", x("availabilityZone", i.az)),
    x("privateIpAddress", "10.0.0.1"),
    x("vpcId", "vpc-0a1"),
    x(
      "tagSet",
      members(Object.entries(i.tags), ([k, v]) => x("key", k) + x("value", v), "item"),
    ),
  );
}

/** An EC2 that filters like AWS and pages by NextToken; two reservations per page. */
function ec2(all: FakeInstance[]) {
  return startStub((req) => {
    const filters = ec2Filters(req.form);
    const matching = all.filter((i) =>
      Object.entries(filters).every(([name, values]) => {
        if (name.startsWith("tag:")) return values.includes(i.tags[name.slice(4)] ?? "");
        if (name === "instance-state-name") return values.includes(i.state);
        if (name === "instance-id") return values.includes(i.id);
        throw new Error(`unexpected filter ${name}`);
      }),
    );
    const max = Number(req.form.MaxResults ?? 1000);
    const start = Number(req.form.NextToken ?? 0);
    const page = matching.slice(start, start + max);
    const half = Math.ceil(page.length / 2);
    const reservations = [page.slice(0, half), page.slice(half)].filter((r) => r.length > 0);
    const next = start + max < matching.length ? x("nextToken", start + max) : "";
    return ok(
      x(
        "reservationSet",
        members(reservations, (r) => x("instancesSet", r.map(instanceXml).join("")), "item"),
      ) + next,
    );
  });
}

describe("EC2 adapter", () => {
  it("pages DescribeInstances by NextToken and returns every running instance with the tags asked for", async () => {
    const all = fakeInstances(4_500);
    stub = await ec2(all);
    const aws = connectTo(stub);
    const found = await aws.reader.describeInstances({ tags: { Service: "relay", Env: "prod" } });
    const expected = all.filter((i) => i.tags.Service === "relay" && i.state === "running");
    expect(found.map((i) => i.id).sort()).toEqual(expected.map((i) => i.id).sort());
    expect(found[0]).toMatchObject({
      vpcId: "vpc-0a1",
      az: expect.stringMatching(/^us-east-1/),
      state: "running",
      privateIp: "10.0.0.1",
    });
    expect(found[0]?.tags).toEqual({ Service: "relay", Env: "prod" });
    const sent = stub.seen("EC2.DescribeInstances");
    expect(sent).toHaveLength(Math.ceil(expected.length / 1000));
    expect(sent.every((r) => r.form.MaxResults === "1000")).toBe(true);
    expect(aws.calls().byAction["EC2.DescribeInstances"]).toBe(sent.length);
    aws.close();
  });

  it("looks instances up by id in batches of at most 200, whatever their state", async () => {
    const all = fakeInstances(1_000);
    stub = await ec2(all);
    const aws = connectTo(stub);
    const wanted = all.slice(0, 450).map((i) => i.id);
    const found = await aws.reader.describeInstances({ instanceIds: [...wanted, "i-gone"] });
    expect(found.map((i) => i.id).sort()).toEqual([...wanted].sort());
    expect(found.some((i) => i.state === "stopped")).toBe(true);
    const batches = stub.seen("EC2.DescribeInstances").map((r) => ec2Filters(r.form)["instance-id"] ?? []);
    expect(batches.map((b) => b.length)).toEqual([200, 200, 51]);
    expect(
      stub
        .seen("EC2.DescribeInstances")
        .every((r) => ec2Filters(r.form)["instance-state-name"] === undefined),
    ).toBe(true);
    aws.close();
  });

  it("makes no call for an empty id list", async () => {
    stub = await ec2([]);
    const aws = connectTo(stub);
    expect(await aws.reader.describeInstances({ instanceIds: [] })).toEqual([]);
    expect(aws.calls().total).toBe(0);
    aws.close();
  });
});

const TG_ARN = (n: number) =>
  `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg-${n}/abc${n}`;
const LB_ARN = (n: number) =>
  `arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/lb-${n}/def${n}`;

function tgXml(n: number): string {
  const attached = n % 3 !== 2; // every third group has no load balancer
  return x(
    "member",
    x("TargetGroupArn", TG_ARN(n)),
    x("TargetGroupName", `tg-${n}`),
    x("Protocol", n % 2 === 0 ? "TCP" : "HTTP"),
    x("Port", 1935),
    x("LoadBalancerArns", attached ? x("member", LB_ARN(n)) : ""),
  );
}

function elb(groupCount: number) {
  return startStub((req) => {
    switch (req.action) {
      case "DescribeTargetGroups": {
        const arns = formList(req.form, "TargetGroupArns.member");
        const names = formList(req.form, "Names.member");
        let ids = Array.from({ length: groupCount }, (_, n) => n);
        if (arns.length) ids = ids.filter((n) => arns.includes(TG_ARN(n)));
        if (names.length) ids = ids.filter((n) => names.includes(`tg-${n}`));
        const size = Number(req.form.PageSize ?? 400);
        const start = Number(req.form.Marker ?? 0);
        const next = start + size < ids.length ? x("NextMarker", start + size) : "";
        return ok(
          x(
            "TargetGroups",
            ids
              .slice(start, start + size)
              .map(tgXml)
              .join(""),
          ) + next,
        );
      }
      case "DescribeTargetGroupAttributes": {
        const n = Number(/tg-(\d+)/.exec(req.form.TargetGroupArn ?? "")?.[1]);
        const attrs = {
          "deregistration_delay.timeout_seconds": String(10 * n),
          "deregistration_delay.connection_termination.enabled": n === 0 ? "true" : "false",
          // tg-1 turns cross-zone on itself; the others use their load balancer's setting.
          "load_balancing.cross_zone.enabled": n === 1 ? "true" : "use_load_balancer_configuration",
        };
        return ok(
          x(
            "Attributes",
            members(Object.entries(attrs), ([k, v]) => x("Key", k) + x("Value", v)),
          ),
        );
      }
      case "DescribeLoadBalancerAttributes": {
        // Load balancers of even-numbered groups have cross-zone on.
        const n = Number(/lb-(\d+)/.exec(req.form.LoadBalancerArn ?? "")?.[1]);
        const on = n % 2 === 0 ? "true" : "false";
        return ok(
          x("Attributes", x("member", x("Key", "load_balancing.cross_zone.enabled"), x("Value", on))),
        );
      }
      case "DescribeLoadBalancers": {
        const arns = formList(req.form, "LoadBalancerArns.member");
        const lbs = arns.map((arn) => x("member", x("LoadBalancerArn", arn), x("Type", "network")));
        return ok(x("LoadBalancers", lbs.join("")));
      }
      case "DescribeTargetHealth":
        return ok(
          x(
            "TargetHealthDescriptions",
            x(
              "member",
              x("Target", x("Id", "i-1"), x("Port", 1935), x("AvailabilityZone", "us-east-1a")),
              x("TargetHealth", x("State", "healthy")),
            ),
            x(
              "member",
              x("Target", x("Id", "i-2"), x("Port", 8080)),
              x(
                "TargetHealth",
                x("State", "draining"),
                x("Reason", "Target.DeregistrationInProgress"),
                x("Description", "Target deregistration is in progress"),
              ),
            ),
          ),
        );
      default:
        throw new Error(`unexpected ${req.action}`);
    }
  });
}

describe("ELBv2 adapter", () => {
  it("lists every target group of the region by Marker and fills delay, termination and type", async () => {
    stub = await elb(450);
    const aws = connectTo(stub);
    const groups = await aws.reader.describeTargetGroups({});
    expect(groups).toHaveLength(450);
    expect(stub.seen("ELBv2.DescribeTargetGroups")).toHaveLength(2);
    const byName = new Map(groups.map((g) => [g.name, g]));
    expect(byName.get("tg-0")).toMatchObject({
      type: "network",
      deregistrationDelaySeconds: 0,
      connectionTermination: true,
      port: 1935,
    });
    expect(byName.get("tg-7")).toMatchObject({
      type: "network",
      deregistrationDelaySeconds: 70,
      connectionTermination: false,
    });
    // Cross-zone: the group's own setting, else its load balancer's, else unknown (no load balancer).
    expect(byName.get("tg-1")?.crossZone).toBe(true);
    expect(byName.get("tg-0")?.crossZone).toBe(true);
    expect(byName.get("tg-7")?.crossZone).toBe(false);
    expect(byName.get("tg-5")?.crossZone).toBeUndefined();
    // One DescribeLoadBalancerAttributes per load balancer whose setting is needed, none for tg-1's.
    expect(stub.seen("ELBv2.DescribeLoadBalancerAttributes").length).toBe(
      Array.from({ length: 450 }, (_, n) => n).filter((n) => n % 3 !== 2 && n !== 1).length,
    );
    // No load balancer: the protocol decides.
    expect(byName.get("tg-5")?.type).toBe("application");
    expect(byName.get("tg-2")?.type).toBe("network");
    expect(
      stub
        .seen("ELBv2.DescribeLoadBalancers")
        .every((r) => formList(r.form, "LoadBalancerArns.member").length <= 20),
    ).toBe(true);
    aws.close();
  });

  it("describes named groups 20 at a time and skips per-group lookups when details are not wanted", async () => {
    stub = await elb(60);
    const aws = connectTo(stub);
    const names = Array.from({ length: 45 }, (_, n) => `tg-${n}`);
    const groups = await aws.reader.describeTargetGroups({ names, details: false });
    expect(groups.map((g) => g.name).sort()).toEqual([...names].sort());
    expect(
      stub.seen("ELBv2.DescribeTargetGroups").map((r) => formList(r.form, "Names.member").length),
    ).toEqual([20, 20, 5]);
    expect(stub.seen("ELBv2.DescribeTargetGroupAttributes")).toHaveLength(0);
    expect(groups.find((g) => g.name === "tg-1")?.deregistrationDelaySeconds).toBe(300);
    aws.close();
  });

  it("reads every target of a group with its port, state and reason in one call", async () => {
    stub = await elb(1);
    const aws = connectTo(stub);
    const targets = await aws.reader.describeTargetHealth(TG_ARN(0));
    expect(targets).toEqual([
      { id: "i-1", port: 1935, az: "us-east-1a", state: "healthy" },
      {
        id: "i-2",
        port: 8080,
        state: "draining",
        reason: "Target.DeregistrationInProgress",
        description: "Target deregistration is in progress",
      },
    ]);
    expect(aws.calls().byAction).toEqual({ "ELBv2.DescribeTargetHealth": 1 });
    aws.close();
  });

  it("lists only the groups that can hold the fleet's instances: instance targets, same VPC or no VPC", async () => {
    const groups = [
      { name: "same-vpc", type: "instance", vpc: "vpc-1" },
      { name: "ip-targets", type: "ip", vpc: "vpc-1" },
      { name: "lambda", type: "lambda", vpc: undefined },
      { name: "other-vpc", type: "instance", vpc: "vpc-2" },
      { name: "no-vpc-reported", type: undefined, vpc: undefined },
    ];
    stub = await startStub(() =>
      ok(
        x(
          "TargetGroups",
          members(
            groups,
            (g) =>
              x("TargetGroupArn", TG_ARN(groups.indexOf(g))) +
              x("TargetGroupName", g.name) +
              (g.type ? x("TargetType", g.type) : "") +
              (g.vpc ? x("VpcId", g.vpc) : ""),
          ),
        ),
      ),
    );
    const aws = connectTo(stub);
    const kept = await aws.reader.describeTargetGroups({ details: false, instanceTargetsInVpcs: ["vpc-1"] });
    expect(kept.map((g) => g.name)).toEqual(["same-vpc", "no-vpc-reported"]);
    const all = await aws.reader.describeTargetGroups({ details: false });
    expect(all).toHaveLength(5);
    aws.close();
  });
});
