import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { inventoryJsonSchema, loadInventory, parseInventory } from "../../src/fleet/inventory.js";
import { type FleetSpec, InputError, type InputIssue } from "../../src/plan/types.js";
import { planWaves } from "../../src/waves/index.js";
import { makePlan } from "../waves/fleet-builder.js";

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const SMALL = fixture("inventory-small.json");
const BIG = fixture("inventory-1000.json");
const BROKEN = fixture("inventory-broken.json");
const HTTP_ARN =
  "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/relay-http/fedcba9876543210";
const RTMP_ARN =
  "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/relay-rtmp/0123456789abcdef";

function spec(over: Partial<FleetSpec> = {}): FleetSpec {
  return {
    select: { tags: { Service: "camera-relay", Env: "prod" } },
    exclude: { tags: { "rollwave/skip": "true" } },
    targetGroups: [],
    autoScaling: { suspendProcesses: [] },
    notReady: "skip",
    ...over,
  };
}

async function issuesOf(p: Promise<unknown> | (() => unknown)): Promise<InputIssue[]> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    if (e instanceof InputError) return e.issues;
    throw e;
  }
  throw new Error("expected an InputError");
}

/** 1-based line and column of the first occurrence of `needle` in `text`. */
function positionOf(text: string, needle: string): { line: number; column: number } {
  const at = text.indexOf(needle);
  if (at < 0) throw new Error(`fixture lacks ${needle}`);
  const before = text.slice(0, at).split("\n");
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}

describe("the 1,000-instance fixture", () => {
  it("loads every instance with its AZ, groups and Auto Scaling group", async () => {
    const fleet = await loadInventory(BIG);
    expect(fleet.source).toBe("inventory");
    expect(fleet.region).toBe("ap-northeast-1");
    expect(fleet.instances).toHaveLength(1_000);
    const azs: Record<string, number> = {};
    for (const i of fleet.instances) azs[i.az] = (azs[i.az] ?? 0) + 1;
    expect(azs).toEqual({ "ap-northeast-1a": 400, "ap-northeast-1c": 350, "ap-northeast-1d": 250 });
    expect(fleet.autoScalingGroups).toEqual(["relay-prod-1a", "relay-prod-1c", "relay-prod-1d"]);
    const rtmp = fleet.targetGroups.find((g) => g.name === "relay-rtmp");
    expect(rtmp).toMatchObject({
      type: "network",
      port: 1935,
      deregistrationDelaySeconds: 300,
      connectionTermination: false,
      targetCount: 1_000,
    });
    expect(fleet.targetGroups.find((g) => g.name === "relay-http")?.type).toBe("application");
    expect(
      fleet.instances.every((i) => i.targets.every((t) => t.targetGroupArn.startsWith("arn:aws:"))),
    ).toBe(true);
  });

  it("applies the camera-relay selection and its rollwave/skip exclude", async () => {
    const all = await loadInventory(BIG);
    const tagged = all.instances.filter((i) => i.tags["rollwave/skip"] === "true").length;
    expect(tagged).toBeGreaterThan(0);
    const fleet = await loadInventory(BIG, spec());
    expect(fleet.instances).toHaveLength(1_000 - tagged);
    expect(fleet.instances.some((i) => i.tags["rollwave/skip"])).toBe(false);
  });

  it("plans into waves that skip the instances that are not ready", async () => {
    const fleet = await loadInventory(BIG, spec());
    const notReady = fleet.instances.filter(
      (i) => i.ssm !== "Online" || i.targets.some((t) => t.state !== "healthy"),
    ).length;
    expect(notReady).toBeGreaterThan(0);
    const plan = planWaves(
      fleet,
      makePlan({
        canary: "1/az",
        waves: ["2%", "5%", "10%"],
        maxUnavailable: "10%",
        maxUnavailablePerAz: "12%",
      }),
    );
    expect(plan.skipped).toHaveLength(notReady);
    const planned = plan.waves.reduce((n, w) => n + w.instances.length, 0);
    expect(planned + notReady).toBe(fleet.instances.length);
  });
});

