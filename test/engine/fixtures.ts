/** Plans, fleets and wave plans for engine tests, built by hand (no planner, no loader). */
import type { Fleet, Instance } from "../../src/fleet/types.js";
import type { Plan } from "../../src/plan/types.js";
import type { WavePlan } from "../../src/waves/types.js";
import type { FakeAws } from "./fake-aws.js";

export const TG_A = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/relay-a/1";
export const TG_B = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/relay-b/2";

type DeepPartial<T> = {
  [K in keyof T]?: NonNullable<T[K]> extends unknown[]
    ? T[K]
    : NonNullable<T[K]> extends object
      ? DeepPartial<NonNullable<T[K]>> | Extract<T[K], null>
      : T[K];
};

/** `capacity.connections` read from the CameraRelay/ActiveConnections metric, 250 a server, 10% headroom. */
export function metricConnections(maxDisplacedPerMinute: number | null = null) {
  return {
    source: {
      kind: "metric" as const,
      namespace: "CameraRelay",
      name: "ActiveConnections",
      dimension: "InstanceId",
      statistic: "Maximum",
    },
    perInstanceLimit: 250,
    headroom: 0.1,
    maxDisplacedPerMinute,
    maxAgeMs: 120_000,
    perAz: false,
  };
}

export function makePlan(over: DeepPartial<Plan> = {}): Plan {
  const base: Plan = {
    version: 1,
    name: "relay",
    region: "eu-west-1",
    guard: { account: null },
    lock: { store: "local", parameter: "/rollwave/locks/test", staleAfterMs: 300_000 },
    journal: null,
    vars: {},
    values: { release: "v2" },
    fleet: {
      select: { tags: { role: "relay" } },
      exclude: {},
      targetGroups: [],
      autoScaling: { suspendProcesses: ["Launch", "Terminate", "AZRebalance"] },
      notReady: "skip",
    },
    rollout: {
      canary: { size: { kind: "count", count: 1 }, bakeMs: 60_000, approve: false },
      waves: [{ kind: "percent", percent: 25 }],
      strategy: "window",
      maxUnavailable: { kind: "count", count: 2 },
      maxUnavailablePerAz: null,
      failures: { maxFailed: { kind: "count", count: 0 }, action: "pause", failedInstances: "keepOut" },
      seed: 1,
    },
    capacity: { connections: null },
    drain: { untilConnections: null, timeoutMs: 600_000 },
    steps: {
      preDrain: null,
      close: null,
      deploy: { commands: ["deploy v2"], timeoutMs: 300_000 },
      validate: null,
      rollback: { commands: ["rollback"], timeoutMs: 300_000 },
    },
    health: { targetHealthyTimeoutMs: 300_000, stableForMs: 30_000, alarms: [], connectedDevices: null },
  };
  return merge(base, over) as Plan;
}

function merge(a: unknown, b: unknown): unknown {
  if (b === undefined) return a;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object" || Array.isArray(b))
    return b;
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [k, v] of Object.entries(b as Record<string, unknown>)) out[k] = merge(out[k], v);
  return out;
}

export interface Setup {
  fleet: Fleet;
  wavePlan: WavePlan;
}

/**
 * `n` instances spread round-robin over `azs`, each in TG_A (and TG_B when `twoGroups`), in ASG
 * `relay-asg`. Waves: a canary of `canary` instances, then batches of `batch`.
 */
export function makeFleet(
  aws: FakeAws,
  o: {
    n: number;
    azs?: string[];
    canary?: number;
    batch?: number;
    window?: number;
    perAz?: number;
    maxFailed?: number;
    twoGroups?: boolean;
    /** `load_balancing.cross_zone.enabled` of the groups (default true: capacity is fleet-wide). */
    crossZone?: boolean;
  },
): Setup {
  const azs = o.azs ?? ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
  const groups = o.twoGroups ? [TG_A, TG_B] : [TG_A];
  const instances: Instance[] = [];
  for (let k = 0; k < o.n; k++) {
    const id = `i-${String(k).padStart(5, "0")}`;
    const az = azs[k % azs.length] as string;
    aws.addInstance(id, az, groups, "relay-asg", groups.length > 1 ? 8080 : undefined);
    instances.push({
      id,
      az,
      state: "running",
      tags: { role: "relay" },
      autoScalingGroup: "relay-asg",
      ssm: "Online",
      targets: groups.map((g) => ({
        targetGroupArn: g,
        state: "healthy" as const,
        ...(groups.length > 1 ? { port: 8080 } : {}),
      })),
    });
  }
  const fleet: Fleet = {
    region: "eu-west-1",
    account: "111122223333",
    instances,
    targetGroups: groups.map((arn) => ({
      arn,
      name: arn.split("/")[1] as string,
      type: "network" as const,
      loadBalancerArns: [],
      deregistrationDelaySeconds: aws.opts.drainDelayMs / 1000,
      connectionTermination: false,
      crossZone: o.crossZone ?? true,
      targetCount: o.n,
    })),
    autoScalingGroups: ["relay-asg"],
    source: "inventory",
  };
  const canary = o.canary ?? 1;
  const batch = o.batch ?? 4;
  const waves: WavePlan["waves"] = [];
  const planned = instances.map((i) => ({ id: i.id, az: i.az }));
  if (canary > 0) waves.push({ index: 0, kind: "canary", instances: planned.slice(0, canary) });
  for (let k = canary; k < planned.length; k += batch) {
    waves.push({ index: waves.length, kind: "batch", instances: planned.slice(k, k + batch) });
  }
  const window = o.window ?? 2;
  const perAz: Record<string, number> = {};
  if (o.perAz !== undefined) for (const az of azs) perAz[az] = o.perAz;
  const counts: Record<string, number> = {};
  for (const i of instances) counts[i.az] = (counts[i.az] ?? 0) + 1;
  return {
    fleet,
    wavePlan: {
      waves,
      skipped: [],
      window: { maxUnavailable: window, perAz },
      maxFailed: o.maxFailed ?? 0,
      azs: counts,
      warnings: [],
    },
  };
}
