/**
 * The IAM permissions rollwave needs, derived from ONE table: every method of the AWS facade
 * (`AwsReader`, `AwsWriter` in ./types.ts), the SDK operations its adapter sends (reader.ts,
 * writer.ts, target-groups.ts), and which command calls it. The table is typed as a record over the
 * facade's method names, so a new method does not compile without an entry; a test checks the
 * operations against the adapters' source, and an integration test checks a simulated rollout's
 * calls against the policy (test/cli/iam-policy.test.ts).
 *
 * `buildIamPolicy(plan, "plan" | "deploy")` turns the rows a plan needs into a least-privilege
 * policy, scoped where AWS allows resource-level permissions:
 *   - Register/DeregisterTargets: the plan's target groups (by ARN, or by name);
 *   - SendCommand: the AWS-RunShellScript document, and instances by `ssm:resourceTag/<key>` for
 *     the plan's selection tags (and `aws:autoscaling:groupName` for its Auto Scaling groups);
 *   - DescribeAlarms: the plan's alarms; Suspend/ResumeProcesses: its Auto Scaling groups.
 * The Describe, List and GetMetricData actions support no resource-level permissions: "*".
 */

import type { ObjectStore } from "../aws/object-store.js";
import type { AwsService } from "../aws/services.js";
import type { AwsReader, AwsWriter } from "../aws/types.js";
import type { Plan } from "./types.js";

/** Which command first needs a call: discovery (`plan`, `deploy --dry-run`) or a real rollout. */
type NeededBy = "plan" | "deploy";

/** A plan feature without which a call is never made. */
type Feature =
  | "alarms"
  | "connectionMetric"
  | "suspendProcesses"
  | "selectByAutoScalingGroup"
  | "fleetLock"
  | "s3Journal";

interface AdapterCall {
  /** The SDK operations the adapter sends, as the call counter names them (`ELBv2.DescribeTargetHealth`). */
  operations: string[];
  /** Each place it is called from; empty: no command calls it (yet). */
  uses: { by: NeededBy; when?: Feature }[];
  /** Why it is not in any policy, for a method no command calls. */
  unusedBecause?: string;
  /**
   * Called only to recover (a lost SendCommand answer, a step given up on), so a smooth rollout
   * never makes it; the policy must still allow it. The text says when.
   */
  recovery?: string;
}

/** The journal in S3's calls (aws/object-store.ts), beside the fleet's reader and writer. */
type JournalObjectCall = keyof Omit<ObjectStore, "calls" | "close">;

