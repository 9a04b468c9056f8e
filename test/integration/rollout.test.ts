/**
 * The engine against the in-process simulator: real SDK v3 clients over HTTP, one ScaledClock.
 * Each test checks the outcome in the simulator's own state, not only what the engine reports.
 */
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { RunningSimulator } from "../../src/sim/index.js";
import { type SimRunResult, simRun } from "./sim-run.js";

const SMALL = fileURLToPath(new URL("./fleet-40.yaml", import.meta.url));
const MUTATING =
  /^(ELBv2\.(Register|Deregister)Targets|SSM\.(SendCommand|CancelCommand)|AutoScaling\.(Suspend|Resume)Processes)$/;

let open: RunningSimulator[] = [];
afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  open = [];
});

async function run(o: Parameters<typeof simRun>[0]): Promise<SimRunResult> {
  const r = await simRun(o);
  open.push(r.sim);
  return r;
}

function mutations(sim: RunningSimulator): number {
  return Object.entries(sim.apiCalls().byAction)
    .filter(([k]) => MUTATING.test(k))
    .reduce((a, [, n]) => a + n, 0);
}

function suspendedEverywhere(sim: RunningSimulator): string[] {
  return sim.state().autoScalingGroups.flatMap((g) => g.suspendedProcesses.map((p) => `${g.name}:${p}`));
}

/** Every planned instance runs `version`, and is healthy in every target group it is in. */
function expectAllUpdated(r: SimRunResult, version: string) {
  const planned = new Set(r.wavePlan.waves.flatMap((w) => w.instances.map((i) => i.id)));
  const states = r.sim.state().instances.filter((i) => planned.has(i.id));
  expect(states).toHaveLength(planned.size);
  expect(states.filter((i) => i.version !== version).map((i) => i.id)).toEqual([]);
  const unhealthy = states.filter((i) => Object.values(i.targets).some((t) => t !== "healthy"));
  expect(unhealthy.map((i) => `${i.id}:${JSON.stringify(i.targets)}`)).toEqual([]);
  expect(states.every((i) => Object.keys(i.targets).length === 2)).toBe(true);
}

describe("a 300-instance rollout", () => {
  for (const strategy of ["window", "waves"] as const) {
    it(`through strategy ${strategy} updates every instance, keeps the floor and stays in the API budget`, async () => {
      const r = await run({ plan: (p) => ({ ...p, rollout: { ...p.rollout, strategy } }) });
      expect(r.result.reason).toBeUndefined();
      expect(r.result.status).toBe("succeeded");
      expect(r.result.instances).toMatchObject({ total: 300, succeeded: 300, failed: 0, skipped: 0 });
      expectAllUpdated(r, "v2.0.0");
      const m = r.sim.metrics();
      expect(m.invariantViolations).toEqual([]);
      const perInstance = r.result.apiCalls.total / 300;
      // Issue 9 targets ≤ 3 in both strategies. `window` is not held to it yet: the batch holds
      // (engine/schedule.ts) bring the 1,000-server camera plan to 3.03 (bench/README.md), but this
      // real-clock run at 300× was not re-measured with them on a loaded machine, so the old margin
      // stays until it is.
      // The bound stays tight enough to catch a return to per-instance calls.
      const budget = strategy === "window" ? 4.5 : 3;
      expect(perInstance, JSON.stringify(r.result.apiCalls.byAction)).toBeLessThanOrEqual(budget);
      expect(suspendedEverywhere(r.sim)).toEqual([]);
      // No SendCommand ever carried more than 50 ids: the simulator would have rejected it.
      expect(r.result.apiCalls.byAction["SSM.SendCommand"]).toBeGreaterThan(0);
    });
  }
});

