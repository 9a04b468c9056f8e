/**
 * The simulator's fleet spec: a YAML file describing an account's worth of relay servers, load
 * balancers, cameras, command behaviours, alarms and faults. The format is documented field by field
 * in ./README.md and by example in plans/sim/camera-fleet.yaml.
 *
 * Durations accept `10s` / `5m` / `1h30m` strings or a bare number of seconds; they are normalized to
 * milliseconds here, so the model never sees a string duration.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { isMap, isSeq, LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import { InputError, type InputIssue } from "../../plan/types.js";
import { parseDuration } from "../../util/duration.js";

/** plans/sim/camera-fleet.yaml of the installed package (works from src/ under vitest and from dist/). */
export const defaultFleetSpecPath: string = fileURLToPath(
  new URL("../../../plans/sim/camera-fleet.yaml", import.meta.url),
);

const duration = z.union([z.number().nonnegative(), z.string()]).transform((v, ctx) => {
  if (typeof v === "number") return Math.round(v * 1000);
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: "custom", message: `not a duration: "${v}" (use e.g. 500ms, 10s, 5m)` });
    return z.NEVER;
  }
  return ms;
});

const share = z.number().min(0).max(1);
const regex = z.string().refine(
  (s) => {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  },
  { message: "not a valid regular expression" },
);

const instanceGroup = z.strictObject({
  name: z.string().min(1),
  instanceType: z.string().default("c6i.large"),
  imageId: z.string().default("ami-0relay000000000001"),
  /** Instances per AZ, e.g. `{ ap-northeast-1a: 360 }`. */
  countPerAz: z.record(z.string(), z.number().int().nonnegative()),
  tags: z.record(z.string(), z.string()).default({}),
  /** ASG name template; `{az}` is the AZ name, `{zone}` its letter suffix. One ASG per AZ. */
  autoScalingGroup: z.string().optional(),
  /** Share of instances whose SSM agent is Online at start (the rest are ConnectionLost). */
  ssmOnlineShare: share.default(1),
});

const targetGroup = z.strictObject({
  name: z.string().min(1).max(32),
  protocol: z.enum(["HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP"]),
  port: z.number().int().min(1).max(65535),
  deregistrationDelay: duration.prefault(300),
  /** NLB only: close remaining connections at the end of the deregistration delay. */
  connectionTermination: z.boolean().default(false),
  /**
   * NLB only: how long a deregistered target still receives new connections (users measure minutes
   * on real NLBs). Default 0: new connections stop at deregistration.
   */
  newConnectionsAfterDeregistration: duration.prefault(0),
  healthCheck: z
    .strictObject({
      interval: duration.prefault(30),
      healthyThreshold: z.number().int().min(2).max(10).default(5),
      unhealthyThreshold: z.number().int().min(2).max(10).default(2),
      path: z.string().optional(),
    })
    .prefault({}),
  /** Instance groups registered in this target group; default: all. */
  instanceGroups: z.array(z.string()).optional(),
  /**
   * The cameras connect through this group. At least one group carries them; with several (a fleet
   * too large for one NLB), each instance group may be in at most one of them.
   */
  cameras: z.boolean().default(false),
  /**
   * `load_balancing.cross_zone.enabled` of the group; default: the load balancer's setting
   * (`use_load_balancer_configuration`).
   */
  crossZone: z.boolean().optional(),
});

const loadBalancer = z.strictObject({
  name: z.string().min(1).max(32),
  type: z.enum(["application", "network"]),
  scheme: z.enum(["internet-facing", "internal"]).default("internet-facing"),
  /**
   * `load_balancing.cross_zone.enabled`. Default as on AWS: off for a network load balancer (a
   * camera reconnects only to servers in the AZ it came in through), on for an application one.
   */
  crossZone: z.boolean().optional(),
  targetGroups: z.array(targetGroup).min(1),
});

