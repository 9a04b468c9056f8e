/** Test fleets and plans for the wave planner. */
import type { TargetGroup } from "../../src/aws/types.js";
import type { Fleet, Instance } from "../../src/fleet/types.js";
import type { Plan, RolloutSpec } from "../../src/plan/types.js";
import { parseSize, type Size } from "../../src/util/size.js";

export const NLB_ARN =
  "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/relay-rtmp/0123456789abcdef";

export function size(text: string | number): Size {
  const s = parseSize(text);
  if (!s) throw new Error(`bad size ${text}`);
  return s;
}

/** `{ "ap-northeast-1a": 3 }` → i-a0000, i-a0001, i-a0002 … healthy, Online, in one NLB group. */
export function makeFleet(azCounts: Record<string, number>, tweak?: (i: Instance, n: number) => void): Fleet {
  const instances: Instance[] = [];
  let n = 0;
  for (const [az, count] of Object.entries(azCounts)) {
    for (let k = 0; k < count; k++) {
      const i: Instance = {
        id: `i-${az.slice(-1)}${k.toString(16).padStart(6, "0")}${az.length.toString(16)}`,
        az,
        state: "running",
        tags: {},
        ssm: "Online",
        targets: [{ targetGroupArn: NLB_ARN, port: 1935, state: "healthy" }],
      };
      tweak?.(i, n++);
      instances.push(i);
    }
  }
  const tg: TargetGroup = {
    arn: NLB_ARN,
    name: "relay-rtmp",
    type: "network",
    port: 1935,
    loadBalancerArns: [],
    deregistrationDelaySeconds: 300,
    connectionTermination: false,
    targetCount: instances.length,
  };
  return {
    region: "ap-northeast-1",
    account: null,
    instances,
    targetGroups: [tg],
    autoScalingGroups: [],
    source: "inventory",
  };
}

export interface PlanInput {
  canary?: string | number | null;
  waves?: (string | number)[];
  maxUnavailable?: string | number;
  maxUnavailablePerAz?: string | number | null;
  maxFailed?: string | number;
  seed?: number;
  notReady?: Plan["fleet"]["notReady"];
}

export function makePlan(p: PlanInput = {}): Pick<Plan, "rollout" | "fleet"> {
  const rollout: RolloutSpec = {
    canary:
      p.canary === null || p.canary === undefined
        ? null
        : { size: size(p.canary), bakeMs: 0, approve: false },
    waves: (p.waves ?? ["10%"]).map(size),
    strategy: "waves",
    maxUnavailable: size(p.maxUnavailable ?? "10%"),
    maxUnavailablePerAz: p.maxUnavailablePerAz == null ? null : size(p.maxUnavailablePerAz),
    failures: { maxFailed: size(p.maxFailed ?? "1%"), action: "pause", failedInstances: "keepOut" },
    seed: p.seed ?? 1,
  };
  return {
    rollout,
    fleet: {
      select: { tags: { Service: "camera-relay" } },
      exclude: {},
      targetGroups: [],
      autoScaling: { suspendProcesses: [] },
      notReady: p.notReady ?? "skip",
    },
  };
}

export function azCountsOf(instances: { az: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of instances) out[i.az] = (out[i.az] ?? 0) + 1;
  return out;
}
