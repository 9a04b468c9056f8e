/**
 * The YAML/JSON shape users write, as one zod schema. It checks shape and types (strict: unknown
 * keys are errors) plus per-field forms (sizes, durations); cross-field rules live in ./checks.ts
 * and normalization into `Plan` in ./normalize.ts. The JSON Schema for editors is generated from
 * this same schema, so the editor and `rollwave validate` never disagree about what a key is.
 */
import { z } from "zod";
import { SCALING_PROCESSES } from "../util/auto-scaling.js";
import { parseDuration } from "../util/duration.js";
import { shown } from "../util/quote.js";
import { parseS3Url } from "../util/s3-url.js";
import { parseSize } from "../util/size.js";

const SIZE_HINT = "write a count (3), a percent of the fleet (10%, at most 100) or a count per AZ (1/az)";
const DURATION_HINT = "write a number with a unit: 500ms, 90s, 5m, 1h30m, 2h, 1d";

/** Must stay a safe directory name: the CLI keeps `.rollwave/<name>/journal.ndjson`. */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const VAR_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

function size(description: string) {
  return z
    .union(
      [
        // Any number passes the type so that -1 or 1.5 gets "not a size" with the hint below.
        z.number().meta({ type: "integer", minimum: 0 }),
        z.string().meta({ pattern: "^\\s*\\d+(\\.\\d+)?%\\s*$|^\\s*\\d+\\s*(/\\s*[aA][zZ])?\\s*$" }),
      ],
      {
        error: `expected a size; ${SIZE_HINT}`,
      },
    )
    .superRefine((v, ctx) => {
      if (parseSize(v) !== undefined) return;
      const over = typeof v === "string" && /^\s*\d+(\.\d+)?%\s*$/.test(v);
      ctx.addIssue({
        code: "custom",
        message: over ? `'${shown(String(v))}' is more than 100%` : `'${shown(String(v))}' is not a size`,
        params: { hint: SIZE_HINT },
      });
    })
    .meta({ description, examples: [3, "10%", "1/az"] });
}

function duration(description: string) {
  return (
    z
      // A bare number is accepted by the type only to say "no unit" rather than "wrong type";
      // 0 is the one number that needs no unit.
      .union(
        [z.string().meta({ pattern: "^(\\d+(\\.\\d+)?(ms|s|m|h|d))+$|^0$" }), z.number().meta({ const: 0 })],
        {
          error: `expected a duration; ${DURATION_HINT}`,
        },
      )
      .superRefine((v, ctx) => {
        if (v === 0 || (typeof v === "string" && parseDuration(v) !== undefined)) return;
        const bare = typeof v === "number" || /^\s*\d+(\.\d+)?\s*$/.test(v);
        ctx.addIssue({
          code: "custom",
          message: bare ? `'${shown(String(v))}' has no unit` : `'${shown(String(v))}' is not a duration`,
          params: { hint: DURATION_HINT },
        });
      })
      .meta({ description, examples: ["90s", "5m", "1h30m"] })
  );
}

const stringList = (description: string) => z.array(z.string()).meta({ description });

const selector = (what: string) =>
  z
    .strictObject({
      tags: z
        .record(z.string(), z.string())
        .optional()
        .meta({ description: `Tag key/values; every pair must match. ${what}` }),
      autoScalingGroups: stringList("Auto Scaling group names.").optional(),
      instanceIds: stringList("Instance IDs (i-…).").optional(),
    })
    .meta({ description: `${what} Criteria combine: an instance must match all of them.` });

const commands = z
  .union([z.string(), z.array(z.string()).min(1)], { error: "expected a command or a list of commands" })
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the plan syntax ${name}, shown to users
  .meta({ description: "Shell commands run by AWS-RunShellScript. ${var} inserts a shell-quoted variable." });

const step = (description: string) =>
  z
    .strictObject({
      commands,
      timeout: duration("How long the command may run (SSM executionTimeout). Default 10m.").optional(),
    })
    .meta({ description });

const PERCENT_RE = /^\s*\d+(\.\d+)?%\s*$/;
const percent = z
  .union([z.string().meta({ pattern: PERCENT_RE.source }), z.number()], {
    error: "expected a percent such as 10%",
  })
  .superRefine((v, ctx) => {
    if (typeof v === "string" && PERCENT_RE.test(v)) return;
    // `headroom: 0.1` or `headroom: 10` is ambiguous: a fraction or a percent?
    ctx.addIssue({
      code: "custom",
      message: `'${shown(String(v))}' is not a percent`,
      params: { hint: "write a percent such as 10%" },
    });
  })
  .meta({ description: "A percent such as 10%." });