const commandBehaviour = z.strictObject({
  /** Regex tested against one command line (one element of AWS-RunShellScript `commands`). */
  match: regex,
  /** Lognormal duration by its median and 99th percentile. */
  duration: z.strictObject({ p50: duration, p99: duration }).prefault({ p50: 0.2, p99: 0.5 }),
  failureProbability: share.default(0),
  /** Exit code on failure. */
  exitCode: z.number().int().min(1).max(255).default(1),
  /** Templates: `$1`… capture groups, `{connections}`, `{version}`, `{instanceId}`. */
  stdout: z.string().default(""),
  stderr: z.string().default(""),
  effects: z
    .strictObject({
      /** Start shedding connections at this many per second (number, or `$1`) after success. */
      shed: z.union([z.number().positive(), z.string()]).optional(),
      /** The service is down while the command runs; it comes back (and loads the installed version) at the end. */
      stopService: z.boolean().optional(),
      /** Install a version: a literal, a capture group (`$1`) or `previous`. Takes effect at the next restart. */
      setVersion: z.string().optional(),
      /** A release whose version matches this regex fails health checks once it runs. */
      breakHealthIf: regex.optional(),
      /**
       * (drain.closeCommand) Close every connection the server still holds, after success: the
       * cameras reconnect elsewhere at once; counted in the camera stats as `cut`.
       */
      closeConnections: z.boolean().optional(),
    })
    .default({}),
});

const alarm = z.strictObject({
  name: z.string().min(1),
  /** Model quantity the alarm watches; see README "Alarms". */
  quantity: z.enum([
    "connectedShare",
    "connectedCameras",
    "disconnectedCameras",
    "unhealthyRegisteredShare",
    "inServiceShare",
    "refusedPerMinute",
  ]),
  comparison: z.enum(["<", "<=", ">", ">="]),
  threshold: z.number(),
  /** Each period's value is the average of per-second samples. */
  period: duration.prefault(60),
  /** ALARM when this many consecutive periods breach; OK as soon as one does not. */
  evaluationPeriods: z.number().int().min(1).default(1),
  namespace: z.string().optional(),
  metricName: z.string().optional(),
});

const faultTarget = z.string().default("random");
const scheduledFault = z.discriminatedUnion("op", [
  z.strictObject({ at: duration, op: z.literal("terminateInstance"), instanceId: faultTarget }),
  z.strictObject({
    at: duration,
    op: z.literal("ssmAgent"),
    instanceId: faultTarget,
    online: z.boolean(),
  }),
  // Same fields and bounds as the run-time control commands (src/sim/wire/control.ts), plus `at`.
  z.strictObject({
    at: duration,
    op: z.literal("healthFlap"),
    instanceId: faultTarget,
    seconds: z.number().positive(),
  }),
  z.strictObject({
    at: duration,
    op: z.literal("slowDrain"),
    share,
    instanceIds: z.array(z.string()).optional(),
  }),
  z.strictObject({
    at: duration,
    op: z.literal("commandFailures"),
    probability: share,
    match: regex.optional(),
  }),
  z.strictObject({
    at: duration,
    op: z.literal("churn"),
    overSeconds: z.number().positive(),
    terminate: share.optional(),
    ssmOffline: share.optional(),
    offlineSeconds: z.number().positive().optional(),
    healthFlap: share.optional(),
    flapSeconds: z.number().positive().optional(),
  }),
]);

const fleetSpecSchema = z.strictObject({
  account: z.string().regex(/^\d{12}$/, "a 12-digit account id"),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "a region like ap-northeast-1"),
  azs: z.array(z.string()).min(1),
  instanceGroups: z.array(instanceGroup).min(1),
  loadBalancers: z.array(loadBalancer).min(1),
  app: z.strictObject({ version: z.string().min(1) }),
  cameras: z.strictObject({
    /** Cameras online at the start (the baseline `schedule` multiplies). */
    total: z.number().int().nonnegative(),
    perInstanceLimit: z.number().int().positive(),
    /**
     * Where the cameras are, when the cameras' load balancer routes per zone (cross-zone off): the
     * share of cameras homed in each AZ (summing to 1). Default: spread like the servers.
     */
    azShare: z.record(z.string(), share).optional(),
    /**
     * Load over time: from `at`, move linearly over `over` to `load` × `total` cameras online
     * (e.g. a peak hour: `{ at: 20m, load: 1.1, over: 5m }` then `{ at: 80m, load: 1, over: 5m }`).
     * Cameras going offline leave their server gracefully (no reconnect, not a disconnection);
     * cameras coming online connect like any camera (refused when their AZ is full).
     */
    schedule: z
      .array(
        z.strictObject({
          at: duration,
          load: z.number().positive().max(10),
          over: duration.prefault(0),
        }),
      )
      .default([]),
    reconnect: z
      .strictObject({
        base: duration.prefault(1),
        max: duration.prefault(30),
        /** `full`: wait uniform(0, min(max, base·2^attempt)). `none`: wait exactly that. */
        jitter: z.enum(["full", "none"]).default("full"),
      })
      .prefault({}),
  }),
  commands: z.array(commandBehaviour).default([]),
  metrics: z
    .strictObject({
      namespace: z.string().default("CameraRelay"),
      connectionsMetric: z.string().default("ActiveConnections"),
      instanceDimension: z.string().default("InstanceId"),
      connectedCamerasMetric: z.string().default("ConnectedCameras"),
      /** How often per-instance datapoints are recorded (the newest is at most this old). */
      sampleEvery: duration.prefault(10),
      /** How much history GetMetricData can answer from. */
      retention: duration.prefault(10_800),
    })
    .prefault({}),
  alarms: z.array(alarm).default([]),
  faults: z
    .strictObject({
      slowDrainShare: share.default(0),
      scheduled: z.array(scheduledFault).default([]),
    })
    .prefault({}),
});