export const ADAPTER_CALLS: Record<keyof AwsReader | keyof AwsWriter | JournalObjectCall, AdapterCall> = {
  // Reads: discovery (src/fleet/discover.ts) and the engine's observation (src/engine/observe.ts).
  getCallerIdentity: { operations: ["STS.GetCallerIdentity"], uses: [{ by: "plan" }] },
  describeInstances: { operations: ["EC2.DescribeInstances"], uses: [{ by: "plan" }] },
  describeTargetGroups: {
    operations: [
      "ELBv2.DescribeTargetGroups",
      "ELBv2.DescribeTargetGroupAttributes",
      "ELBv2.DescribeLoadBalancers",
      // Cross-zone load balancing, when a group defers to its load balancer (target-groups.ts).
      "ELBv2.DescribeLoadBalancerAttributes",
    ],
    uses: [{ by: "plan" }],
  },
  describeTargetHealth: { operations: ["ELBv2.DescribeTargetHealth"], uses: [{ by: "plan" }] },
  describeInstanceInformation: { operations: ["SSM.DescribeInstanceInformation"], uses: [{ by: "plan" }] },
  describeAutoScalingInstances: {
    operations: ["AutoScaling.DescribeAutoScalingInstances"],
    uses: [{ by: "plan" }],
  },
  describeAutoScalingGroups: {
    operations: ["AutoScaling.DescribeAutoScalingGroups"],
    uses: [
      { by: "plan", when: "selectByAutoScalingGroup" },
      { by: "deploy", when: "suspendProcesses" },
    ],
  },
  listCommandInvocations: { operations: ["SSM.ListCommandInvocations"], uses: [{ by: "deploy" }] },
  // Exactly-once SendCommand: after a lost answer or a crash, find the command by its Comment token.
  listCommands: {
    operations: ["SSM.ListCommands"],
    uses: [{ by: "deploy" }],
    recovery:
      "a SendCommand answer was lost, or a run is resumed after a crash: the command is found by its Comment token",
  },
  describeAlarms: { operations: ["CloudWatch.DescribeAlarms"], uses: [{ by: "deploy", when: "alarms" }] },
  getInstanceMetric: {
    operations: ["CloudWatch.GetMetricData"],
    uses: [{ by: "deploy", when: "connectionMetric" }],
  },
  // The fleet lock (src/cli/fleet-lock.ts): read it, create/heartbeat it, release it; `unlock` too.
  getParameter: { operations: ["SSM.GetParameter"], uses: [{ by: "deploy", when: "fleetLock" }] },
  // Writes: the engine (src/engine/act.ts, asg.ts).
  deregisterTargets: { operations: ["ELBv2.DeregisterTargets"], uses: [{ by: "deploy" }] },
  registerTargets: { operations: ["ELBv2.RegisterTargets"], uses: [{ by: "deploy" }] },
  sendCommand: { operations: ["SSM.SendCommand"], uses: [{ by: "deploy" }] },
  // A command the engine gave up on is cancelled, so a rollback never races it.
  cancelCommand: {
    operations: ["SSM.CancelCommand"],
    uses: [{ by: "deploy" }],
    recovery: "the engine gives up on a command (deadline passed), so a rollback never races it",
  },
  suspendProcesses: {
    operations: ["AutoScaling.SuspendProcesses"],
    uses: [{ by: "deploy", when: "suspendProcesses" }],
  },
  resumeProcesses: {
    operations: ["AutoScaling.ResumeProcesses"],
    uses: [{ by: "deploy", when: "suspendProcesses" }],
  },
  putParameter: { operations: ["SSM.PutParameter"], uses: [{ by: "deploy", when: "fleetLock" }] },
  deleteParameter: { operations: ["SSM.DeleteParameter"], uses: [{ by: "deploy", when: "fleetLock" }] },
  // The journal in S3 (src/engine/journal-store.ts): find the rollout's objects, read them on resume
  // (and after a conditional put's 412), write one per flush with If-None-Match: *.
  listObjects: { operations: ["S3.ListObjectsV2"], uses: [{ by: "deploy", when: "s3Journal" }] },
  getObject: { operations: ["S3.GetObject"], uses: [{ by: "deploy", when: "s3Journal" }] },
  putIfAbsent: { operations: ["S3.PutObject"], uses: [{ by: "deploy", when: "s3Journal" }] },
};

/** IAM's service prefix for each of the call counter's service names. */
const IAM_PREFIX: Record<AwsService, string> = {
  EC2: "ec2",
  ELBv2: "elasticloadbalancing",
  SSM: "ssm",
  CloudWatch: "cloudwatch",
  AutoScaling: "autoscaling",
  STS: "sts",
  S3: "s3",
};

/** Operations whose IAM action is not named after them: ListObjectsV2 is authorized as s3:ListBucket. */
const IAM_ACTION_OF: Readonly<Record<string, string>> = { "S3.ListObjectsV2": "s3:ListBucket" };

/**
 * Operations IAM does not authorize: sts:GetCallerIdentity works for any credentials, even under
 * an explicit deny (AWS STS API reference), so the policy leaves it out.
 */
export const NO_PERMISSION_NEEDED: ReadonlySet<string> = new Set(["STS.GetCallerIdentity"]);

/** `ELBv2.DescribeTargetHealth` → `elasticloadbalancing:DescribeTargetHealth`. */
export function iamAction(operation: string): string {
  const named = IAM_ACTION_OF[operation];
  if (named) return named;
  const [service, action] = operation.split(".") as [AwsService, string];
  return `${IAM_PREFIX[service]}:${action}`;
}

