/**
 * What the shared clock is for: a CLI in another process, killed with SIGKILL and resumed, against a
 * standalone simulator that outlives it, everything in the simulator's time. Runs the built binary
 * (bin/rollwave.js → dist/), as a crash test does; builds dist/ first when it is missing.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningSimulator, startSimulator } from "../../../src/sim/index.js";
import type { SimStateSnapshot } from "../../../src/sim/model/api.js";
import { ScaledClock } from "../../../src/util/clock.js";
import { SMALL_FLEET, SMALL_PLAN } from "../../cli/sim-env.js";

const SIM_START = Date.UTC(2030, 5, 1, 12, 0, 0);

let sim: RunningSimulator;
let dir: string;
const LOCK = "/rollwave/locks/small-relay";
beforeAll(async () => {
  if (!existsSync("dist/cli/main.js")) {
    try {
      execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], {
        stdio: "ignore",
      });
    } catch {
      // Type errors elsewhere do not stop emitting; the existence check is what matters.
    }
  }
  sim = await startSimulator({ fleet: SMALL_FLEET, clock: new ScaledClock(400, SIM_START), seed: 9 });
  dir = await mkdtemp(join(tmpdir(), "rollwave-child-"));
}, 180_000);
afterAll(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

function rollwave(command: "deploy" | "resume"): {
  child: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** stdout so far. */
  output(): string;
} {
  const child = spawn(
    process.execPath,
    [
      "bin/rollwave.js",
      command,
      SMALL_PLAN,
      "--var",
      "release=v2.0.0",
      "--yes",
      "--auto-approve",
      "--output",
      "json",
      "--journal-dir",
      dir,
    ],
    {
      env: {
        ...process.env,
        CI: "true",
        AWS_ENDPOINT_URL: sim.endpoint,
        AWS_REGION: sim.region,
        AWS_ACCESS_KEY_ID: "sim",
        AWS_SECRET_ACCESS_KEY: "sim",
        ROLLWAVE_SIM_CLOCK: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("exit", (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done, output: () => stdout };
}

describe("deploy in a child process on the simulator's clock, SIGKILLed mid-drain, then resumed", () => {
  it("finishes on resume with every server on the new version, and the simulator counts what ran twice", async () => {
    const first = rollwave("deploy");
    // Kill once a batch instance (after the canary) is draining: mid-rollout, not at a journal boundary.
    const killedAt = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no batch instance started draining")), 90_000);
      first.child.stdout?.on("data", () => {
        const text = first.output();
        const draining = text
          .split("\n")
          .filter(
            (l) => l.includes('"instance.phase"') && l.includes('"to":"draining"') && !l.includes('"wave":0'),
          );
        if (draining.length > 0) {
          clearTimeout(timer);
          first.child.kill("SIGKILL");
          resolve(sim.clock.now());
        }
      });
    });
    const killed = await first.done;
    expect(killed.code).toBeNull(); // killed by the signal
    const started = JSON.parse(killed.stdout.split("\n")[0] as string) as { type: string; at: number };
    expect(started.type).toBe("rollout.started");
    // The child's events carry the simulator's time, not the wall clock's.
    expect(Math.abs(started.at - killedAt)).toBeLessThan(60 * 60_000);
    expect(started.at).toBeGreaterThan(SIM_START);

    // The killed process left its fleet lock (cli/fleet-lock.ts) behind: `resume` takes it over
    // once its heartbeat is stale (5 simulated minutes; under a second of real time here).
    const lock = JSON.parse(sim.world.getParameter(LOCK).value) as { pid: number; heartbeatAt: string };
    expect(lock.pid).toBe(first.child.pid);
    while (sim.clock.now() - Date.parse(lock.heartbeatAt) <= 5 * 60_000) {
      await new Promise((r) => setTimeout(r, 50));
    }

    const realStart = performance.now();
    const resumed = await rollwave("resume").done;
    const realSeconds = (performance.now() - realStart) / 1000;
    expect(resumed.code, resumed.stderr).toBe(0);
    const last = JSON.parse(resumed.stdout.trim().split("\n").at(-1) as string) as {
      type: string;
      status: string;
      durationSeconds: number;
    };
    expect(last).toMatchObject({ type: "rollout.finished", status: "succeeded" });
    expect(resumed.stderr).toContain(`taking over the stale fleet lock ${LOCK}`);
    expect(() => sim.world.getParameter(LOCK)).toThrow(); // released at the end
    // Minutes of simulated time in seconds of real time: the resumed process followed the clock too.
    expect(realSeconds).toBeLessThan(120);

    const state = (await (await fetch(`${sim.endpoint}/_sim/state`)).json()) as SimStateSnapshot;
    expect(new Set(state.instances.map((i) => i.version))).toEqual(new Set(["v2.0.0"]));
    expect(state.autoScalingGroups.every((g) => g.suspendedProcesses.length === 0)).toBe(true);
    // Every instance ran its deploy step at least once; what ran twice is listed, not hidden.
    // The step is the Comment's first three words: `rollwave r:<rollout> deploy`.
    const deploys = state.executions.filter((e) => /^rollwave r:\S+ deploy$/.test(e.step));
    expect(deploys).toHaveLength(12);
    expect(deploys.every((e) => e.successes >= 1)).toBe(true);
    console.log(
      `kill→resume: ${state.duplicates.length} duplicate execution(s): ${JSON.stringify(state.duplicates.map((d) => [d.instanceId, d.step, d.kind]))}`,
    );
  }, 240_000);
});