/** The validated, normalized fleet spec (durations in ms). */
export type FleetSpecFile = z.output<typeof fleetSpecSchema>;
export type CommandBehaviourSpec = FleetSpecFile["commands"][number];
export type AlarmSpec = FleetSpecFile["alarms"][number];
export type TargetGroupSpec = FleetSpecFile["loadBalancers"][number]["targetGroups"][number];

/** Per target group, the ALB quota a spec must respect (NLB allows 500 per AZ, checked too). */
const ALB_MAX_TARGETS = 1000;
const NLB_MAX_TARGETS_PER_AZ = 500;

/** Cross-field checks zod cannot express; each problem carries the path it is about. */
function checkFleetSpec(spec: FleetSpecFile): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const groupNames = new Set<string>();
  spec.instanceGroups.forEach((g, gi) => {
    if (groupNames.has(g.name))
      problems.push({ path: ["instanceGroups", gi, "name"], message: "duplicate name" });
    groupNames.add(g.name);
    for (const az of Object.keys(g.countPerAz)) {
      if (!spec.azs.includes(az)) {
        problems.push({
          path: ["instanceGroups", gi, "countPerAz", az],
          message: `AZ ${az} is not in azs (${spec.azs.join(", ")})`,
        });
      }
    }
  });
  let cameraGroups = 0;
  /** Instance group → the camera target group it is in. */
  const cameraTgOf = new Map<string, string>();
  const tgNames = new Set<string>();
  spec.loadBalancers.forEach((lb, li) => {
    lb.targetGroups.forEach((tg, ti) => {
      const path = ["loadBalancers", li, "targetGroups", ti];
      if (tgNames.has(tg.name))
        problems.push({ path: [...path, "name"], message: "duplicate target group name" });
      tgNames.add(tg.name);
      if (tg.cameras) {
        cameraGroups++;
        for (const g of tg.instanceGroups ?? spec.instanceGroups.map((x) => x.name)) {
          const other = cameraTgOf.get(g);
          if (other !== undefined) {
            problems.push({
              path: [...path, "cameras"],
              message: `instance group "${g}" is already in camera target group "${other}"; a server carries cameras through one group`,
            });
          } else cameraTgOf.set(g, tg.name);
        }
      }
      if (tg.newConnectionsAfterDeregistration > 0 && lb.type !== "network") {
        problems.push({ path: [...path, "newConnectionsAfterDeregistration"], message: "NLB only" });
      }
      if (tg.connectionTermination && lb.type !== "network") {
        problems.push({
          path: [...path, "connectionTermination"],
          message: "connection termination is NLB only",
        });
      }
      const members = spec.instanceGroups.filter(
        (g) => !tg.instanceGroups || tg.instanceGroups.includes(g.name),
      );
      for (const name of tg.instanceGroups ?? []) {
        if (!groupNames.has(name)) {
          problems.push({ path: [...path, "instanceGroups"], message: `unknown instance group "${name}"` });
        }
      }
      const perAz = new Map<string, number>();
      for (const g of members) {
        for (const [az, n] of Object.entries(g.countPerAz)) perAz.set(az, (perAz.get(az) ?? 0) + n);
      }
      const total = [...perAz.values()].reduce((a, b) => a + b, 0);
      if (lb.type === "application" && total > ALB_MAX_TARGETS) {
        problems.push({
          path: [...path, "instanceGroups"],
          message: `${total} targets exceed the ALB quota of ${ALB_MAX_TARGETS} per target group; split the fleet over several target groups`,
        });
      }
      for (const [az, n] of perAz) {
        if (lb.type === "network" && n > NLB_MAX_TARGETS_PER_AZ) {
          problems.push({
            path: [...path, "instanceGroups"],
            message: `${n} targets in ${az} exceed the NLB quota of ${NLB_MAX_TARGETS_PER_AZ} per AZ`,
          });
        }
      }
    });
  });
  const azShare = spec.cameras.azShare;
  if (azShare) {
    for (const az of Object.keys(azShare)) {
      if (!spec.azs.includes(az))
        problems.push({
          path: ["cameras", "azShare", az],
          message: `AZ ${az} is not in azs (${spec.azs.join(", ")})`,
        });
    }
    const sum = Object.values(azShare).reduce((a, b) => a + b, 0);
    if (Math.abs(sum - 1) > 1e-6)
      problems.push({ path: ["cameras", "azShare"], message: `the shares add up to ${sum}, not 1` });
    if (!camerasRoutePerZone(spec))
      problems.push({
        path: ["cameras", "azShare"],
        message: "only a zonal cameras' load balancer (crossZone: false) keeps cameras in an AZ",
      });
  }
  let last = -1;
  spec.cameras.schedule.forEach((step, k) => {
    if (step.at < last)
      problems.push({
        path: ["cameras", "schedule", k, "at"],
        message: "schedule steps must be in time order",
      });
    last = step.at + step.over;
  });
  if (cameraGroups === 0 && spec.cameras.total > 0) {
    problems.push({
      path: ["loadBalancers"],
      message: "a target group must carry the cameras (cameras: true); found none",
    });
  }
  return problems;
}

