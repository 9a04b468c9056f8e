import { describe, expect, it } from "vitest";
import type {
  AwsReader,
  Ec2InstanceSummary,
  TargetGroup,
  TargetHealthDescription,
} from "../../src/aws/types.js";
import { discoverFleet } from "../../src/fleet/discover.js";
import type { FleetSpec } from "../../src/plan/types.js";

/**
 * An in-memory AWS behind the AwsReader interface, with AWS's filtering semantics and a log of
 * every reader call (batching inside each method is the adapter's job and tested in test/aws).
 */
class FakeAws implements AwsReader {
  readonly calls: { method: string; arg: unknown }[] = [];
  instances: Ec2InstanceSummary[] = [];
  asgOf: Record<string, string> = {};
  ssm: Record<string, "Online" | "ConnectionLost"> = {};
  groups: TargetGroup[] = [];
  targets: Record<string, TargetHealthDescription[]> = {};
  account: string | Error = "123456789012";

  private log(method: string, arg: unknown) {
    this.calls.push({ method, arg });
  }
  count(method: string) {
    return this.calls.filter((c) => c.method === method).length;
  }
  async getCallerIdentity() {
    this.log("getCallerIdentity", null);
    if (this.account instanceof Error) throw this.account;
    return { account: this.account, arn: "arn:aws:iam::123456789012:user/ci" };
  }
  async describeInstances(q: { tags?: Record<string, string>; instanceIds?: string[]; states?: string[] }) {
    this.log("describeInstances", q);
    const states = q.states ?? (q.instanceIds ? [] : ["running"]);
    return this.instances.filter(
      (i) =>
        Object.entries(q.tags ?? {}).every(([k, v]) => i.tags[k] === v) &&
        (!q.instanceIds || q.instanceIds.includes(i.id)) &&
        (states.length === 0 || states.includes(i.state)),
    );
  }
  /** VPC of each group by ARN (a group with none listed reports no VPC). */
  vpcOf: Record<string, string> = {};
  async describeTargetGroups(q: {
    arns?: string[];
    names?: string[];
    details?: boolean;
    instanceTargetsInVpcs?: string[];
  }) {
    this.log("describeTargetGroups", q);
    const { arns = [], names = [] } = q;
    let picked =
      arns.length || names.length
        ? this.groups.filter((g) => arns.includes(g.arn) || names.includes(g.name))
        : this.groups;
    const vpcs = q.instanceTargetsInVpcs;
    if (vpcs?.length)
      picked = picked.filter((g) => !this.vpcOf[g.arn] || vpcs.includes(this.vpcOf[g.arn] as string));
    return picked.map((g) =>
      q.details === false ? { ...g, deregistrationDelaySeconds: 300, connectionTermination: false } : g,
    );
  }
  async describeTargetHealth(arn: string) {
    this.log("describeTargetHealth", arn);
    return this.targets[arn] ?? [];
  }
  async describeInstanceInformation(ids: string[]) {
    this.log("describeInstanceInformation", ids);
    return Object.fromEntries(ids.filter((id) => this.ssm[id]).map((id) => [id, this.ssm[id] as "Online"]));
  }
  async describeAutoScalingInstances(ids: string[]) {
    this.log("describeAutoScalingInstances", ids);
    return Object.fromEntries(ids.filter((id) => this.asgOf[id]).map((id) => [id, this.asgOf[id] as string]));
  }
  async describeAutoScalingGroups(names: string[]) {
    this.log("describeAutoScalingGroups", names);
    return names.map((name) => ({
      name,
      suspendedProcesses: [],
      instanceIds: Object.keys(this.asgOf).filter((id) => this.asgOf[id] === name),
    }));
  }
  async listCommandInvocations(): Promise<never> {
    throw new Error("discovery must not list commands");
  }
  async describeAlarms(): Promise<never> {
    throw new Error("discovery must not read alarms");
  }
  async getInstanceMetric(): Promise<never> {
    throw new Error("discovery must not read metrics");
  }
  async getParameter(): Promise<never> {
    throw new Error("discovery must not read parameters");
  }
}

const arn = (name: string) =>
  `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/${name}/0123456789abcdef`;
const group = (name: string, type: TargetGroup["type"], delay: number): TargetGroup => ({
  arn: arn(name),
  name,
  type,
  protocol: type === "network" ? "TCP" : "HTTP",
  port: 80,
  loadBalancerArns: [],
  deregistrationDelaySeconds: delay,
  connectionTermination: type === "network",
  targetCount: 0,
});

/**
 * n relay instances (ids i-r000…) in relay-a / relay-b, three AZs; every 10th stopped; i-r003 tagged
 * to skip; SSM lost on i-r004; plus 5 web instances in their own group and ASG.
 */
