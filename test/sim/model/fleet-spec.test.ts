import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputError } from "../../../src/plan/types.js";
import { defaultFleetSpecPath, loadFleetSpec } from "../../../src/sim/model/fleet-spec.js";
import { makeWorld, smallFleetPath } from "./helpers.js";

async function specFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "rollwave-fleet-"));
  const path = join(dir, "fleet.yaml");
  await writeFile(path, text);
  return path;
}

async function issuesOf(path: string) {
  try {
    await loadFleetSpec(path);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as InputError).issues;
  }
  throw new Error("expected the spec to be rejected");
}

describe("fleet spec", () => {
  it("loads the default 1,000-server fleet with ~180,000 cameras connected within limits", async () => {
    const spec = await loadFleetSpec(defaultFleetSpecPath);
    const t = makeWorld(spec);
    const state = t.world.state();
    expect(state.instances).toHaveLength(1000);
    const perAz = new Map<string, number>();
    for (const i of state.instances) perAz.set(i.az, (perAz.get(i.az) ?? 0) + 1);
    expect(Object.fromEntries(perAz)).toEqual({
      "ap-northeast-1a": 360,
      "ap-northeast-1c": 340,
      "ap-northeast-1d": 300,
    });
    expect(state.targetGroups.map((g) => [g.name, g.type, g.targets])).toEqual([
      ["relay-rtmp", "network", 1000],
      ["relay-http", "application", 1000],
    ]);
    expect(state.autoScalingGroups.map((g) => g.name)).toEqual([
      "camera-relay-prod-a",
      "camera-relay-prod-c",
      "camera-relay-prod-d",
    ]);
    await t.step(60_000);
    const m = t.world.metrics();
    expect(m.cameras.connected).toBe(180_000);
    expect(m.maxLoadRatio).toBeLessThanOrEqual(1);
    expect(Math.max(...t.world.state().instances.map((i) => i.connections))).toBeLessThanOrEqual(250);
    expect(t.world.describeAlarms({}).items.map((a) => [a.name, a.state])).toEqual([
      ["relay-5xx-rate", "OK"],
      ["relay-camera-disconnects", "OK"],
    ]);
    expect(m.invariantViolations).toEqual([]);
  });

  it("matches every command of plans/camera-relay.yaml with a behaviour", async () => {
    const spec = await loadFleetSpec(defaultFleetSpecPath);
    const commands = [
      "/opt/relay/bin/relayctl drain --rate 50/s",
      "/opt/relay/bin/install v2.0.0",
      "/opt/relay/bin/install 'v2.0.0+build 7'",
      "systemctl restart relay",
      "curl -fsS http://127.0.0.1:8080/healthz",
      "/opt/relay/bin/install --previous",
      "ss -Htn state established '( sport = :1935 )' | wc -l",
    ];
    const unmatched = commands.filter((c) => !spec.commands.some((b) => new RegExp(b.match).test(c)));
    // A quoted version with a space is not a release name the installer accepts.
    expect(unmatched).toEqual(["/opt/relay/bin/install 'v2.0.0+build 7'"]);
  });

  it("normalizes durations to milliseconds, defaults included", async () => {
    const spec = await loadFleetSpec(smallFleetPath);
    expect(spec.loadBalancers[0]?.targetGroups[0]?.deregistrationDelay).toBe(60_000);
    expect(spec.metrics.sampleEvery).toBe(10_000);
    expect(spec.cameras.reconnect).toEqual({ base: 1_000, max: 30_000, jitter: "full" });
    expect(spec.commands[2]?.duration).toEqual({ p50: 10_000, p99: 30_000 });
  });

  it("reports a wrong field with its file, line and column", async () => {
    const path = await specFile(
      [
        'account: "123456789012"',
        "region: ap-northeast-1",
        "azs: [ap-northeast-1a]",
        "instanceGroups:",
        "  - name: relay",
        "    countPerAz: { ap-northeast-1a: lots }",
        "loadBalancers: []",
        "app: { version: v1 }",
        "cameras: { total: 10, perInstanceLimit: 5, reconnect: { base: soon } }",
      ].join("\n"),
    );
    const issues = await issuesOf(path);
    const count = issues.find((i) => i.path === "instanceGroups.0.countPerAz.ap-northeast-1a");
    expect(count).toMatchObject({ source: path, line: 6, column: 36 });
    const base = issues.find((i) => i.path === "cameras.reconnect.base");
    expect(base).toMatchObject({ line: 9 });
    expect(base?.message).toContain("not a duration");
    expect(issues.find((i) => i.path === "loadBalancers")).toBeDefined();
  });

  it("rejects an ALB target group over the 1,000-target quota", async () => {
    const path = await specFile(
      [
        'account: "123456789012"',
        "region: ap-northeast-1",
        "azs: [ap-northeast-1a, ap-northeast-1c]",
        "instanceGroups:",
        "  - name: relay",
        "    countPerAz: { ap-northeast-1a: 600, ap-northeast-1c: 600 }",
        "loadBalancers:",
        "  - name: alb",
        "    type: application",
        "    targetGroups:",
        "      - { name: web, protocol: HTTP, port: 80, cameras: true }",
        "app: { version: v1 }",
        "cameras: { total: 10, perInstanceLimit: 5 }",
      ].join("\n"),
    );
    const issues = await issuesOf(path);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toContain("1200 targets exceed the ALB quota of 1000");
    expect(issues[0]?.line).toBe(11);
  });

  it("schedules the same faults the control endpoint takes, with their fields (slowDrain on chosen instances)", async () => {
    const base = await readFile(smallFleetPath, "utf8");
    const ok = await specFile(
      `${base}\nfaults:\n  scheduled:\n    - { at: 5m, op: slowDrain, share: 0.5, instanceIds: [i-0123456789abcdef0] }\n`,
    );
    const spec = await loadFleetSpec(ok);
    expect(spec.faults.scheduled).toEqual([
      expect.objectContaining({ op: "slowDrain", share: 0.5, instanceIds: ["i-0123456789abcdef0"] }),
    ]);
    const bad = await specFile(
      `${base}\nfaults:\n  scheduled:\n    - { at: 5m, op: healthFlap, instanceId: random, seconds: -1 }\n`,
    );
    expect((await issuesOf(bad)).map((i) => i.path)).toContain("faults.scheduled.0.seconds");
  });

  it("reports YAML syntax errors with their position", async () => {
    const path = await specFile("account: [unclosed\nregion: x\n");
    const issues = await issuesOf(path);
    // The parser notices the unclosed `[` where the next key starts: line 2, column 1.
    expect(issues[0]).toMatchObject({ source: path, line: 2, column: 1 });
    expect(issues[0]?.message).toMatch(/Flow sequence .* end with a \]/);
  });
});
