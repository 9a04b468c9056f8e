/**
 * The inventory file's shape (docs/inventory.md), as zod schemas: the loader in ./inventory.ts
 * validates with them item by item, and `inventoryJsonSchema` gives editors the same shape.
 */
import { z } from "zod";

export const REGION_RE = /^[a-z]{2}(-[a-z]+)+-\d+$/;
export const TG_ARN_RE =
  /^arn:aws[a-z-]*:elasticloadbalancing:([a-z0-9-]+):(\d{12}):targetgroup\/([A-Za-z0-9-]{1,32})\/[A-Za-z0-9]+$/;
const TARGET_STATES = [
  "initial",
  "healthy",
  "unhealthy",
  "unhealthy.draining",
  "unused",
  "draining",
  "unavailable",
] as const;
const EC2_STATES = ["pending", "running", "shutting-down", "terminated", "stopping", "stopped"] as const;

const port = z.number().int().min(1).max(65_535);

export const targetSchema = z.strictObject({
  targetGroup: z.string().min(1),
  port: port.optional(),
  state: z.enum(TARGET_STATES).default("healthy"),
  reason: z.string().optional(),
});

export const instanceSchema = z.strictObject({
  id: z
    .string()
    .regex(/^i-([0-9a-f]{8}|[0-9a-f]{17})$/, "not an EC2 instance id (i- and 8 or 17 hex digits)"),
  az: z.string().min(1),
  state: z.enum(EC2_STATES).default("running"),
  privateIp: z.ipv4().optional(),
  tags: z.record(z.string(), z.string()).default({}),
  autoScalingGroup: z.string().min(1).optional(),
  ssm: z.enum(["Online", "ConnectionLost", "Inactive", "Unknown"]).default("Online"),
  targets: z.array(targetSchema).default([]),
});

export const targetGroupSchema = z.strictObject({
  arn: z
    .string()
    .regex(TG_ARN_RE, "not a target group ARN (arn:aws:elasticloadbalancing:…:targetgroup/name/id)"),
  name: z.string().min(1).optional(),
  type: z.enum(["application", "network"]),
  protocol: z.string().optional(),
  port: port.optional(),
  loadBalancerArns: z.array(z.string()).default([]),
  deregistrationDelaySeconds: z.number().int().min(0).max(3_600).default(300),
  connectionTermination: z.boolean().default(false),
  crossZone: z.boolean().optional().meta({
    description:
      "load_balancing.cross_zone.enabled (of the group, or its load balancer). Default as on AWS: false for network, true for application.",
  }),
  targetCount: z.number().int().min(0).optional(),
});

// Items are validated one by one, so a broken instance does not hide the problems of the others.
export const inventorySchema = z.strictObject({
  /** Where editors find the JSON Schema (`inventoryJsonSchema`); ignored by the loader. */
  $schema: z.string().optional(),
  version: z.literal(1).optional(),
  region: z.string().regex(REGION_RE, "not a Region name (e.g. ap-northeast-1)"),
  account: z
    .string()
    .regex(/^\d{12}$/, "an account id is 12 digits")
    .optional(),
  targetGroups: z.array(z.unknown()).default([]),
  instances: z.array(z.unknown()),
});

/**
 * JSON Schema of the inventory format, for editors (`"$schema"` or yaml-language-server). The loader
 * checks more than the schema can say: unique ids, known target groups, AZs of the Region.
 */
export function inventoryJsonSchema(): Record<string, unknown> {
  const whole = inventorySchema.extend({
    targetGroups: z.array(targetGroupSchema).optional(),
    instances: z.array(instanceSchema),
  });
  return z.toJSONSchema(whole, { io: "input" }) as Record<string, unknown>;
}

export type RawTargetGroup = z.infer<typeof targetGroupSchema>;
export type RawInstance = z.infer<typeof instanceSchema>;

// ── The fast path ─────────────────────────────────────────────────────────────────────────────
// A zod parse per instance cost most of a 10,000-instance preview (rollout-speed issue §3). An
// instance that is exactly right is read by the plain checks below, which accept only what
// `instanceSchema` accepts and produce what it produces (defaults included); anything else, a
// problem or merely an unusual value, goes through `instanceSchema` for its located messages.
// test/fleet/inventory.test.ts checks the two agree.