function world(n = 30): FakeAws {
  const aws = new FakeAws();
  for (let k = 0; k < n; k++) {
    const id = `i-r${String(k).padStart(3, "0")}`;
    aws.instances.push({
      id,
      az: `eu-west-1${"abc"[k % 3]}`,
      state: k % 10 === 9 ? "stopped" : "running",
      privateIp: `10.0.${k >> 8}.${k & 255}`,
      vpcId: "vpc-relay",
      tags: { Service: "relay", Env: "prod", ...(k === 3 ? { "rollwave/skip": "true" } : {}) },
    });
    aws.asgOf[id] = k % 2 === 0 ? "relay-a" : "relay-b";
    aws.ssm[id] = k === 4 ? "ConnectionLost" : "Online";
  }
  for (let k = 0; k < 5; k++) {
    const id = `i-w${k}`;
    aws.instances.push({
      id,
      az: "eu-west-1a",
      state: "running",
      vpcId: "vpc-web",
      tags: { Service: "web", Env: "prod" },
    });
    aws.asgOf[id] = "web";
    aws.ssm[id] = "Online";
  }
  aws.groups = [
    group("relay-nlb", "network", 600),
    group("relay-admin", "application", 30),
    group("web", "application", 30),
    group("empty", "application", 300),
    group("other-vpc", "application", 300),
  ];
  aws.vpcOf = { [arn("relay-nlb")]: "vpc-relay", [arn("web")]: "vpc-web", [arn("other-vpc")]: "vpc-other" };
  const relayIds = aws.instances.filter((i) => i.tags.Service === "relay").map((i) => i.id);
  aws.targets[arn("relay-nlb")] = relayIds.map((id, k) => ({
    id,
    port: 1935,
    state: k === 5 ? "unhealthy" : "healthy",
    ...(k === 5 ? { reason: "Target.Timeout" } : {}),
  }));
  // Only the first ten relays serve the admin group, on a port override.
  aws.targets[arn("relay-admin")] = relayIds.slice(0, 10).map((id) => ({ id, port: 8443, state: "healthy" }));
  aws.targets[arn("web")] = [
    ...aws.instances
      .filter((i) => i.tags.Service === "web")
      .map((i) => ({ id: i.id, port: 80, state: "healthy" as const })),
    { id: "i-old", state: "unused", reason: "Target.NotRegistered" },
  ];
  return aws;
}

const spec = (over: Partial<FleetSpec> = {}): FleetSpec => ({
  select: { tags: { Service: "relay", Env: "prod" } },
  exclude: { tags: { "rollwave/skip": "true" } },
  targetGroups: [],
  autoScaling: { suspendProcesses: [] },
  notReady: "skip",
  ...over,
});