export const planInputSchema = z
  .strictObject({
    version: z.literal(1, { error: "expected version: 1" }).meta({ description: "Plan format version." }),
    name: z
      .string()
      .regex(NAME_RE, {
        error: "use letters, digits, '.', '_' and '-' (at most 64), starting with a letter or digit",
      })
      .meta({ description: "Names the rollout; also its journal directory (.rollwave/<name>)." }),
    region: z
      .string()
      .optional()
      .meta({ description: "AWS Region, e.g. ap-northeast-1. Default: --region / the SDK chain." }),
    guard: z
      .strictObject({
        account: z
          .string({ error: 'expected the account ID as a quoted string, e.g. "123456789012"' })
          .optional()
          .meta({ description: "Refuse to run unless the credentials belong to this 12-digit account." }),
      })
      .optional(),
    lock: z
      .strictObject({
        store: z.enum(["ssm", "local"], { error: "expected ssm or local" }).optional().meta({
          description:
            "ssm: a fleet-wide lock in SSM Parameter Store (default against AWS); local: a file beside the journal, single-machine only (always used with --simulate).",
        }),
        parameter: z
          .string()
          .regex(/^\/[A-Za-z0-9_.\-/]{1,1010}$/, {
            error: "expected an SSM parameter name starting with '/', e.g. /rollwave/locks/web",
          })
          .optional()
          .meta({ description: "The lock's SSM parameter. Default /rollwave/locks/<name>." }),
        staleAfter: duration(
          "A lock whose heartbeat is older than this is stale (resume takes it over; unlock removes it). Default 5m.",
        ).optional(),
      })
      .optional()
      .meta({ description: "Who may roll this fleet: one rollout at a time, across machines." }),
    journal: z
      .string()
      .superRefine((v, ctx) => {
        const parsed = parseS3Url(v);
        if (!("error" in parsed)) return;
        ctx.addIssue({
          code: "custom",
          message: v.startsWith("s3://") ? parsed.error : `'${shown(v)}' is not an s3:// URL`,
          params: {
            hint: v.startsWith("s3://")
              ? parsed.hint
              : "journal: takes s3://<bucket>/<prefix>; a local directory is the default (or --journal-dir)",
          },
        });
      })
      .optional()
      .meta({
        description:
          "Keep the journal in S3 (s3://bucket/prefix) so another machine can resume; default: the local .rollwave directory. --journal / --journal-dir override it.",
      }),
    vars: z
      .record(
        z.string(),
        z
          .strictObject({
            required: z
              .boolean()
              .optional()
              .meta({ description: "Default: true unless a default is given." }),
            pattern: z
              .string()
              .optional()
              .meta({ description: "Regular expression the whole value must match." }),
            default: z.string().optional(),
            description: z.string().optional(),
          })
          .nullable(),
      )
      .optional()
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the plan syntax ${name}, shown to users
      .meta({ description: "Variables set with --var k=v / --var-file; used as ${name} in commands." }),
    fleet: z.strictObject({
      select: selector("Which instances the plan rolls."),
      exclude: selector("Instances to leave alone.").optional(),
      targetGroups: stringList(
        "Target group names or ARNs; empty = every group the instances are in.",
      ).optional(),
      autoScaling: z
        .strictObject({
          suspendProcesses: z.array(z.enum(SCALING_PROCESSES)).optional().meta({
            description:
              "Suspended during the rollout, resumed after. Default: AZRebalance, ReplaceUnhealthy, Terminate, ScheduledActions, InstanceRefresh.",
          }),
        })
        .optional(),
      notReady: z.enum(["skip", "include", "fail"]).optional().meta({
        description: "Instances unhealthy or not SSM-online: skip (default), include, or fail the plan.",
      }),
    }),
    rollout: z.strictObject({
      canary: z
        .strictObject({
          size: size("Canary wave size."),
          bake: duration("Watch the canary this long before going on. Default 0s.").optional(),
          approve: z
            .boolean()
            .optional()
            .meta({ description: "Pause for approval after the canary. Default false." }),
        })
        .optional(),
      waves: z.array(size("Wave size.")).min(1).optional().meta({
        description: "Growing batch sizes after the canary; the last repeats. Default: [maxUnavailable].",
      }),
      strategy: z.enum(["window", "waves"]).optional().meta({
        description:
          "window (default): start the next instance as soon as one finishes. waves: strict batches.",
      }),
      maxUnavailable: size("At most this many instances out of service at once."),
      maxUnavailablePerAz: size("At most this many out of service in any one AZ.").optional(),
      failures: z
        .strictObject({
          maxFailed: size("Failures tolerated over the whole rollout. Default 0.").optional(),
          action: z.enum(["rollback", "pause", "abort"]).optional().meta({ description: "Default pause." }),
          failedInstances: z.enum(["keepOut", "reregister"]).optional().meta({
            description: "keepOut (default) leaves a failed instance deregistered; reregister puts it back.",
          }),
        })
        .optional(),
      seed: z
        .number()
        .int()
        .optional()
        .meta({ description: "Seed for instance order. Default: derived from name." }),
    }),
    capacity: z
      .strictObject({
        connections: z
          .strictObject({
            metric: z
              .strictObject({
                namespace: z.string(),
                name: z.string(),
                dimension: z.string().meta({ description: "Dimension whose value is the instance ID." }),
                statistic: z.string().optional().meta({ description: "Default Maximum." }),
              })
              .optional(),
            probe: z.strictObject({ command: z.string() }).optional(),
            perInstanceLimit: z
              .number()
              .int()
              .positive()
              .meta({ description: "Connections one instance can hold." }),
            headroom: percent.optional().meta({ description: "Capacity kept free. Default 10%." }),
            maxDisplacedPerMinute: z.number().int().positive().optional(),
            maxAge: duration(
              "Oldest connection reading an instance may be let out on; older or missing → hold. Default 2m.",
            ).optional(),
            perAz: z.boolean().optional().meta({
              description:
                "Check capacity within each AZ for every instance. Default: per AZ for instances in a target group with cross-zone load balancing off (the NLB default), fleet-wide otherwise.",
            }),
          })
          .optional(),
      })
      .optional(),
    drain: z
      .strictObject({
        preCommand: commands.optional(),
        until: z.strictObject({ connections: z.number().int().min(0) }).optional(),
        closeCommand: commands.optional().meta({
          description:
            "Runs when drain.until.connections is reached: closes the remaining (straggler) connections so they reconnect elsewhere at once instead of waiting out the deregistration delay.",
        }),
        timeout: duration("Longest a drain may take. Default 6m.").optional(),
      })
      .optional(),
    steps: z.strictObject({
      deploy: step("Installs the release."),
      validate: step("Checks the instance before it returns to service.").optional(),
      rollback: step("Restores the previous release (needed by failures.action: rollback).").optional(),
    }),
    health: z
      .strictObject({
        targetHealthy: z.strictObject({ timeout: duration("Default 5m.").optional() }).optional(),
        stableFor: duration("Healthy this long in every target group, with no flap. Default 0s.").optional(),
        alarms: stringList("CloudWatch alarms that must not be in ALARM.").optional(),
        connectedDevices: z
          .strictObject({
            atLeast: percent.meta({
              description: "Share of the devices connected at the start that must stay connected, e.g. 99%.",
            }),
            within: duration(
              "How long the fleet may stay below it before the failure action runs. Default 5m.",
            ).optional(),
          })
          .optional()
          .meta({
            description:
              "Fleet connectivity gate, from the sum of the connection readings (needs capacity.connections): below it, nothing new leaves service; not back within `within` → failures.action.",
          }),
      })
      .optional(),
  })
  .meta({ title: "rollwave plan", description: "A rollwave deploy plan." });

