import { describe, expect, it } from "vitest";
import type { Fleet, Instance } from "../../src/fleet/types.js";
import type { Plan } from "../../src/plan/types.js";
import { makeChalk } from "../../src/report/output.js";
import { azLabels, buildPlanPreview, formatPlanPreview } from "../../src/report/preview.js";
import { summarizeFleet } from "../../src/waves/summary.js";
import type { WavePlan } from "../../src/waves/types.js";

const TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/abc";

function instance(id: string, az: string): Instance {
  return {
    id,
    az,
    state: "running",
    tags: {},
    ssm: "Online",
    targets: [{ targetGroupArn: TG, port: 80, state: "healthy" }],
  };
}

function plan(strategy: "window" | "waves"): Plan {
  return {
    version: 1,
    name: "web-api",
    region: "eu-west-1",
    guard: { account: null },
    lock: { store: "local", parameter: "/rollwave/locks/test", staleAfterMs: 300_000 },
    journal: null,
    vars: {},
    values: {},
    fleet: {
      select: { tags: { Service: "web" } },
      exclude: {},
      targetGroups: [],
      autoScaling: { suspendProcesses: [] },
      notReady: "skip",
    },
    rollout: {
      canary: { size: { kind: "perAz", count: 1 }, bakeMs: 0, approve: false },
      waves: [{ kind: "percent", percent: 50 }],
      strategy,
      maxUnavailable: { kind: "count", count: 4 },
      maxUnavailablePerAz: { kind: "count", count: 2 },
      failures: { maxFailed: { kind: "count", count: 1 }, action: "pause", failedInstances: "keepOut" },
      seed: 1,
    },
    capacity: { connections: null },
    drain: { untilConnections: null, timeoutMs: 60_000 },
    steps: {
      preDrain: null,
      close: null,
      deploy: { commands: ["true"], timeoutMs: 60_000 },
      validate: null,
      rollback: null,
    },
    health: { targetHealthyTimeoutMs: 60_000, stableForMs: 0, alarms: [], connectedDevices: null },
  };
}

// 6 instances: 4 in 1a, 2 in 1b. Canary 1/az, then 2 + 2 (one left skipped).
const fleet: Fleet = {
  region: "eu-west-1",
  account: "123456789012",
  instances: [
    instance("i-a1", "eu-west-1a"),
    instance("i-a2", "eu-west-1a"),
    instance("i-a3", "eu-west-1a"),
    instance("i-a4", "eu-west-1a"),
    instance("i-b1", "eu-west-1b"),
    instance("i-b2", "eu-west-1b"),
  ],
  targetGroups: [
    {
      arn: TG,
      name: "web",
      type: "application",
      port: 80,
      loadBalancerArns: [],
      deregistrationDelaySeconds: 30,
      connectionTermination: false,
      targetCount: 1200,
    },
  ],
  autoScalingGroups: [],
  source: "inventory",
};

const wavePlan: WavePlan = {
  waves: [
    {
      index: 0,
      kind: "canary",
      instances: [
        { id: "i-a1", az: "eu-west-1a" },
        { id: "i-b1", az: "eu-west-1b" },
      ],
    },
    {
      index: 1,
      kind: "batch",
      instances: [
        { id: "i-a2", az: "eu-west-1a" },
        { id: "i-b2", az: "eu-west-1b" },
      ],
    },
    { index: 2, kind: "batch", instances: [{ id: "i-a3", az: "eu-west-1a" }] },
  ],
  skipped: [{ id: "i-a4", az: "eu-west-1a", reason: "SSM agent ConnectionLost" }],
  window: { maxUnavailable: 4, perAz: { "eu-west-1a": 2, "eu-west-1b": 2 } },
  maxFailed: 1,
  azs: { "eu-west-1a": 3, "eu-west-1b": 2 },
  warnings: ["target group web has 1200 targets, over the ALB quota of 1000"],
};

function preview(strategy: "window" | "waves", extra: string[] = []) {
  return buildPlanPreview(plan(strategy), fleet, wavePlan, summarizeFleet(fleet, wavePlan, strategy), extra);
}

describe("plan preview", () => {
  it("counts each wave per AZ, cumulative share and instances left in service for strict waves", () => {
    const p = preview("waves", ["AZ imbalance"]);
    expect(p.fleet).toMatchObject({ instances: 6, azs: { "eu-west-1a": 4, "eu-west-1b": 2 } });
    expect(p.waves.map((w) => w.azs)).toEqual([
      { "eu-west-1a": 1, "eu-west-1b": 1 },
      { "eu-west-1a": 1, "eu-west-1b": 1 },
      { "eu-west-1a": 1, "eu-west-1b": 0 },
    ]);
    expect(p.waves.map((w) => w.cumulativePercent)).toEqual([40, 80, 100]);
    expect(p.waves.map((w) => w.inService)).toEqual([
      { "eu-west-1a": 3, "eu-west-1b": 1 },
      { "eu-west-1a": 3, "eu-west-1b": 1 },
      { "eu-west-1a": 3, "eu-west-1b": 2 },
    ]);
    expect(p.fleet.targetGroups[0]).toMatchObject({ name: "web", targets: 1200, fleetInstances: 6 });
    expect(p.warnings).toEqual([...wavePlan.warnings, "AZ imbalance"]);
  });

  it("assumes the whole per-AZ window may be out at once under the sliding window", () => {
    const p = preview("window");
    // Wave 0 in 1a: 3 instances of 1a still to do, window 2 → 2 out, 2 left of 4.
    expect(p.waves[0]?.inService).toEqual({ "eu-west-1a": 2, "eu-west-1b": 0 });
    // Wave 2 in 1a: only i-a3 remains, so only 1 can be out.
    expect(p.waves[2]?.inService).toEqual({ "eu-west-1a": 3, "eu-west-1b": 2 });
  });

  it("prints the documented columns, the skipped instances and the warnings", () => {
    const text = formatPlanPreview(preview("waves"), makeChalk(false));
    const header = text.split("\n").find((l) => l.trim().startsWith("WAVE"));
    expect(header?.trim().split(/\s{2,}/)).toEqual([
      "WAVE",
      "KIND",
      "SIZE",
      "1a",
      "1b",
      "CUM%",
      "IN SVC 1a",
      "IN SVC 1b",
    ]);
    expect(text).toMatch(/^\s+0\s+canary\s+2\s+1\s+1\s+40\.0%\s+3\s+1$/m);
    expect(text).toMatch(/web\s+application\s+80\s+1200\s+6\s+30s/);
    expect(text).toContain("i-a4  eu-west-1a  SSM agent ConnectionLost");
    expect(text).toContain("over the ALB quota");
  });

  it("shortens AZ names to what tells them apart", () => {
    expect(azLabels(["ap-northeast-1a", "ap-northeast-1c"])).toEqual({
      "ap-northeast-1a": "1a",
      "ap-northeast-1c": "1c",
    });
    expect(azLabels(["us-east-1a"])).toEqual({ "us-east-1a": "us-east-1a" });
  });
});