function features(plan: Plan): Set<Feature> {
  const out = new Set<Feature>();
  if (plan.health.alarms.length > 0) out.add("alarms");
  if (plan.capacity.connections?.source.kind === "metric") out.add("connectionMetric");
  if (plan.fleet.autoScaling.suspendProcesses.length > 0) out.add("suspendProcesses");
  if (plan.fleet.select.autoScalingGroups?.length) out.add("selectByAutoScalingGroup");
  if (plan.lock.store === "ssm") out.add("fleetLock");
  if (plan.journal) out.add("s3Journal");
  return out;
}

/** The SDK operations `command` makes for this plan (what the integration test compares against). */
export function operationsFor(plan: Plan, command: NeededBy): string[] {
  const have = features(plan);
  const ops = new Set<string>();
  for (const row of Object.values(ADAPTER_CALLS)) {
    const needed = row.uses.some(
      (u) => (command === "deploy" || u.by === "plan") && (u.when === undefined || have.has(u.when)),
    );
    if (needed) for (const op of row.operations) ops.add(op);
  }
  return [...ops].sort();
}

interface IamStatement {
  Sid: string;
  Effect: "Allow";
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface IamPolicy {
  Version: "2012-10-17";
  Statement: IamStatement[];
}

interface IamScope {
  /** Region and account for ARNs; `*` when unknown (no `region:` / `guard.account` in the plan). */
  region?: string | null;
  account?: string | null;
  /** The ARN partition: aws, aws-cn, aws-us-gov… (from the Region when not given). */
  partition?: string;
}

/** `cn-north-1` → aws-cn, `us-gov-west-1` → aws-us-gov, `us-iso-east-1` → aws-iso … else aws. */
function partitionOf(region: string | null | undefined): string {
  if (!region) return "aws";
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  if (region.startsWith("us-isob-")) return "aws-iso-b";
  if (region.startsWith("us-isof-")) return "aws-iso-f";
  if (region.startsWith("eu-isoe-")) return "aws-iso-e";
  if (region.startsWith("us-iso-")) return "aws-iso";
  if (region.startsWith("eusc-")) return "aws-eusc";
  return "aws";
}

const TG_ARN = /^arn:[\w-]+:elasticloadbalancing:[^:]*:\d*:targetgroup\/[^/]+\/[0-9a-f]+$/;

/**
 * The least-privilege policy for `command` on this plan. Every action in it is one the command
 * makes for this plan; every call it makes is in it (except NO_PERMISSION_NEEDED).
 */
export function buildIamPolicy(plan: Plan, command: NeededBy, scope: IamScope = {}): IamPolicy {
  const region = scope.region ?? plan.region ?? "*";
  const account = scope.account ?? plan.guard.account ?? "*";
  const partition = scope.partition ?? partitionOf(region === "*" ? null : region);
  const arn = (service: string, resource: string, acct = account) =>
    `arn:${partition}:${service}:${region}:${acct}:${resource}`;

  const ops = operationsFor(plan, command).filter((op) => !NO_PERMISSION_NEEDED.has(op));
  const pick = (names: string[]) => names.filter((n) => ops.includes(n)).map(iamAction);
  const scoped = new Set([
    "ELBv2.DeregisterTargets",
    "ELBv2.RegisterTargets",
    "SSM.SendCommand",
    "CloudWatch.DescribeAlarms",
    "AutoScaling.SuspendProcesses",
    "AutoScaling.ResumeProcesses",
    "SSM.GetParameter",
    "SSM.PutParameter",
    "SSM.DeleteParameter",
    "S3.ListObjectsV2",
    "S3.GetObject",
    "S3.PutObject",
  ]);
  const statements: IamStatement[] = [];
  const unscoped = ops.filter((op) => !scoped.has(op)).map(iamAction);
  if (unscoped.length > 0) {
    statements.push({
      Sid: command === "plan" ? "DiscoverFleet" : "DiscoverAndWatchFleet",
      Effect: "Allow",
      Action: unscoped,
      // Describe*, List* and GetMetricData support no resource-level permissions.
      Resource: "*",
    });
  }

  const alarms = pick(["CloudWatch.DescribeAlarms"]);
  if (alarms.length > 0) {
    statements.push({
      Sid: "ReadPlanAlarms",
      Effect: "Allow",
      Action: alarms,
      Resource: plan.health.alarms.map((name) => arn("cloudwatch", `alarm:${name}`)),
    });
  }

  const tgActions = pick(["ELBv2.DeregisterTargets", "ELBv2.RegisterTargets"]);
  if (tgActions.length > 0) {
    const groups = plan.fleet.targetGroups;
    statements.push({
      Sid: "DrainAndRestoreTargets",
      Effect: "Allow",
      Action: tgActions,
      Resource:
        groups.length === 0
          ? arn("elasticloadbalancing", "targetgroup/*/*")
          : groups.map((g) => (TG_ARN.test(g) ? g : arn("elasticloadbalancing", `targetgroup/${g}/*`))),
    });
  }

  if (ops.includes("SSM.SendCommand")) {
    statements.push({
      Sid: "RunShellScriptDocument",
      Effect: "Allow",
      Action: ["ssm:SendCommand"],
      // AWS-owned documents have no account in their ARN.
      Resource: arn("ssm", "document/AWS-RunShellScript", ""),
    });
    const { tags, autoScalingGroups, instanceIds } = plan.fleet.select;
    const conditions: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(tags ?? {})) conditions[`ssm:resourceTag/${k}`] = v;
    if (autoScalingGroups?.length) {
      conditions["ssm:resourceTag/aws:autoscaling:groupName"] =
        autoScalingGroups.length === 1 ? (autoScalingGroups[0] as string) : autoScalingGroups;
    }
    statements.push({
      Sid: "RunOnSelectedInstances",
      Effect: "Allow",
      Action: ["ssm:SendCommand"],
      Resource: instanceIds?.length
        ? instanceIds.map((id) => arn("ec2", `instance/${id}`))
        : arn("ec2", "instance/*"),
      ...(Object.keys(conditions).length > 0 ? { Condition: { StringEquals: conditions } } : {}),
    });
  }