describe("the small hand-written inventory", () => {
  it("resolves target groups named by name or by ARN, and applies the defaults", async () => {
    const fleet = await loadInventory(SMALL);
    const a1 = fleet.instances.find((i) => i.id === "i-0aaaaaaaaaaaa0001");
    expect(a1).toMatchObject({
      state: "running",
      ssm: "Online",
      privateIp: "10.0.1.11",
      targets: [
        { targetGroupArn: RTMP_ARN, state: "healthy" },
        { targetGroupArn: HTTP_ARN, state: "healthy" },
      ],
    });
    const c1 = fleet.instances.find((i) => i.id === "i-0cccccccccccc0001");
    expect(c1?.targets[0]?.port).toBe(1936);
    const c2 = fleet.instances.find((i) => i.id === "i-0cccccccccccc0002");
    expect(c2?.targets[1]).toEqual({
      targetGroupArn: HTTP_ARN,
      state: "unhealthy",
      reason: "Target.Timeout",
    });
  });

  it("takes a group's name from its ARN, and counts its targets when targetCount is absent", async () => {
    const fleet = await loadInventory(SMALL);
    const http = fleet.targetGroups.find((g) => g.arn === HTTP_ARN);
    expect(http?.name).toBe("relay-http");
    expect(http?.targetCount).toBe(6);
    expect(http?.connectionTermination).toBe(false);
    expect(fleet.targetGroups.find((g) => g.arn === RTMP_ARN)?.targetCount).toBe(40);
  });

  it("selects by tags and excludes the rollwave/skip ones", async () => {
    const fleet = await loadInventory(SMALL, spec());
    expect(fleet.instances.map((i) => i.id)).toEqual([
      "i-0aaaaaaaaaaaa0001",
      "i-0aaaaaaaaaaaa0002",
      "i-0aaaaaaaaaaaa0004",
      "i-0cccccccccccc0001",
      "i-0cccccccccccc0002",
    ]);
    expect(fleet.autoScalingGroups).toEqual(["relay-prod-1a", "relay-prod-1c"]);
  });

  it("selects by Auto Scaling group and by instance id", async () => {
    const byAsg = await loadInventory(
      SMALL,
      spec({ select: { autoScalingGroups: ["relay-prod-1c"] }, exclude: {} }),
    );
    expect(byAsg.instances.map((i) => i.id)).toEqual(["i-0cccccccccccc0001", "i-0cccccccccccc0002"]);
    const byId = await loadInventory(
      SMALL,
      spec({ select: { instanceIds: ["i-0cccccccccccc0004"] }, exclude: {} }),
    );
    expect(byId.instances.map((i) => i.id)).toEqual(["i-0cccccccccccc0004"]);
    expect(byId.targetGroups.map((g) => g.name)).toEqual(["relay-http"]);
  });

  it("keeps only the memberships of the target groups a plan names", async () => {
    const fleet = await loadInventory(SMALL, spec({ targetGroups: ["relay-http"] }));
    expect(fleet.targetGroups.map((g) => g.arn)).toEqual([HTTP_ARN]);
    const a4 = fleet.instances.find((i) => i.id === "i-0aaaaaaaaaaaa0004");
    expect(a4?.targets).toEqual([]);
    for (const i of fleet.instances) for (const t of i.targets) expect(t.targetGroupArn).toBe(HTTP_ARN);
  });

  it("refuses a plan naming a target group the inventory lacks, suggesting the closest", async () => {
    const issues = await issuesOf(loadInventory(SMALL, spec({ targetGroups: ["relay-htp"] })));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toContain("relay-htp");
    expect(issues[0]?.hint).toContain("relay-http");
  });
});

describe("a broken inventory", () => {
  const text = readFileSync(BROKEN, "utf8");
  // Each mistake in the fixture: unique text around it, the part of that text the error must
  // point at (default: its start), and what the message says.
  const expected: { find: string; at?: string; says: string }[] = [
    { find: '"acount"', says: "unknown key 'acount'" },
    { find: '"targetCount": 1', at: "1", says: "targetCount 1 is less than the 2 targets" },
    { find: "4000", says: "must be at most 3600" },
    { find: '"connectionTermination": true', at: "true", says: "Network Load Balancer attribute" },
    { find: '"i-0aaaaaaaaaaaa0001", "az": "ap-northeast-1c"', says: "listed twice (also instances[0])" },
    { find: '"us-east-1a"', says: "is not in Region ap-northeast-1" },
    { find: '"ap-northeast-1" }', says: "is a Region, not an Availability Zone" },
    { find: '"relay-rtpm"', says: "unknown target group 'relay-rtpm'" },
    { find: '"online"', says: '"online" is not one of' },
    { find: '"autoscalingGroup"', says: "unknown key 'autoscalingGroup'" },
    { find: '{ "id": "i-0aaaaaaaaaaaa0008" }', says: "missing required field 'az'" },
    { find: '"i-123"', says: "not an EC2 instance id" },
  ];

  it("reports every mistake at once, each at its line and column", async () => {
    const issues = await issuesOf(loadInventory(BROKEN));
    expect(issues.every((i) => i.severity === "error" && i.source === BROKEN)).toBe(true);
    const wanted = expected.map(({ find, at }) => {
      const start = positionOf(text, find);
      return { line: start.line, column: start.column + (at ? find.indexOf(at) : 0) };
    });
    expect(issues.map((i) => ({ line: i.line, column: i.column }))).toEqual(wanted);
    expect(issues.map((i) => i.message)).toEqual(expected.map(({ says }) => expect.stringContaining(says)));
  });

  it("suggests the key or value the author probably meant", async () => {
    const issues = await issuesOf(loadInventory(BROKEN));
    const hintFor = (m: string) => issues.find((i) => i.message.includes(m))?.hint;
    expect(hintFor("'acount'")).toContain("account");
    expect(hintFor("'autoscalingGroup'")).toContain("autoScalingGroup");
    expect(hintFor("relay-rtpm")).toContain("relay-rtmp");
    expect(hintFor('"online"')).toContain("Online");
  });

  it("names the field of each problem", async () => {
    const issues = await issuesOf(loadInventory(BROKEN));
    expect(issues.map((i) => i.path)).toContain("instances[4].targets[0].targetGroup");
    expect(issues.map((i) => i.path)).toContain("targetGroups[1].deregistrationDelaySeconds");
  });

  it("locates a JSON syntax error", async () => {
    const issues = await issuesOf(() =>
      parseInventory('{\n  "region": "ap-northeast-1",\n  "instances": [}\n', "x.json"),
    );
    expect(issues[0]).toMatchObject({ source: "x.json", line: 3 });
  });

  it("says when the file does not exist", async () => {
    const issues = await issuesOf(loadInventory(fixture("no-such-inventory.json")));
    expect(issues[0]?.message).toContain("no such file");
  });
});