export type PlanInput = z.infer<typeof planInputSchema>;

/**
 * JSON Schema for `rollwave schema`. Draft-07: yaml-language-server validates instances with
 * draft-07 semantics (newer drafts: redhat-developer/yaml-language-server#856, still open).
 */
export function planJsonSchema(): object {
  return z.toJSONSchema(planInputSchema, { target: "draft-7", io: "input", unrepresentable: "any" });
}

/**
 * The keys allowed at a path, for "did you mean" on unknown keys; [] when the path is not an
 * object (records accept any key).
 */
export function allowedKeysAt(path: readonly (string | number)[]): string[] {
  let s: z.ZodType | undefined = planInputSchema;
  for (const seg of path) {
    s = s && child(unwrap(s), seg);
  }
  const u = s && unwrap(s);
  return u instanceof z.ZodObject ? Object.keys(u.shape) : [];
}

function unwrap(s: z.ZodType): z.ZodType {
  let cur = s;
  for (;;) {
    if (cur instanceof z.ZodOptional || cur instanceof z.ZodNullable || cur instanceof z.ZodDefault) {
      cur = cur.unwrap() as z.ZodType;
    } else return cur;
  }
}

function child(s: z.ZodType, seg: string | number): z.ZodType | undefined {
  if (s instanceof z.ZodObject) return (s.shape as Record<string, z.ZodType>)[String(seg)];
  if (s instanceof z.ZodRecord) return s.valueType as z.ZodType;
  if (s instanceof z.ZodArray) return s.element as z.ZodType;
  return undefined;
}
