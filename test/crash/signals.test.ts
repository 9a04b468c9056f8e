/**
 * Signals and closed output through the real CLI (bin/rollwave.js in a child process) against a
 * standalone simulator, as CI runners and pipes deliver them (issue 7, "Signal and output tests"):
 *   - SIGTERM alone: the process exits on its own within --stop-grace (5 s) plus a little;
 *   - the GitHub Actions cancel: SIGINT, SIGTERM 7.5 s later, SIGKILL 2.5 s after that — rollwave
 *     (no terminal) takes the fast stop on the SIGINT and is gone before the SIGTERM; `resume` then
 *     finishes the rollout with the fleet whole;
 *   - `--output json | head -1`: one line, no crash, the closed pipe stops the run (exit 130).
 * Not covered here: SIGKILL as PID 1 then resume (needs the stale-lock takeover, not on main yet).
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { RolloutEvent } from "../../src/engine/events.js";
import {
  BIN,
  type CliTarget,
  declareFloor,
  ensureBuilt,
  entering,
  fleetVerdict,
  ROOT,
  runCliChild,
  type SimProcess,
  spawnCli,
  startSimProcess,
  tempDir,
} from "./harness.js";

const FLEET = `${ROOT}test/integration/fleet-40.yaml`;
const PLAN = `${ROOT}test/integration/plan.yaml`;
const VARS = ["release=v2.0.0"];
const GRACE_MS = 5_000;
/** Process start-up, the final record and exit on a loaded 2-core runner. */
const SLACK_MS = 2_500;

// A fresh simulator per test: a stopped rollout leaves instances out and Auto Scaling suspended
// until its own resume, which must not leak into the next test.
let sim: SimProcess;
beforeAll(() => ensureBuilt(), 180_000);
beforeEach(async () => {
  sim = await startSimProcess({ fleet: FLEET, scale: 120, seed: 11 });
  await declareFloor(sim, PLAN, VARS);
}, 60_000);
afterEach(async () => {
  await sim?.close();
});

async function lastJournalRecord(dir: string): Promise<Record<string, unknown>> {
  const lines = (await readFile(join(dir, "it-relay", "journal.ndjson"), "utf8")).trim().split("\n");
  return JSON.parse(lines.at(-1) as string) as Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("signals and closed output, through bin/rollwave.js", () => {
  it("SIGTERM alone: stops fast and exits on its own within the grace, the journal ending paused", async () => {
    const dir = await tempDir("rollwave-sigterm-");
    try {
      const t: CliTarget = { endpoint: sim.endpoint, plan: PLAN, vars: VARS, journalDir: dir.path };
      const cli = spawnCli("deploy", t);
      await cli.waitFor(entering("draining"));
      const sent = performance.now();
      cli.child.kill("SIGTERM");
      const end = await cli.exited;
      const tookMs = end.at - sent;
      expect(end.signal, cli.stderr()).toBeNull();
      expect(end.code, cli.stderr()).toBe(130);
      expect(tookMs).toBeLessThan(GRACE_MS + SLACK_MS);
      expect(cli.stderr()).toMatch(/SIGTERM received: stopping fast/);
      // Either everything came back within the grace (the engine's own end), or the final record.
      expect(cli.stderr()).toMatch(/continue with: rollwave resume |paused: continue with `rollwave resume /);
      expect(await lastJournalRecord(dir.path)).toMatchObject({ type: "end", status: "paused" });
    } finally {
      await dir.remove();
    }
  }, 120_000);

  it("the CI cancel (SIGINT, SIGTERM 7.5 s later, SIGKILL 2.5 s after): gone before the SIGTERM; resume finishes it", async () => {
    const dir = await tempDir("rollwave-cancel-");
    try {
      const t: CliTarget = { endpoint: sim.endpoint, plan: PLAN, vars: VARS, journalDir: dir.path };
      const cli = spawnCli("deploy", t);
      await cli.waitFor((e: RolloutEvent) => entering("draining", { canary: false })(e));
      const sent = performance.now();
      cli.child.kill("SIGINT");
      const escalation = (async () => {
        await sleep(7_500);
        if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill("SIGTERM");
        await sleep(2_500);
        if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill("SIGKILL");
      })();
      const end = await cli.exited;
      expect(end.signal, cli.stderr()).toBeNull(); // not killed: it exited on its own
      expect(end.code, cli.stderr()).toBe(130);
      expect(end.at - sent).toBeLessThan(7_500);
      expect(cli.stderr()).toMatch(/SIGINT received: stopping fast/);
      await escalation;

      const resumed = await runCliChild("resume", t);
      const finished = resumed.events.findLast((e) => e.type === "rollout.finished");
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(finished).toMatchObject({ status: "succeeded" });
      const verdict = await fleetVerdict(sim, "v2.0.0");
      expect(verdict.wrongVersion).toEqual([]);
      expect(verdict.notInService).toEqual([]);
      expect(verdict.suspended).toEqual([]);
      expect(verdict.violations).toEqual([]);
    } finally {
      await dir.remove();
    }
  }, 300_000);

  it("`--output json | head -1`: one line, no crash, the closed pipe stops the run (exit 130)", async () => {
    const dir = await tempDir("rollwave-epipe-");
    try {
      const args = [
        BIN,
        "deploy",
        PLAN,
        "--var",
        "release=v2.0.0",
        "--yes",
        "--auto-approve",
        "--output",
        "json",
      ];
      const script = `node ${args.map((a) => `'${a}'`).join(" ")} --journal-dir '${dir.path}' | head -1; echo "rollwave-exit=\${PIPESTATUS[0]}" >&2`;
      const r = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
        const child = spawn("bash", ["-c", script], {
          cwd: ROOT,
          env: {
            ...process.env,
            AWS_ENDPOINT_URL: sim.endpoint,
            ROLLWAVE_SIM_CLOCK: "1",
            AWS_ACCESS_KEY_ID: "simulator",
            AWS_SECRET_ACCESS_KEY: "simulator",
          },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => {
          stdout += String(d);
        });
        child.stderr.on("data", (d) => {
          stderr += String(d);
        });
        child.on("exit", () => resolve({ stdout, stderr }));
      });
      const lines = r.stdout.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0] as string)).toMatchObject({ type: expect.any(String) });
      expect(r.stderr).toMatch(/rollwave-exit=130/);
      expect(r.stderr).toMatch(/output closed \(EPIPE\): stopping fast/);
      expect(r.stderr).not.toMatch(/Unhandled|Error: (write )?EPIPE|at .*\.js:\d+/);
      expect(await lastJournalRecord(dir.path)).toMatchObject({ type: "end", status: "paused" });
    } finally {
      await dir.remove();
    }
  }, 120_000);
});