describe("failures against the simulator", () => {
  it("stops a bad release at the canary and rolls the canary back", async () => {
    const r = await run({ release: "v2.0.0-bad" });
    expect(r.result.status).toBe("rolled-back");
    const canary = r.wavePlan.waves[0]?.instances.map((i) => i.id) ?? [];
    for (const id of canary) expect(r.result.perInstance[id]?.phase).toBe("rolledBack");
    // Nothing past the canary was started.
    const rest = r.wavePlan.waves
      .slice(1)
      .flatMap((w) => w.instances.map((i) => r.result.perInstance[i.id]?.phase));
    expect(new Set(rest)).toEqual(new Set(["pending"]));
    expect(r.events.find((e) => e.type === "policy.triggered")).toMatchObject({
      action: "rollback",
      reason: expect.stringMatching(/^canary failed: [1-3] of 3 instance\(s\)$/),
    });
    const versions = r.sim.state().instances.map((i) => i.version);
    expect(versions.every((v) => v === "v1.9.0")).toBe(true);
    expect(r.sim.metrics().invariantViolations).toEqual([]);
    expect(suspendedEverywhere(r.sim)).toEqual([]);
  });

  for (const action of ["pause", "abort", "rollback"] as const) {
    it(`runs ${action} when 5% of deploy commands fail with maxFailed 2%`, async () => {
      const r = await run({
        plan: (p) => ({ ...p, rollout: { ...p.rollout, failures: { ...p.rollout.failures, action } } }),
        // From the first wave after the canary (a failed canary would trip the canary gate instead).
        onEvent: (e, sim) => {
          if (e.type === "wave.started" && e.index === 1) {
            sim.world.control({ op: "commandFailures", probability: 0.05, match: "install v" });
          }
        },
      });
      const triggered = r.events.find((e) => e.type === "policy.triggered");
      expect(triggered, `${r.result.status}: ${r.result.reason}`).toMatchObject({ action, maxFailed: 6 });
      expect(r.result.status).toBe({ pause: "paused", abort: "aborted", rollback: "rolled-back" }[action]);
      const failed = Object.values(r.result.perInstance).filter((p) => p.phase === "failed");
      if (action !== "rollback") {
        expect(failed.length).toBeGreaterThan(6);
        // The reason quotes the first lines of stderr, which SSM returns in the plugin output.
        expect(failed[0]?.reason).toMatch(
          /^deploy: the command failed with exit code 3 \(Failed\): install: checksum mismatch for v2\.0\.0/,
        );
      }
      if (action === "rollback")
        expect(r.sim.state().instances.every((i) => i.version === "v1.9.0")).toBe(true);
      // Not every instance was started: the action stopped the rollout.
      expect(Object.values(r.result.perInstance).some((p) => p.phase === "pending")).toBe(true);
      expect(r.sim.metrics().invariantViolations).toEqual([]);
      expect(suspendedEverywhere(r.sim)).toEqual([]);
    });
  }

  it("still completes with 30% throttling and 2% server errors", async () => {
    const r = await run({ fleetSpec: SMALL, faults: { throttleRate: 0.3, errorRate: 0.02 } });
    expect(r.result.status).toBe("succeeded");
    expectAllUpdated(r, "v2.0.0");
    expect(r.sim.apiCalls().throttled).toBeGreaterThan(0);
  });

  it("skips an instance terminated mid-drain and carries on", async () => {
    let victim: string | undefined;
    const r = await run({
      fleetSpec: SMALL,
      // Room for two per AZ: the lost instance keeps its slot (the floor is absolute), the other moves on.
      plan: (p) => ({
        ...p,
        rollout: { ...p.rollout, maxUnavailablePerAz: { kind: "percent", percent: 25 } },
      }),
      onEvent: (e, sim) => {
        if (!victim && e.type === "instance.phase" && e.to === "draining" && e.wave > 0) {
          victim = e.id;
          sim.world.control({ op: "terminateInstance", instanceId: e.id });
        }
      },
    });
    expect(victim).toBeDefined();
    expect(r.result.perInstance[victim as string]).toMatchObject({
      phase: "skipped",
      reason: expect.stringMatching(/terminated|shutting-down/),
    });
    expect(r.result.status).toBe("succeeded");
    expect(r.result.instances.succeeded).toBe(r.result.instances.total - 1);
    expect(r.sim.metrics().invariantViolations).toEqual([]);
    expect(r.events).toContainEqual(expect.objectContaining({ type: "warning", code: "W_CAPACITY_LOST" }));
  });

  it("reports an SSM agent offline as an Undeliverable failure with a clear reason", async () => {
    let offline = "";
    const r = await run({
      fleetSpec: SMALL,
      plan: (p) => ({
        ...p,
        rollout: {
          ...p.rollout,
          failures: { ...p.rollout.failures, maxFailed: { kind: "count", count: 1 } },
        },
      }),
      before: (sim, _fleet, wavePlan) => {
        offline = wavePlan.waves[1]?.instances[0]?.id as string;
        sim.world.control({ op: "ssmAgent", instanceId: offline, online: false });
      },
    });
    expect(r.result.perInstance[offline]).toMatchObject({
      phase: "failed",
      reason: expect.stringMatching(/SSM could not deliver the command/),
    });
    expect(r.result.status).toBe("succeeded");
  });
});

describe("guards and Auto Scaling against the simulator", () => {
  it("refuses a mismatched account before any mutating call", async () => {
    const r = await run({ fleetSpec: SMALL, plan: (p) => ({ ...p, guard: { account: "999999999999" } }) });
    expect(r.result.status).toBe("failed");
    expect(r.result.reason).toMatch(/account guard/);
    expect(mutations(r.sim)).toBe(0);
  });

  it("leaves processes suspended by someone else suspended, and resumes its own when a rollout fails", async () => {
    let group = "";
    const r = await run({
      fleetSpec: SMALL,
      release: "v2.0.0-bad",
      plan: (p) => ({ ...p, steps: { ...p.steps, rollback: null } }),
      before: (sim) => {
        group = sim.state().autoScalingGroups[0]?.name as string;
        sim.world.suspendProcesses(group, ["Terminate"]);
      },
    });
    expect(r.result.status).toBe("failed");
    expect(suspendedEverywhere(r.sim)).toEqual([`${group}:Terminate`]);
  });
});