  const asgActions = pick(["AutoScaling.SuspendProcesses", "AutoScaling.ResumeProcesses"]);
  if (asgActions.length > 0) {
    const names = plan.fleet.select.autoScalingGroups ?? [];
    statements.push({
      Sid: "PauseAutoScaling",
      Effect: "Allow",
      Action: asgActions,
      Resource:
        names.length > 0
          ? names.map((n) => arn("autoscaling", `autoScalingGroup:*:autoScalingGroupName/${n}`))
          : arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/*"),
    });
  }

  const lockActions = pick(["SSM.GetParameter", "SSM.PutParameter", "SSM.DeleteParameter"]);
  if (lockActions.length > 0) {
    statements.push({
      Sid: "FleetLock",
      Effect: "Allow",
      Action: lockActions,
      // A parameter's ARN is `parameter` + its name when the name starts with "/".
      Resource: arn(
        "ssm",
        `parameter${plan.lock.parameter.startsWith("/") ? "" : "/"}${plan.lock.parameter}`,
      ),
    });
  }
  const objectActions = pick(["S3.GetObject", "S3.PutObject"]);
  if (plan.journal && objectActions.length > 0) {
    // S3 ARNs name no Region or account. The journal's keys are <prefix>/<plan name>/…
    const base = `${plan.journal.prefix ? `${plan.journal.prefix}/` : ""}${plan.name}/`;
    statements.push({
      Sid: "JournalObjects",
      Effect: "Allow",
      Action: objectActions,
      Resource: `arn:${partition}:s3:::${plan.journal.bucket}/${base}*`,
    });
    if (ops.includes("S3.ListObjectsV2")) {
      statements.push({
        Sid: "ListJournal",
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: `arn:${partition}:s3:::${plan.journal.bucket}`,
        Condition: { StringLike: { "s3:prefix": `${base}*` } },
      });
    }
  }
  return { Version: "2012-10-17", Statement: statements };
}

/** Every IAM action in a policy, sorted. */
export function policyActions(policy: IamPolicy): string[] {
  return [...new Set(policy.Statement.flatMap((s) => s.Action))].sort();
}

const FEATURE_TEXT: Record<Feature, string> = {
  alarms: "the plan lists `health.alarms`",
  connectionMetric: "`capacity.connections` reads a metric",
  suspendProcesses: "`fleet.autoScaling.suspendProcesses` is not empty (the default)",
  selectByAutoScalingGroup: "`fleet.select` names `autoScalingGroups`",
  fleetLock: "`lock.store` is `ssm` (the default against AWS)",
  s3Journal: "the journal is in S3 (`journal: s3://…` in the plan, or `--journal s3://…`)",
};

const SCOPE_TEXT: Record<string, string> = {
  "ELBv2.DeregisterTargets": "the plan's `fleet.targetGroups` (by ARN or name), else every target group",
  "ELBv2.RegisterTargets": "the plan's `fleet.targetGroups` (by ARN or name), else every target group",
  "SSM.SendCommand":
    "document `AWS-RunShellScript`, and instances with the `fleet.select` tags (`ssm:resourceTag/…`)",
  "CloudWatch.DescribeAlarms": "the plan's alarms",
  "AutoScaling.SuspendProcesses": "the plan's Auto Scaling groups, else every group",
  "AutoScaling.ResumeProcesses": "the plan's Auto Scaling groups, else every group",
  "SSM.GetParameter": "the lock parameter (`lock.parameter`, default `/rollwave/locks/<plan name>`)",
  "SSM.PutParameter": "the lock parameter (`lock.parameter`, default `/rollwave/locks/<plan name>`)",
  "SSM.DeleteParameter": "the lock parameter (`lock.parameter`, default `/rollwave/locks/<plan name>`)",
  "S3.ListObjectsV2": "the journal's bucket, with the condition `s3:prefix` like `<prefix>/<plan name>/*`",
  "S3.GetObject": "the journal's objects: `arn:aws:s3:::<bucket>/<prefix>/<plan name>/*`",
  "S3.PutObject": "the journal's objects: `arn:aws:s3:::<bucket>/<prefix>/<plan name>/*`",
};

/**
 * The README's "AWS permissions" table, generated from ADAPTER_CALLS (a test keeps the README
 * equal to it): one row per IAM action, the command that first needs it, when, and its scope.
 */
export function permissionsMarkdown(): string {
  const rows: string[] = ["| IAM action | needed by | only when | resources |", "|---|---|---|---|"];
  const seen = new Set<string>();
  const order: NeededBy[] = ["plan", "deploy"];
  const entries = Object.values(ADAPTER_CALLS).flatMap((row) =>
    row.operations.map((op) => ({ op, uses: row.uses, recovery: row.recovery })),
  );
  entries.sort(
    (a, b) =>
      Math.min(...a.uses.map((u) => order.indexOf(u.by)), 9) -
        Math.min(...b.uses.map((u) => order.indexOf(u.by)), 9) ||
      iamAction(a.op).localeCompare(iamAction(b.op)),
  );
  for (const { op, uses, recovery } of entries) {
    if (uses.length === 0 || NO_PERMISSION_NEEDED.has(op) || seen.has(op)) continue;
    seen.add(op);
    const first = uses.some((u) => u.by === "plan") ? "plan" : "deploy";
    const text = (u: { when?: Feature }) => (u.when ? FEATURE_TEXT[u.when] : "always");
    let when = uses
      .filter((u) => u.by === first)
      .map(text)
      .join("; or ");
    const later = uses.filter((u) => u.by !== first);
    if (later.length > 0 && !when.startsWith("always"))
      when += `; \`deploy\` also when ${later.map(text).join("; or ")}`;
    if (recovery) when = `recovery only: ${recovery}`;
    const who = first === "plan" ? "`plan`, `deploy --dry-run`, `deploy`" : "`deploy`, `resume`";
    rows.push(
      `| \`${iamAction(op)}\` | ${who} | ${when} | ${SCOPE_TEXT[op] ?? "`*` (no resource-level permissions)"} |`,
    );
  }
  return rows.join("\n");
}

/** IAM actions a policy allows for recovery only: a smooth rollout never calls them. */
export function recoveryOnlyActions(): string[] {
  return Object.values(ADAPTER_CALLS)
    .filter((row) => row.recovery !== undefined)
    .flatMap((row) => row.operations.map(iamAction))
    .sort();
}
