/**
 * `rollwave iam-policy`: the policy is built from the one table of adapter calls (src/plan/iam.ts),
 * and checked three ways: the table against the adapters' source, the policy against every call a
 * simulated rollout makes (all of them in it, none of it unused), and the README against the table.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { discoverFleet } from "../../src/fleet/discover.js";
import {
  ADAPTER_CALLS,
  buildIamPolicy,
  type IamPolicy,
  iamAction,
  NO_PERMISSION_NEEDED,
  operationsFor,
  permissionsMarkdown,
  policyActions,
  recoveryOnlyActions,
} from "../../src/plan/iam.js";
import type { RunningSimulator } from "../../src/sim/index.js";
import { type SimRunResult, simRun } from "../integration/sim-run.js";
import { cli } from "./harness.js";

const FLEET_40 = fileURLToPath(new URL("../integration/fleet-40.yaml", import.meta.url));

function policyOf(stdout: string): IamPolicy {
  return JSON.parse(stdout) as IamPolicy;
}

describe("rollwave iam-policy", () => {
  it("prints a read-only policy for plan and the full one for deploy", async () => {
    const p = await cli(["iam-policy", "plans/camera-relay.yaml", "--for", "plan"]);
    expect(p.code).toBe(0);
    expect(p.stderr).toBe("");
    const plan = policyOf(p.stdout);
    expect(plan.Version).toBe("2012-10-17");
    expect(policyActions(plan)).toEqual([
      "autoscaling:DescribeAutoScalingInstances",
      "ec2:DescribeInstances",
      "elasticloadbalancing:DescribeLoadBalancerAttributes",
      "elasticloadbalancing:DescribeLoadBalancers",
      "elasticloadbalancing:DescribeTargetGroupAttributes",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetHealth",
      "ssm:DescribeInstanceInformation",
    ]);
    expect(plan.Statement.every((s) => s.Resource === "*")).toBe(true);

    const d = await cli(["iam-policy", "plans/camera-relay.yaml"]);
    expect(d.code).toBe(0);
    const deploy = policyOf(d.stdout);
    const actions = policyActions(deploy);
    for (const a of policyActions(plan)) expect(actions).toContain(a);
    expect(actions).toEqual(
      expect.arrayContaining([
        "elasticloadbalancing:DeregisterTargets",
        "elasticloadbalancing:RegisterTargets",
        "ssm:SendCommand",
        "ssm:ListCommandInvocations",
        "autoscaling:SuspendProcesses",
        "autoscaling:ResumeProcesses",
        // Recovery: find a command by its Comment token, cancel one given up on.
        "ssm:ListCommands",
        "ssm:CancelCommand",
      ]),
    );
    // Never in any policy: no command calls them, or IAM does not check them.
    for (const a of ["sts:GetCallerIdentity", "ec2:*"]) expect(actions).not.toContain(a);
    // The fleet lock (lock.store: ssm, the default): its parameter only, not every parameter.
    const lock = deploy.Statement.find((s) => s.Sid === "FleetLock");
    expect(lock?.Action).toEqual(["ssm:GetParameter", "ssm:PutParameter", "ssm:DeleteParameter"]);
    expect(lock?.Resource).toMatch(
      /^arn:aws:ssm:ap-northeast-1:\d{12}:parameter\/rollwave\/locks\/camera-relay$/,
    );
    for (const a of ["ssm:PutParameter", "ssm:GetParameter"]) expect(policyActions(plan)).not.toContain(a);
  });

  it("scopes what AWS lets it scope, from the plan", async () => {
    const r = await cli(["iam-policy", "plans/camera-relay.yaml"]);
    const plan = readFileSync("plans/camera-relay.yaml", "utf8");
    const region = /^region: (\S+)/m.exec(plan)?.[1] as string;
    const sids = Object.fromEntries(policyOf(r.stdout).Statement.map((s) => [s.Sid, s]));
    expect(sids.RunShellScriptDocument).toMatchObject({
      Action: ["ssm:SendCommand"],
      Resource: `arn:aws:ssm:${region}::document/AWS-RunShellScript`,
    });
    expect(sids.RunOnSelectedInstances).toMatchObject({
      Action: ["ssm:SendCommand"],
      Resource: expect.stringMatching(new RegExp(`^arn:aws:ec2:${region}:(\\d{12}|\\*):instance/\\*$`)),
      Condition: { StringEquals: expect.objectContaining({ "ssm:resourceTag/Service": "camera-relay" }) },
    });
  });

  it("narrows target groups, alarms and Auto Scaling groups to the ones a plan names", async () => {
    const { parsePlanText } = await import("../../src/plan/load.js");
    const text = `version: 1
name: scoped
region: eu-west-1
guard: { account: "111122223333" }
fleet:
  select: { tags: { Service: web }, autoScalingGroups: [web-a] }
  targetGroups:
    - web-tg
    - arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/api/0123456789abcdef
rollout: { maxUnavailable: 10% }
steps: { deploy: { commands: ["true"] } }
health: { alarms: [web-5xx] }
`;
    const { plan } = parsePlanText(text, "scoped.yaml");
    const sids = Object.fromEntries(buildIamPolicy(plan, "deploy").Statement.map((s) => [s.Sid, s]));
    expect(sids.DrainAndRestoreTargets?.Resource).toEqual([
      "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/web-tg/*",
      "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/api/0123456789abcdef",
    ]);
    expect(sids.ReadPlanAlarms?.Resource).toEqual([
      "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:web-5xx",
    ]);
    expect(sids.PauseAutoScaling?.Resource).toEqual([
      "arn:aws:autoscaling:eu-west-1:111122223333:autoScalingGroup:*:autoScalingGroupName/web-a",
    ]);
    expect(sids.RunOnSelectedInstances?.Condition).toEqual({
      StringEquals: {
        "ssm:resourceTag/Service": "web",
        "ssm:resourceTag/aws:autoscaling:groupName": "web-a",
      },
    });
    // Selecting by Auto Scaling group makes discovery read the groups.
    expect(policyActions(buildIamPolicy(plan, "plan"))).toContain("autoscaling:DescribeAutoScalingGroups");
  });

  it("says when the ARNs are wildcards, and takes --region/--account to narrow them", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollwave-iam-"));
    const file = join(dir, "no-region.yaml");
    await writeFile(
      file,
      readFileSync("plans/web-api.yaml", "utf8")
        .replace(/^region: .*$/m, "")
        .replace(/^guard: .*$/m, ""),
    );
    const r = await cli(["iam-policy", file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      "note: the plan names no Region and no account, so the ARNs use *; pass --region and --account to narrow them\n",
    );
    expect(r.stdout).toContain('"arn:aws:ec2:*:*:instance/*"');
    const n = await cli(["iam-policy", file, "--region", "eu-west-1", "--account", "123456789012"]);
    expect(n.stderr).toBe("");
    expect(n.stdout).toContain('"arn:aws:ec2:eu-west-1:123456789012:instance/*"');
    const bad = await cli(["iam-policy", file, "--account", "12"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--account must be a 12-digit AWS account ID, got '12'");
  });
});

describe("the table of adapter calls", () => {
  it("names exactly the SDK operations the adapters send", () => {
    const src = ["reader.ts", "writer.ts", "target-groups.ts", "object-store.ts"]
      .map((f) => readFileSync(`src/aws/${f}`, "utf8"))
      .join("\n");
    const sent = new Set<string>();
    for (const m of src.matchAll(/new (\w+)Command\(/g)) sent.add(m[1] as string);
    for (const m of src.matchAll(/\bpaginate(\w+)\(/g)) sent.add(m[1] as string);
    const table = new Set(
      Object.values(ADAPTER_CALLS).flatMap((r) => r.operations.map((o) => o.split(".")[1])),
    );
    expect([...table].sort()).toEqual([...sent].sort());
  });

  it("gives a reason for every adapter method no command calls", () => {
    for (const [name, row] of Object.entries(ADAPTER_CALLS)) {
      if (row.uses.length === 0) expect(row.unusedBecause, name).toBeTruthy();
    }
  });

  it("is what the README's permissions section shows", () => {
    const readme = readFileSync("README.md", "utf8");
    const section = /<!-- iam-permissions:begin[^>]*-->\n([\s\S]*?)\n<!-- iam-permissions:end -->/.exec(
      readme,
    )?.[1];
    expect(section, "README.md needs the generated table between the iam-permissions markers").toBe(
      permissionsMarkdown(),
    );
  });
});

describe("the policy against a simulated rollout's calls", () => {
  let run: SimRunResult | undefined;
  const sims: RunningSimulator[] = [];
  afterAll(async () => {
    await Promise.all(sims.map((s) => s.close()));
  });

  /** IAM actions behind the operations the simulator answered (needing-no-permission ones left out). */
  const called = (sim: RunningSimulator) =>
    [
      ...new Set(
        Object.entries(sim.apiCalls().byAction)
          .filter(([op, n]) => n > 0 && !NO_PERMISSION_NEEDED.has(op))
          .map(([op]) => iamAction(op)),
      ),
    ].sort();

  it("deploy: every action called is in the policy, and every action in it was called", async () => {
    run = await simRun({ fleetSpec: FLEET_40, fleetLock: true });
    sims.push(run.sim);
    expect(run.result.status).toBe("succeeded");
    const policy = buildIamPolicy(run.plan, "deploy", { region: run.sim.region });
    // A smooth rollout makes every call but the recovery-only ones, which the policy must still allow.
    const recovery = recoveryOnlyActions();
    expect(recovery).toEqual(["ssm:CancelCommand", "ssm:ListCommands"]);
    expect(policyActions(policy)).toEqual(expect.arrayContaining(recovery));
    expect(called(run.sim)).toEqual(policyActions(policy).filter((a) => !recovery.includes(a)));
    // The table's own list for the plan says the same.
    expect(
      operationsFor(run.plan, "deploy")
        .filter((o) => !NO_PERMISSION_NEEDED.has(o))
        .map(iamAction)
        .sort(),
    ).toEqual(policyActions(policy));
  }, 120_000);

  it("plan: discovery calls exactly the read-only policy's actions", async () => {
    const { startSimulator } = await import("../../src/sim/index.js");
    const { createReadOnlyAws } = await import("../../src/aws/connect.js");
    const sim = await startSimulator({ fleet: FLEET_40, seed: 7 });
    sims.push(sim);
    const aws = createReadOnlyAws({
      region: sim.region,
      endpointUrl: sim.endpoint,
      credentials: { accessKeyId: "sim", secretAccessKey: "sim" },
    });
    const plan = run?.plan as NonNullable<typeof run>["plan"];
    await discoverFleet(aws.reader, plan.fleet, { region: sim.region });
    aws.close();
    expect(called(sim)).toEqual(policyActions(buildIamPolicy(plan, "plan")));
  });
});
