import { describe, expect, it } from "vitest";
import { type CallSubject, plannedCalls } from "../../src/engine/calls.js";
import { dryRunRollout } from "../../src/engine/dry-run.js";
import { runRollout } from "../../src/engine/run.js";
import { makePlan } from "./fixtures.js";
import { drive, harness, options } from "./harness.js";

const TG_A = "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/a/1";
const TG_B = "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/b/2";

const subject = (n: number, over: Partial<CallSubject> = {}): CallSubject => ({
  id: `i-${n}`,
  seq: n,
  targets: [{ arn: TG_A, port: 8080 }, { arn: TG_B }],
  need: null,
  ...over,
});

describe("plannedCalls", () => {
  it("makes one ELB call per target group for every instance moving together, ports kept", () => {
    const { calls, refused } = plannedCalls(
      [
        subject(1, { need: "deregister" }),
        subject(2, { need: "deregister" }),
        subject(3, { need: "register" }),
      ],
      makePlan(),
    );
    expect(refused).toEqual([]);
    expect(calls).toEqual([
      {
        action: "DeregisterTargets",
        targetGroupArn: TG_A,
        targets: [
          { id: "i-1", port: 8080 },
          { id: "i-2", port: 8080 },
        ],
      },
      { action: "DeregisterTargets", targetGroupArn: TG_B, targets: [{ id: "i-1" }, { id: "i-2" }] },
      { action: "RegisterTargets", targetGroupArn: TG_A, targets: [{ id: "i-3", port: 8080 }] },
      { action: "RegisterTargets", targetGroupArn: TG_B, targets: [{ id: "i-3" }] },
    ]);
  });

  it("sends one command per step per 50 instances, in planned order, with SSM's timeouts", () => {
    const base = makePlan();
    const plan = {
      ...base,
      steps: { ...base.steps, validate: { commands: ["curl -f localhost"], timeoutMs: 60_000 } },
    };
    const many = Array.from({ length: 120 }, (_, k) => subject(120 - k, { need: "command", step: "deploy" }));
    const { calls } = plannedCalls([...many, subject(500, { need: "command", step: "validate" })], plan);
    const sends = calls.flatMap((c) => (c.action === "SendCommand" ? [c] : []));
    expect(sends.map((c) => [c.step, c.request.instanceIds.length])).toEqual([
      ["deploy", 50],
      ["deploy", 50],
      ["deploy", 20],
      ["validate", 1],
    ]);
    expect(sends[0]?.request.instanceIds.slice(0, 3)).toEqual(["i-1", "i-2", "i-3"]);
    expect(sends[0]?.request).toMatchObject({
      commands: plan.steps.deploy.commands,
      timeoutSeconds: Math.max(30, plan.steps.deploy.timeoutMs / 1000),
      executionTimeoutSeconds: plan.steps.deploy.timeoutMs / 1000,
    });
  });

  it("refuses a command step the plan does not have instead of sending an empty one", () => {
    const plan = makePlan();
    const { calls, refused } = plannedCalls([subject(1, { need: "command", step: "preDrain" })], {
      ...plan,
      steps: { ...plan.steps, preDrain: null },
    });
    expect(calls).toEqual([]);
    expect(refused).toEqual([{ id: "i-1", reason: "the plan has no preDrain step" }]);
  });
});

describe("the dry run and the run make the same calls", () => {
  it("gives every instance the ELB and SSM calls the dry run listed for it", async () => {
    const h = harness({ n: 24, canary: 2, batch: 6, window: 4, perAz: 2, twoGroups: true });
    const dry = dryRunRollout(h.plan, h.fleet, h.wavePlan);
    const expected = new Map<string, string[]>();
    const add = (id: string, call: string) => expected.set(id, [...(expected.get(id) ?? []), call].sort());
    for (const w of dry.waves) {
      for (const c of w.calls) {
        if (c.service === "ELBv2")
          for (const t of c.targets) add(t.id, `${c.action} ${c.targetGroupArn} ${label(t)}`);
        if (c.service === "SSM")
          for (const id of c.instanceIds) add(id, `SendCommand ${c.commands.join(";")}`);
      }
    }

    const r = await drive(h, runRollout(options(h)));
    expect(r.status).toBe("succeeded");
    const actual = new Map<string, string[]>();
    const put = (id: string, call: string) => actual.set(id, [...(actual.get(id) ?? []), call].sort());
    for (const m of h.aws.mutations) {
      if (m.action === "ELBv2.DeregisterTargets" || m.action === "ELBv2.RegisterTargets") {
        const [arn, labels = ""] = m.detail.split(" ");
        for (const l of labels.split(",")) put(l.split(":")[0] ?? l, `${m.action.slice(6)} ${arn} ${l}`);
      }
      if (m.action === "SSM.SendCommand") {
        const [, ids = "", ...commands] = m.detail.split(" ");
        for (const id of ids.split(",")) put(id, `SendCommand ${commands.join(" ")}`);
      }
    }
    expect(actual.size).toBe(24);
    expect(actual).toEqual(expected);
  });
});

function label(t: { id: string; port?: number }): string {
  return t.port === undefined ? t.id : `${t.id}:${t.port}`;
}
