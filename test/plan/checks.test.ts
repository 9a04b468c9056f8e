// biome-ignore-all lint/suspicious/noTemplateCurlyInString: plans write variables as ${name}
import { describe, expect, it } from "vitest";
import { edit, errorsOf, load, MINIMAL, WITH_RELEASE, warningsOf } from "./helpers.js";

const rollout = (yaml: string) => edit("  maxUnavailable: 10%\n", yaml);
const messages = (text: string) => errorsOf(text).map((e) => `${e.path}: ${e.message}`);

describe("cross-field checks", () => {
  it.each([
    ["counts", "  canary: { size: 5 }\n  maxUnavailable: 3\n"],
    ["percents", "  canary: { size: 20% }\n  maxUnavailable: 10%\n"],
    ["per-AZ sizes", "  canary: { size: 2/az }\n  maxUnavailable: 1/az\n"],
  ])("rejects a canary larger than the window when both are %s", (_, yaml) => {
    const errors = errorsOf(rollout(yaml));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.path).toBe("rollout.canary.size");
    expect(errors[0]?.message).toContain("larger than the window");
  });

  it("rejects a per-AZ canary larger than the per-AZ window", () => {
    const errors = errorsOf(
      rollout("  canary: { size: 2/az }\n  maxUnavailable: 10%\n  maxUnavailablePerAz: 1\n"),
    );
    expect(errors.map((e) => e.message)).toEqual([expect.stringContaining("per-AZ window")]);
  });

  it("leaves sizes of different kinds to the planner, which knows the fleet", () => {
    expect(
      errorsOf(rollout("  canary: { size: 1/az }\n  maxUnavailable: 2\n  maxUnavailablePerAz: 12%\n")),
    ).toEqual([]);
    expect(errorsOf(rollout("  canary: { size: 3 }\n  maxUnavailable: 3\n"))).toEqual([]);
  });

  it.each(["0", "0%", "0/az"])("rejects a window of %s that rounds to 0 instances", (w) => {
    expect(messages(rollout(`  maxUnavailable: ${w}\n`))).toEqual([
      "rollout.maxUnavailable: a window that rounds to 0 instances",
    ]);
    expect(messages(rollout(`  maxUnavailable: 1\n  maxUnavailablePerAz: ${w}\n`))).toEqual([
      "rollout.maxUnavailablePerAz: a per-AZ window that rounds to 0 instances",
    ]);
  });

  it("rejects empty canaries and waves", () => {
    expect(messages(rollout("  maxUnavailable: 1\n  canary: { size: 0 }\n  waves: [1, 0%]\n"))).toEqual([
      "rollout.canary.size: a canary of 0 instances",
      "rollout.waves[1]: a wave of 0 instances never finishes",
    ]);
  });

  it("warns when wave sizes shrink", () => {
    const w = warningsOf(rollout("  maxUnavailable: 10%\n  waves: [2%, 5%, 3%, 10]\n"));
    expect(w.map((i) => i.path)).toEqual(["rollout.waves[2]"]);
  });

  it("rejects failures.action rollback without steps.rollback, and accepts it with one", () => {
    const text = rollout("  maxUnavailable: 10%\n  failures: { action: rollback }\n");
    expect(messages(text)).toEqual(["rollout.failures.action: action rollback needs steps.rollback"]);
    const fixed = edit("steps:\n", 'steps:\n  rollback: { commands: ["install --previous"] }\n', text);
    expect(errorsOf(fixed)).toEqual([]);
  });

  it("rejects drain.until.connections with nothing counting connections", () => {
    const text = `${MINIMAL}drain: { until: { connections: 0 } }\n`;
    expect(messages(text)).toEqual([
      "drain.until: drain.until.connections needs capacity.connections to count connections",
    ]);
  });

  it("rejects drain.closeCommand without drain.until, and accepts it with one", () => {
    const conn = `capacity:\n  connections:\n    metric: { namespace: N, name: C, dimension: InstanceId }\n    perInstanceLimit: 250\n`;
    const text = `${MINIMAL}${conn}drain: { closeCommand: "relayctl close-all" }\n`;
    expect(messages(text)).toEqual([
      "drain.closeCommand: drain.closeCommand runs when drain.until.connections is reached, and there is no drain.until",
    ]);
    const fixed = `${MINIMAL}${conn}drain: { until: { connections: 10 }, closeCommand: "relayctl close-all" }\n`;
    expect(errorsOf(fixed)).toEqual([]);
  });

  it("needs exactly one connection source", () => {
    const both = `${MINIMAL}capacity:\n  connections:\n    metric: { namespace: N, name: C, dimension: InstanceId }\n    probe: { command: "wc -l" }\n    perInstanceLimit: 250\n`;
    const none = `${MINIMAL}capacity:\n  connections:\n    perInstanceLimit: 250\n`;
    expect(messages(both)).toEqual(["capacity.connections: give either metric or probe, not both"]);
    expect(messages(none)).toEqual(["capacity.connections: needs a source: metric or probe"]);
  });

  it("accepts a probe source for a real rollout, and refuses an empty probe command at its line", () => {
    const text = `${MINIMAL}capacity:\n  connections:\n    probe: { command: "wc -l" }\n    perInstanceLimit: 250\n`;
    expect(warningsOf(text).filter((w) => w.path?.startsWith("capacity"))).toEqual([]);
    expect(errorsOf(text, { ...WITH_RELEASE, forRollout: true })).toEqual([]);
    const empty = text.replace('"wc -l"', '"  "');
    const errs = errorsOf(empty, { ...WITH_RELEASE, forRollout: true });
    expect(errs.map((e) => [e.path, e.message])).toEqual([
      ["capacity.connections.probe.command", "the probe command is empty"],
    ]);
    expect(errs[0]?.line).toBe(13);
    expect(errs[0]?.hint).toMatch(/connection count/);
  });

  it("rejects a headroom that leaves nothing usable", () => {
    const text = `${MINIMAL}capacity:\n  connections:\n    probe: { command: "wc -l" }\n    perInstanceLimit: 250\n    headroom: 100%\n`;
    expect(messages(text)).toEqual([
      "capacity.connections.headroom: headroom 100% leaves no capacity to use",
    ]);
  });

  it.each([["0.1"], ["10"], ["ten%"]])("asks for headroom %s as a percent", (h) => {
    const text = `${MINIMAL}capacity:\n  connections:\n    probe: { command: "wc -l" }\n    perInstanceLimit: 250\n    headroom: ${h}\n`;
    const errors = errorsOf(text);
    expect(errors.map((e) => [e.path, e.hint])).toEqual([
      ["capacity.connections.headroom", "write a percent such as 10%"],
    ]);
  });

  it.each([
    ["10s", 1],
    ["29s", 1],
    ["30s", 0],
    ["48h", 0],
    ["49h", 1],
    ["3d", 1],
  ])("holds step timeout %s to what SSM Run Command takes, 30s..48h (%i errors)", (t, n) => {
    expect(
      errorsOf(edit('commands: ["install ${release}"]', `commands: ["install \${release}"], timeout: ${t}`)),
    ).toHaveLength(n);
  });

  it("holds drain.timeout to SSM bounds only when it times a preCommand", () => {
    expect(errorsOf(`${MINIMAL}drain: { timeout: 10s }\n`)).toEqual([]);
    expect(messages(`${MINIMAL}drain: { timeout: 10s, preCommand: "relayctl drain" }\n`)).toEqual([
      "drain.timeout: 10s is outside what SSM Run Command accepts",
    ]);
  });

  it("takes any number of alarms: the reader asks DescribeAlarms for them 100 names at a time", () => {
    const alarms = `${MINIMAL}health: { alarms: [${Array.from({ length: 150 }, (_, i) => `a${i}`).join(", ")}] }\n`;
    expect(errorsOf(alarms)).toEqual([]);
    expect(load(alarms).plan.health.alarms).toHaveLength(150);
  });

  it.each([["12345"], ["1234567890123"], ["12345678901a"]])("rejects guard.account %s", (acct) => {
    expect(errorsOf(`${MINIMAL}guard: { account: "${acct}" }\n`).map((e) => e.path)).toEqual([
      "guard.account",
    ]);
  });

  it("asks for the account ID quoted when YAML read it as a number", () => {
    const errors = errorsOf(`${MINIMAL}guard: { account: 123456789012 }\n`);
    expect(errors.map((e) => e.hint)).toEqual(['quote it: "123456789012" (YAML reads it as a number)']);
  });

  it.each([
    ["ap-northeast-1", 0],
    ["us-gov-west-1", 0],
    ["tokyo", 1],
    ["us-east", 1],
  ])("checks region %s looks like an AWS Region", (region, n) => {
    expect(errorsOf(`${MINIMAL}region: ${region}\n`)).toHaveLength(n);
  });

  it("requires the selection to name at least one criterion", () => {
    expect(messages(edit("select: { tags: { Service: relay } }", "select: { tags: {} }"))).toEqual([
      "fleet.select: selects nothing: give tags, autoScalingGroups or instanceIds",
    ]);
    expect(errorsOf(edit("select: { tags: { Service: relay } }", "select: { instanceIds: [i-1] }"))).toEqual(
      [],
    );
  });

  it("still reports cross-field problems when another part of the plan has a type error", () => {
    const text = rollout("  maxUnavailable: 0\n  strategy: 7\n");
    expect(errorsOf(text).map((e) => e.path)).toEqual(["rollout.maxUnavailable", "rollout.strategy"]);
  });
});