const INSTANCE_KEYS = new Set(Object.keys(instanceSchema.shape));
const TARGET_KEYS = new Set(Object.keys(targetSchema.shape));
const INSTANCE_ID_RE = /^i-([0-9a-f]{8}|[0-9a-f]{17})$/;
// zod's own IPv4 pattern (zod/v4/core/regexes.js), so both paths agree on what an address is.
const IPV4_RE =
  /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])$/;
const TARGET_STATE_SET: ReadonlySet<string> = new Set(TARGET_STATES);
const EC2_STATE_SET: ReadonlySet<string> = new Set(EC2_STATES);
const SSM_SET: ReadonlySet<string> = new Set(["Online", "ConnectionLost", "Inactive", "Unknown"]);

function plainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Only own keys from `allowed`, and none that could touch a prototype. */
function keysWithin(v: Record<string, unknown>, allowed: Set<string>): boolean {
  for (const k in v) if (!allowed.has(k) || !Object.hasOwn(v, k)) return false;
  return true;
}

const optionalString = (v: unknown, minLength = 0) =>
  v === undefined || (typeof v === "string" && v.length >= minLength);

function fastTarget(v: unknown): RawInstance["targets"][number] | undefined {
  if (!plainObject(v) || !keysWithin(v, TARGET_KEYS)) return undefined;
  const { targetGroup, port, state, reason } = v;
  if (typeof targetGroup !== "string" || targetGroup.length === 0) return undefined;
  if (port !== undefined && !(Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65_535))
    return undefined;
  if (state !== undefined && !(typeof state === "string" && TARGET_STATE_SET.has(state))) return undefined;
  if (!optionalString(reason)) return undefined;
  const out = {
    targetGroup,
    state: (state ?? "healthy") as RawInstance["targets"][number]["state"],
  } as RawInstance["targets"][number];
  if (port !== undefined) out.port = port as number;
  if (reason !== undefined) out.reason = reason as string;
  return out;
}

/** The instance as `instanceSchema.parse` would return it, or undefined if zod should look at it. */
export function fastInstance(v: unknown): RawInstance | undefined {
  if (!plainObject(v) || !keysWithin(v, INSTANCE_KEYS)) return undefined;
  const { id, az, state, privateIp, tags, autoScalingGroup, ssm, targets } = v;
  if (typeof id !== "string" || !INSTANCE_ID_RE.test(id)) return undefined;
  if (typeof az !== "string" || az.length === 0) return undefined;
  if (state !== undefined && !(typeof state === "string" && EC2_STATE_SET.has(state))) return undefined;
  if (privateIp !== undefined && !(typeof privateIp === "string" && IPV4_RE.test(privateIp)))
    return undefined;
  if (!optionalString(autoScalingGroup, 1)) return undefined;
  if (ssm !== undefined && !(typeof ssm === "string" && SSM_SET.has(ssm))) return undefined;
  let tagsOut: Record<string, string> = {};
  if (tags !== undefined) {
    if (!plainObject(tags)) return undefined;
    tagsOut = {};
    for (const k in tags) {
      const value = tags[k];
      if (!Object.hasOwn(tags, k) || k === "__proto__" || typeof value !== "string") return undefined;
      tagsOut[k] = value;
    }
  }
  const targetsOut: RawInstance["targets"] = [];
  if (targets !== undefined) {
    if (!Array.isArray(targets)) return undefined;
    for (const t of targets) {
      const parsed = fastTarget(t);
      if (!parsed) return undefined;
      targetsOut.push(parsed);
    }
  }
  const out = {
    id,
    az,
    state: (state ?? "running") as RawInstance["state"],
    tags: tagsOut,
    ssm: (ssm ?? "Online") as RawInstance["ssm"],
    targets: targetsOut,
  } as RawInstance;
  if (privateIp !== undefined) out.privateIp = privateIp as string;
  if (autoScalingGroup !== undefined) out.autoScalingGroup = autoScalingGroup as string;
  return out;
}
