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