describe("discoverFleet", () => {
  it("selects running tagged instances minus excludes, with their target groups, ports, ASG and SSM status", async () => {
    const aws = world();
    const fleet = await discoverFleet(aws, spec(), { region: "eu-west-1" });
    const ids = fleet.instances.map((i) => i.id);
    expect(ids).toHaveLength(30 - 3 - 1); // 3 stopped, 1 excluded
    expect(ids).not.toContain("i-r003");
    expect(ids).not.toContain("i-r009");
    expect(ids).toEqual([...ids].sort());
    const r0 = fleet.instances.find((i) => i.id === "i-r000");
    expect(r0).toMatchObject({
      az: "eu-west-1a",
      state: "running",
      autoScalingGroup: "relay-a",
      ssm: "Online",
      privateIp: "10.0.0.0",
    });
    expect(r0?.targets).toEqual([
      { targetGroupArn: arn("relay-admin"), port: 8443, state: "healthy" },
      { targetGroupArn: arn("relay-nlb"), port: 1935, state: "healthy" },
    ]);
    expect(fleet.instances.find((i) => i.id === "i-r004")?.ssm).toBe("ConnectionLost");
    const r5 = fleet.instances.find((i) => i.id === "i-r005");
    expect(r5?.targets.find((t) => t.targetGroupArn === arn("relay-nlb"))).toMatchObject({
      state: "unhealthy",
      reason: "Target.Timeout",
    });
    expect(fleet.instances.find((i) => i.id === "i-r015")?.targets.map((t) => t.port)).toEqual([1935]);
    expect(fleet).toMatchObject({
      region: "eu-west-1",
      account: "123456789012",
      source: "aws",
      autoScalingGroups: ["relay-a", "relay-b"],
    });
  });

  it("keeps only the target groups holding fleet instances, with details and every group's total target count", async () => {
    const aws = world();
    const fleet = await discoverFleet(aws, spec(), { region: "eu-west-1" });
    expect(fleet.targetGroups.map((g) => g.name)).toEqual(["relay-admin", "relay-nlb"]);
    const nlb = fleet.targetGroups.find((g) => g.name === "relay-nlb");
    // Total registered targets, stopped and excluded instances included: that is what the quota counts.
    expect(nlb).toMatchObject({
      targetCount: 30,
      deregistrationDelaySeconds: 600,
      connectionTermination: true,
      type: "network",
    });
    expect(fleet.targetGroups.find((g) => g.name === "relay-admin")?.targetCount).toBe(10);
    // One health read per group that could hold the fleet (not the groups of other VPCs), and a
    // detailed describe only for the two kept.
    const described = aws.calls.filter((c) => c.method === "describeTargetGroups").map((c) => c.arg);
    expect(described).toEqual([
      { details: false, instanceTargetsInVpcs: ["vpc-relay"] },
      { arns: [arn("relay-nlb"), arn("relay-admin")] },
    ]);
    expect(aws.calls.filter((c) => c.method === "describeTargetHealth").map((c) => c.arg)).toEqual([
      arn("relay-nlb"),
      arn("relay-admin"),
      arn("empty"),
    ]);
  });

  it("uses only the target groups the plan names, by ARN or by name", async () => {
    const aws = world();
    const fleet = await discoverFleet(aws, spec({ targetGroups: [arn("relay-nlb"), "web"] }), {
      region: "eu-west-1",
    });
    expect(fleet.targetGroups.map((g) => g.name)).toEqual(["relay-nlb", "web"]);
    expect(fleet.targetGroups.find((g) => g.name === "web")?.targetCount).toBe(5);
    expect(fleet.instances.every((i) => i.targets.every((t) => t.targetGroupArn === arn("relay-nlb")))).toBe(
      true,
    );
    expect(aws.calls.filter((c) => c.method === "describeTargetGroups").map((c) => c.arg)).toEqual([
      { arns: [arn("relay-nlb")], names: ["web"] },
    ]);
    expect(aws.count("describeTargetHealth")).toBe(2);
  });

  it("selects through Auto Scaling groups and narrows them by tags and ids", async () => {
    const aws = world();
    const byGroup = await discoverFleet(
      aws,
      spec({ select: { autoScalingGroups: ["relay-b"] }, exclude: {} }),
      { region: "eu-west-1" },
    );
    expect(byGroup.instances.every((i) => i.autoScalingGroup === "relay-b")).toBe(true);
    expect(byGroup.instances).toHaveLength(15 - 3); // i-r009/19/29 are stopped, and a group selection means running
    const narrowed = await discoverFleet(
      aws,
      spec({
        select: {
          autoScalingGroups: ["relay-a", "web"],
          tags: { Service: "web" },
          instanceIds: ["i-w1", "i-w2", "i-r000"],
        },
        exclude: {},
      }),
      { region: "eu-west-1" },
    );
    expect(narrowed.instances.map((i) => i.id)).toEqual(["i-w1", "i-w2"]);
    expect(narrowed.autoScalingGroups).toEqual(["web"]);
  });

  it("shows explicitly listed instances even when stopped, so the preview can say why they are not ready", async () => {
    const aws = world();
    const fleet = await discoverFleet(
      aws,
      spec({ select: { instanceIds: ["i-r009", "i-r010", "i-missing"] }, exclude: {} }),
      { region: "eu-west-1" },
    );
    expect(fleet.instances.map((i) => [i.id, i.state])).toEqual([
      ["i-r009", "stopped"],
      ["i-r010", "running"],
    ]);
  });

  it("excludes by Auto Scaling group using each instance's discovered group", async () => {
    const aws = world();
    const fleet = await discoverFleet(aws, spec({ exclude: { autoScalingGroups: ["relay-b"] } }), {
      region: "eu-west-1",
    });
    expect(fleet.instances.length).toBeGreaterThan(0);
    expect(fleet.instances.every((i) => i.autoScalingGroup === "relay-a")).toBe(true);
  });

  it("reports an unknown account rather than failing when STS cannot be read", async () => {
    const aws = world();
    aws.account = new Error("AccessDenied");
    const fleet = await discoverFleet(aws, spec(), { region: "eu-west-1" });
    expect(fleet.account).toBeNull();
    expect(fleet.instances.length).toBeGreaterThan(0);
  });

  it("reads SSM and Auto Scaling status once for the whole fleet, never per instance", async () => {
    const aws = world(1_000);
    const fleet = await discoverFleet(aws, spec(), { region: "eu-west-1" });
    expect(fleet.instances.length).toBe(1_000 - 100 - 1);
    for (const method of [
      "describeInstances",
      "describeInstanceInformation",
      "describeAutoScalingInstances",
      "getCallerIdentity",
    ]) {
      expect(aws.count(method)).toBe(1);
    }
    // 4 batched reads, 2 target group describes, 3 health reads (the groups that can hold relays).
    expect(aws.calls.length).toBe(4 + 2 + 3);
  });

  it("selects nothing, and reads nothing per instance, when the selection matches no instance", async () => {
    const aws = world();
    const fleet = await discoverFleet(aws, spec({ select: { tags: { Service: "nope" } } }), {
      region: "eu-west-1",
    });
    expect(fleet.instances).toEqual([]);
    expect(fleet.targetGroups).toEqual([]);
    expect(aws.count("describeInstanceInformation")).toBe(0);
  });
});