describe("consistency checks", () => {
  const tg = (name: string, extra: Record<string, unknown> = {}) => ({
    arn: `arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/${name}/0123456789abcdef`,
    type: "network",
    ...extra,
  });
  const inv = (doc: Record<string, unknown>) =>
    JSON.stringify({ region: "ap-northeast-1", account: "123456789012", instances: [], ...doc }, null, 2);
  const messages = async (doc: Record<string, unknown>) =>
    (await issuesOf(() => parseInventory(inv(doc), "inv.json"))).map((i) => `${i.path}: ${i.message}`);

  it("refuses a target group ARN from another Region or account", async () => {
    const other = {
      arn: "arn:aws:elasticloadbalancing:us-east-1:999999999999:targetgroup/web/0123456789abcdef",
      type: "application",
    };
    expect(await messages({ targetGroups: [other] })).toEqual([
      "targetGroups[0].arn: the ARN is in Region us-east-1, the inventory in ap-northeast-1",
      "targetGroups[0].arn: the ARN is in account 999999999999, the inventory in 123456789012",
    ]);
  });

  it("refuses a name that contradicts the ARN, and the same group twice", async () => {
    expect(await messages({ targetGroups: [tg("web", { name: "api" }), tg("web")] })).toEqual([
      "targetGroups[0].name: name 'api' differs from the name in the ARN ('web')",
      "targetGroups[1].arn: target group listed twice (also targetGroups[0])",
    ]);
  });

  it("refuses an instance registered twice in a group on the same port", async () => {
    const instances = [
      {
        id: "i-0aaaaaaaaaaaa0001",
        az: "ap-northeast-1a",
        targets: [
          { targetGroup: "web", port: 80 },
          { targetGroup: "web", port: 81 },
          { targetGroup: "web", port: 80 },
        ],
      },
    ];
    expect(await messages({ targetGroups: [tg("web")], instances })).toEqual([
      "instances[0].targets[2]: registered twice in web on port 80",
    ]);
  });

  it("reports problems of the items even when the top level is wrong too", async () => {
    const out = await messages({ region: "tokyo", instances: [{ id: "i-0aaaaaaaaaaaa0001" }] });
    expect(out).toEqual([
      "region: not a Region name (e.g. ap-northeast-1)",
      "instances[0].az: missing required field 'az'",
    ]);
  });
});

describe("YAML inventories", () => {
  const yaml = [
    "region: ap-northeast-1",
    "targetGroups:",
    "  - arn: arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/web/0123456789abcdef",
    "    type: application",
    "instances:",
    "  - id: i-0bbbbbbbbbbbb0001",
    "    az: ap-northeast-1a",
    "    targets: [{ targetGroup: web }]",
    "  - id: i-0bbbbbbbbbbbb0002",
    "    az: ap-northeast-1d",
    "    tags: { Version: 2 }",
    "",
  ].join("\n");

  it("reads YAML as well as JSON", () => {
    const ok = parseInventory(yaml.replace("{ Version: 2 }", '{ Version: "2" }'), "fleet.yaml");
    expect(ok.instances.map((i) => i.az)).toEqual(["ap-northeast-1a", "ap-northeast-1d"]);
    expect(ok.targetGroups[0]?.targetCount).toBe(1);
  });

  it("locates problems in YAML too", async () => {
    const issues = await issuesOf(() => parseInventory(yaml, "fleet.yaml"));
    expect(issues).toMatchObject([
      { line: 11, column: 22, path: "instances[1].tags.Version", message: "expected string, got number" },
    ]);
  });
});

describe("the inventory JSON Schema for editors", () => {
  it("requires region and instances, forbids unknown keys, and allows $schema", () => {
    const schema = inventoryJsonSchema() as {
      required: string[];
      additionalProperties: boolean;
      properties: Record<string, { items?: { required?: string[] } }>;
    };
    expect(schema.required.sort()).toEqual(["instances", "region"]);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.instances?.items?.required?.sort()).toEqual(["az", "id"]);
    const fleet = parseInventory(
      JSON.stringify({ $schema: "./inventory.schema.json", region: "ap-northeast-1", instances: [] }),
      "inv.json",
    );
    expect(fleet.instances).toEqual([]);
  });
});
