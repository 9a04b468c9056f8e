/**
 * The shared clock (fail-safe issue §4): a standalone simulator advertises its scaled clock on
 * GET /_sim/clock, and a CLI run pointed at it with --sim-clock (or ROLLWAVE_SIM_CLOCK=1) waits in
 * that simulated time instead of real time.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SendCommandCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTarget } from "../../../src/cli/target.js";
import { loadPlan } from "../../../src/plan/load.js";
import { type RunningSimulator, startSimulator } from "../../../src/sim/index.js";
import { ManualClock, ScaledClock } from "../../../src/util/clock.js";
import { ClockFollowError, FollowingClock } from "../../../src/util/following-clock.js";
import { cli, fakeIo } from "../../cli/harness.js";
import { SMALL_FLEET, SMALL_PLAN } from "../../cli/sim-env.js";

// Far from the wall clock, so following and not following cannot be confused.
const SIM_START = Date.UTC(2030, 5, 1, 12, 0, 0);
const SCALE = 400;
/**
 * Agreement between the two views: 1 s of real time, in simulated ms. A follower's error is its
 * first read's round trip, which a loaded 2-core CI machine can stretch past 100 ms; not following
 * at all would be off by years (SIM_START is in 2030).
 */
const TOLERANCE = 1_000 * SCALE;

let sim: RunningSimulator;
beforeAll(async () => {
  sim = await startSimulator({ fleet: SMALL_FLEET, clock: new ScaledClock(SCALE, SIM_START), seed: 7 });
  process.env.AWS_ACCESS_KEY_ID = "test";
  process.env.AWS_SECRET_ACCESS_KEY = "test";
  delete process.env.AWS_PROFILE;
});
afterAll(async () => {
  await sim.close();
});

describe("GET /_sim/clock", () => {
  it("advertises the simulated time and its scale", async () => {
    const before = sim.clock.now();
    const body = (await (await fetch(`${sim.endpoint}/_sim/clock`)).json()) as { now: number; scale: number };
    const after = sim.clock.now();
    expect(body.scale).toBe(SCALE);
    // The simulator read its own clock while answering: between the two reads around the request.
    expect(body.now).toBeGreaterThanOrEqual(before);
    expect(body.now).toBeLessThanOrEqual(after);
    expect(body.now).toBeGreaterThan(SIM_START);
  });

  it("answers scale null for a manual clock, which a CLI refuses to follow", async () => {
    const manual = await startSimulator({ fleet: SMALL_FLEET, clock: new ManualClock(SIM_START) });
    try {
      const body = await (await fetch(`${manual.endpoint}/_sim/clock`)).json();
      expect(body).toEqual({ now: SIM_START, scale: null });
      await expect(FollowingClock.follow(manual.endpoint)).rejects.toThrow(/manual clock/);
    } finally {
      await manual.close();
    }
  });
});

describe("FollowingClock", () => {
  it("reads the same time as the simulator and sleeps in its simulated time", async () => {
    const clock = await FollowingClock.follow(sim.endpoint);
    expect(clock.scale).toBe(SCALE);
    expect(Math.abs(clock.now() - sim.clock.now())).toBeLessThan(TOLERANCE);
    const realStart = performance.now();
    const simStart = clock.now();
    await clock.sleep(40_000); // 40 simulated seconds = 100 real ms at x400
    const real = performance.now() - realStart;
    expect(real).toBeGreaterThanOrEqual(95);
    expect(real).toBeLessThan(2_000);
    // Timers may fire a millisecond early by performance.now(): 2 real ms of slack.
    expect(clock.now() - simStart).toBeGreaterThanOrEqual(40_000 - 2 * SCALE);
    expect(Math.abs(clock.now() - sim.clock.now())).toBeLessThan(TOLERANCE);
  });

  it("fails clearly when nothing serves /_sim/clock", async () => {
    const err = await FollowingClock.follow("http://127.0.0.1:9", { timeoutMs: 2_000 }).catch((e) => e);
    expect(err).toBeInstanceOf(ClockFollowError);
    expect(String(err)).toMatch(/cannot read http:\/\/127\.0\.0\.1:9\/_sim\/clock/);
  });
});

describe("--sim-clock / ROLLWAVE_SIM_CLOCK=1 on the CLI's target", () => {
  it("gives the engine and the AWS clients the simulator's time (SSM stamps agree)", async () => {
    const plan = (await loadPlan(SMALL_PLAN, { vars: ["release=v2.0.0"] })).plan;
    const io = fakeIo({ env: { AWS_ENDPOINT_URL: sim.endpoint, ROLLWAVE_SIM_CLOCK: "1" } });
    const target = await openTarget(io, plan, { region: sim.region });
    try {
      expect(target.clock).toBeInstanceOf(FollowingClock);
      expect(target.aws.clock).toBe(target.clock);
      const ssm = new SSMClient({ region: sim.region, endpoint: sim.endpoint });
      const id = sim.state().instances[0]?.id as string;
      const out = await ssm.send(
        new SendCommandCommand({
          DocumentName: "AWS-RunShellScript",
          InstanceIds: [id],
          Parameters: { commands: ["true"] },
        }),
      );
      ssm.destroy();
      const stamped = out.Command?.RequestedDateTime?.getTime() as number;
      // The SDK reads epoch seconds: allow the second's truncation on top of the tolerance.
      expect(Math.abs(stamped - target.clock.now())).toBeLessThan(TOLERANCE + 1_000);
    } finally {
      await target.close();
    }
  });

  it("is bad input (exit 2) without an endpoint, with --simulate, or when no simulator answers", async () => {
    const base = ["deploy", SMALL_PLAN, "--var", "release=v2.0.0", "--dry-run", "--sim-clock"];
    const none = await cli([...base, "--region", sim.region], fakeIo({ env: {} }));
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--sim-clock follows the clock of a standalone simulator, but no endpoint/);
    const both = await cli([...base, "--simulate"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--simulate already shares/);
    const dead = await cli([...base, "--endpoint-url", "http://127.0.0.1:9", "--region", sim.region]);
    expect(dead.code).toBe(2);
    expect(dead.stderr).toMatch(/cannot read http:\/\/127\.0\.0\.1:9\/_sim\/clock/);
  });

  it("runs a whole deploy in the simulator's time: 20+ simulated minutes in seconds, stamped 2030", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollwave-simclock-"));
    try {
      const started = performance.now();
      const r = await cli([
        "deploy",
        SMALL_PLAN,
        "--endpoint-url",
        sim.endpoint,
        "--region",
        sim.region,
        "--var",
        "release=v2.0.0",
        "--yes",
        "--auto-approve",
        "--output",
        "json",
        "--journal-dir",
        dir,
        "--sim-clock",
      ]);
      const realSeconds = (performance.now() - started) / 1000;
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { type: string; at: number });
      const first = lines[0];
      const last = lines.at(-1) as { type: string; at: number; status: string; durationSeconds: number };
      expect(r.code, r.stderr).toBe(0);
      expect(last.type).toBe("rollout.finished");
      expect(last.status).toBe("succeeded");
      // Events carry the simulator's time, not the wall clock's.
      expect(first?.at).toBeGreaterThan(SIM_START);
      expect(Math.abs(last.at - sim.clock.now())).toBeLessThan(TOLERANCE + 5_000);
      // A run that long in simulated time only fits in this real time if the CLI followed the clock.
      expect(last.durationSeconds).toBeGreaterThan(10 * 60);
      expect(realSeconds).toBeLessThan(last.durationSeconds / 20);
      expect(new Set(sim.state().instances.map((i) => i.version))).toEqual(new Set(["v2.0.0"]));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