/** Does the cameras' target group route per zone (cross-zone load balancing off)? */
export function camerasRoutePerZone(spec: FleetSpecFile): boolean {
  for (const lb of spec.loadBalancers) {
    for (const tg of lb.targetGroups) {
      if (tg.cameras) return !(tg.crossZone ?? lb.crossZone ?? lb.type === "application");
    }
  }
  return false;
}

/** Validate an already-parsed object (tests build specs in code). Throws InputError. */
export function parseFleetSpec(data: unknown, source = "<fleet spec>"): FleetSpecFile {
  const r = fleetSpecSchema.safeParse(data);
  if (!r.success) {
    throw new InputError(r.error.issues.map((i) => issue(source, i.path as (string | number)[], i.message)));
  }
  const problems = checkFleetSpec(r.data);
  if (problems.length > 0) throw new InputError(problems.map((p) => issue(source, p.path, p.message)));
  return r.data;
}

/** Read, parse and validate a fleet spec; every problem is reported with file:line:col. */
export async function loadFleetSpec(path: string): Promise<FleetSpecFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new InputError([
      { severity: "error", source: path, message: `cannot read fleet spec: ${(e as Error).message}` },
    ]);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new InputError(
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { severity: "error", source: path, line: pos.line, column: pos.col, message: e.message };
      }),
    );
  }
  const locate = (p: (string | number)[]): { line?: number; column?: number } => {
    // Walk up the path until a node exists (an unrecognized or missing key points at its parent).
    for (let n = p.length; n >= 0; n--) {
      const node = doc.getIn(p.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      const range = node && (isMap(node) || isSeq(node) || "range" in node) ? node.range : undefined;
      if (range) {
        const pos = lineCounter.linePos(range[0]);
        return { line: pos.line, column: pos.col };
      }
    }
    return {};
  };
  try {
    return parseFleetSpec(doc.toJS(), path);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    throw new InputError(
      e.issues.map((i) => ({ ...i, ...(i.path ? locate(i.path.split(".").map(keyOrIndex)) : {}) })),
    );
  }
}

function keyOrIndex(k: string): string | number {
  return /^\d+$/.test(k) ? Number(k) : k;
}

function issue(source: string, path: (string | number)[], message: string): InputIssue {
  return { severity: "error", source, path: path.join("."), message };
}
