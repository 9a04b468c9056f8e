import { mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { currentOwner, processStartTime } from "../../src/cli/lock.js";
import type { RolloutEvent } from "../../src/engine/events.js";
import type { RunningSimulator } from "../../src/sim/index.js";
import { cli, fakeIo } from "./harness.js";
import { mutatingCalls, SMALL_FLEET, SMALL_PLAN, standaloneSim } from "./sim-env.js";

// 400x: fast enough (a 28-simulated-minute rollout takes ~4 s) while a deadline of a few simulated
// minutes is still a second of real time, so a busy CI core or a GC pause cannot expire it.
const FAST = ["--simulate", SMALL_FLEET, "--time-scale", "400"];
/** A confirmed simulated deploy of the small plan; tests add what they vary. */
const SIM_DEPLOY = ["deploy", SMALL_PLAN, ...FAST, "--var", "release=v2.0.0", "--yes"];

function events(stdout: string): RolloutEvent[] {
  return stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as RolloutEvent);
}

/** A journal directory whose small-relay lock file holds `pid`. */
async function journalDirWithLock(pid: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "rollwave-journal-"));
  await mkdir(join(dir, "small-relay"), { recursive: true });
  await writeFile(join(dir, "small-relay", "lock"), pid);
  return dir;
}

/** Start a simulated deploy and return once its first wave has started (to interrupt it there). */
async function deployUntilFirstWave(o: { tty?: boolean; extra?: string[] } = {}) {
  const io = fakeIo({ tty: o.tty ?? false });
  const args = [...SIM_DEPLOY, "--auto-approve", ...(o.extra ?? [])];
  const run = cli([...args, "--output", "json"], io);
  for (let i = 0; i < 400 && !io.stdout.text.includes('"wave.started"'); i++) {
    await new Promise((res) => setTimeout(res, 10));
  }
  expect(io.stdout.text).toContain('"wave.started"');
  return { io, run };
}

describe("rollwave deploy: confirmation and input", () => {
  it("refuses to start without --yes when stdin is not a terminal, before touching AWS", async () => {
    const r = await cli([
      "deploy",
      SMALL_PLAN,
      "--var",
      "release=v2.0.0",
      "--endpoint-url",
      "http://127.0.0.1:9",
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--yes");
    expect(r.stdout).toBe("");
  });

  it("exits 2 and lists the problems for a bad variable, even with --yes", async () => {
    const r = await cli(["deploy", SMALL_PLAN, ...FAST, "--var", "release=latest", "--yes"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/release/);
    expect(r.stderr).toMatch(/nothing was changed/);
  });

  it("rolls a plan whose connection source is a probe: the guard reads it through SSM", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollwave-probe-"));
    const plan = join(dir, "probe.yaml");
    const text = (await readFile(SMALL_PLAN, "utf8")).replace(
      /metric: \{[^}]*\}/,
      `probe: { command: "ss -Htn state established '( sport = :1935 )' | wc -l" }`,
    );
    expect(text).toContain("probe:");
    await writeFile(plan, text);
    const dry = await cli(["deploy", plan, ...FAST, "--var", "release=v2.0.0", "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/Capacity \(probe "ss -Htn/);
    expect(dry.stdout).toMatch(/not read: the probe runs on the instances/);
    const r = await cli([
      ...["deploy", plan, ...FAST, "--var", "release=v2.0.0", "--yes", "--auto-approve"],
      ...["--journal-dir", dir, "--output", "json"],
    ]);
    expect(r.code).toBe(0);
    const evs = events(r.stdout);
    const finished = evs.find((e) => e.type === "rollout.finished");
    expect(finished?.status).toBe("succeeded");
    const calls = finished?.type === "rollout.finished" ? finished.apiCalls.byAction : {};
    expect(calls["CloudWatch.GetMetricData"] ?? 0).toBe(0);
    const progress = evs.filter((e) => e.type === "progress" && e.connectionsSource !== undefined);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]?.type === "progress" && progress[0].connectionsSource).toMatch(/^probe: ss -Htn/);
  });

  it("exits 4 when another rollwave process holds the plan's lock", async () => {
    // A live process other than this one (the CLI runs in-process here): the test runner's parent.
    const holder = {
      ...(await currentOwner()),
      pid: process.ppid,
      startTime: processStartTime(process.ppid),
    };
    const dir = await journalDirWithLock(`${JSON.stringify(holder)}\n`);
    const r = await cli([...SIM_DEPLOY, "--journal-dir", dir]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`pid ${process.ppid}`);
  });

  it("takes over a lock left by a process that is gone, and says so", async () => {
    const dir = await journalDirWithLock("2147483646\n");
    const r = await cli([...SIM_DEPLOY, "--journal-dir", dir, "--output", "json"]);
    expect(r.code).toBe(3); // the small plan's canary asks for approval; nobody can answer here
    expect(r.stderr).toContain("taking over a stale lock");
    expect(r.stderr).toContain("pid 2147483646 is no longer running");
    // The lock file is gone; the journal and the simulated fleet's snapshot (for `resume --simulate`) stay.
    expect((await readdir(join(dir, "small-relay"))).sort()).toEqual(["journal.ndjson", "sim-fleet.json"]);
  });

  it("takes over its own lock from an earlier life as the same pid (PID 1 in a restarted container)", async () => {
    const me = await currentOwner();
    const dir = await journalDirWithLock(`${JSON.stringify({ ...me, startTime: "1" })}\n`);
    const r = await cli([...SIM_DEPLOY, "--journal-dir", dir, "--output", "json"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`pid ${process.pid} was an earlier process`);
  });

  it("has nothing to resume when no journal exists", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollwave-journal-"));
    const r = await cli([
      "resume",
      SMALL_PLAN,
      ...FAST,
      "--var",
      "release=v2.0.0",
      "--yes",
      "--journal-dir",
      dir,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no rollout of small-relay to resume/);
  });
});

describe("rollwave deploy --dry-run against AWS (the simulator, from outside)", () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await standaloneSim();
  });
  afterAll(async () => {
    await sim.close();
  });

  it("prints every call it would make and makes zero mutating calls", async () => {
    const r = await cli([
      "deploy",
      SMALL_PLAN,
      "--endpoint-url",
      sim.endpoint,
      "--region",
      sim.region,
      "--var",
      "release=v2.0.0",
      "--dry-run",
      "--output",
      "plain",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("dry run of small-relay: 12 instances");
    // Per-AZ figures read in AZ order, whatever order the planner produced them in.
    const floorAzs = [
      ...(/keeps in service at least \d+ \(per AZ: (.*)\)/.exec(r.stdout)?.[1] ?? "").matchAll(
        /([a-z0-9-]+) \d+/g,
      ),
    ].map((m) => m[1]);
    expect(floorAzs.length).toBeGreaterThan(1);
    expect(floorAzs).toEqual([...floorAzs].sort());
    expect(r.stdout).toMatch(/ELBv2\.DeregisterTargets\s+relay-rtmp/);
    expect(r.stdout).toMatch(
      /SSM\.SendCommand\s+deploy on \d+ instances?: \/opt\/relay\/bin\/install "?v2\.0\.0/,
    );
    expect(sim.apiCalls().total).toBeGreaterThan(0);
    expect(mutatingCalls(sim)).toEqual([]);
    const versions = new Set(sim.state().instances.map((i) => i.version));
    expect(versions).toEqual(new Set(["v1.9.0"]));
  });
});

describe("rollwave deploy --simulate", () => {
  it("rolls the small fleet and ends the NDJSON stream with rollout.finished and the sim stats", async () => {
    const r = await cli([...SIM_DEPLOY, "--auto-approve", "--output", "json"]);
    const all = events(r.stdout);
    expect(r.code, JSON.stringify(all.at(-1))).toBe(0);
    expect(all[0]?.type).toBe("rollout.started");
    const last = all.at(-1);
    expect(last?.type).toBe("rollout.finished");
    if (last?.type !== "rollout.finished") return;
    expect(last.status).toBe("succeeded");
    expect(last.instances).toEqual({ total: 12, succeeded: 12, failed: 0, skipped: 0, rolledBack: 0 });
    expect(last.apiCalls.total).toBe(Object.values(last.apiCalls.byAction).reduce((a, b) => a + b, 0));
    expect(last.durationSeconds).toBeGreaterThan(0);
    expect(last.sim).toBeDefined();
    expect(last.sim?.invariantViolations).toBe(0);
    expect(last.sim?.cameras.total).toBe(2000);
    expect(Object.keys(last.sim?.cameras ?? {}).sort()).toEqual(
      ["cut", "minConnected", "p99DisconnectSeconds", "reconnectsPerCamera", "refused", "total"].sort(),
    );
    expect(typeof last.sim?.maxLoadRatio).toBe("number");
  });

  it("pauses at the canary approval gate in CI (exit 3) and refuses a second deploy over it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollwave-journal-"));
    const args = [SMALL_PLAN, ...FAST, "--var", "release=v2.0.0", "--yes", "--journal-dir", dir];
    const r = await cli(["deploy", ...args, "--output", "json"]);
    expect(r.code).toBe(3);
    const last = events(r.stdout).at(-1);
    expect(last).toMatchObject({ type: "rollout.finished", status: "paused" });
    expect((await readdir(join(dir, "small-relay"))).sort()).toEqual(["journal.ndjson", "sim-fleet.json"]);

    const again = await cli(["deploy", ...args, "--output", "plain"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/rollwave resume/);
  });

  it("stops safely on the first Ctrl-C at a terminal: exit 130, Auto Scaling processes resumed, finished event last", async () => {
    const { io, run } = await deployUntilFirstWave({ tty: true });
    io.signal("SIGINT");
    const r = await run;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain("interrupted: stopping safely");
    const all = events(r.stdout);
    const suspended = all.filter((e) => e.type === "asg.suspended").length;
    expect(suspended).toBeGreaterThan(0);
    expect(all.filter((e) => e.type === "asg.resumed")).toHaveLength(suspended);
    expect(all.at(-1)?.type).toBe("rollout.finished");
    expect(io.exited).toEqual([]);
  });

  it("takes the fast stop on a second signal: final journal record, out-of-service list, resume command, exit 130", async () => {
    const { io, run } = await deployUntilFirstWave({ tty: true, extra: ["--stop-grace", "0"] });
    io.signal("SIGINT");
    io.signal("SIGTERM");
    const r = await run;
    expect(r.code).toBe(130);
    expect(io.exited).toEqual([130]);
    expect(r.stderr).toMatch(
      /stopped \(SIGTERM received\) before in-flight work finished; \d+ instance\(s\) in flight or out of service/,
    );
    expect(r.stderr).toMatch(/continue with: rollwave resume \S*small-relay\.yaml .*--journal-dir \S+/);
    const dir = /--journal-dir (\S+)/.exec(r.stderr)?.[1] as string;
    const journal = (await readFile(join(dir, "small-relay", "journal.ndjson"), "utf8")).trim().split("\n");
    const end = journal.map((l) => JSON.parse(l)).findLast((x: { type: string }) => x.type === "end");
    expect(end).toMatchObject({
      status: "paused",
      reason: expect.stringMatching(/^stopped by SIGTERM: the 0s stop grace ran out/),
    });
  });

  it.each([
    ["SIGTERM", (io: ReturnType<typeof fakeIo>) => io.signal("SIGTERM")],
    ["SIGHUP", (io: ReturnType<typeof fakeIo>) => io.signal("SIGHUP")],
    ["a closed stdout", (io: ReturnType<typeof fakeIo>) => io.closeOutput()],
    ["SIGINT without a terminal", (io: ReturnType<typeof fakeIo>) => io.signal("SIGINT")],
  ])("takes the fast stop at once on %s (--stop-grace 0: nothing waits)", async (_name, stop) => {
    const { io, run } = await deployUntilFirstWave({ extra: ["--stop-grace", "0"] });
    stop(io);
    const r = await run;
    expect(r.code).toBe(130);
    expect(io.exited).toEqual([130]);
    expect(r.stderr).toMatch(/stopping fast — no new instances start/);
    expect(r.stderr).toMatch(/continue with: rollwave resume /);
  });
});

describe("the throwaway journal of a --simulate run", () => {
  it("is removed after a run that ended, and kept (with the flag to find it) when the run paused", async () => {
    // A private TMPDIR: other test files (and other processes) make throwaway journals in the shared
    // one at the same time, and this test counts what is left behind.
    const privateTmp = await mkdtemp(join(tmpdir(), "rollwave-tmpdir-"));
    const savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = privateTmp;
    let left: string[];
    let paused: Awaited<ReturnType<typeof cli>>;
    try {
      const done = await cli([...SIM_DEPLOY, "--auto-approve", "--output", "json"]);
      expect(done.code).toBe(0);
      paused = await cli([...SIM_DEPLOY, "--output", "plain"]);
      left = (await readdir(privateTmp)).filter((d) => d.startsWith("rollwave-sim-"));
    } finally {
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
    }
    expect(paused.code).toBe(3);
    const hint = /paused: continue with `rollwave resume [^`]*--journal-dir (\S+)/.exec(paused.stderr);
    expect(hint, paused.stderr).not.toBeNull();
    expect(left.map((d) => join(privateTmp, d))).toEqual([hint?.[1]]);
    const resumed = await cli([
      "resume",
      ...SIM_DEPLOY.slice(1),
      "--auto-approve",
      "--journal-dir",
      hint?.[1] as string,
    ]);
    expect(resumed.code, resumed.stderr).toBe(0);
  });
});

describe("rollwave resume", () => {
  it("continues a rollout paused at the canary gate in CI: exit 3, then resume --auto-approve ends it with exit 0", async () => {
    // Each --simulate run starts a fresh simulated fleet, so this asserts the journal-driven flow
    // (what resume skips and finishes), not versions across the two processes; the engine's own
    // tests hold resume to the fleet's state.
    const dir = await mkdtemp(join(tmpdir(), "rollwave-resume-"));
    const args = [
      SMALL_PLAN,
      ...FAST,
      "--var",
      "release=v2.0.0",
      "--yes",
      "--journal-dir",
      dir,
      "--output",
      "json",
    ];

    const first = await cli(["deploy", ...args]);
    expect(first.code, first.stderr).toBe(3);
    const paused = events(first.stdout);
    expect(paused.at(-1)).toMatchObject({ type: "rollout.finished", status: "paused" });
    const canary = paused
      .filter((e) => e.type === "instance.phase" && e.to === "done")
      .map((e) => e.type === "instance.phase" && e.id);
    expect(canary.length).toBeGreaterThan(0);

    // A resume with other variables is refused before anything changes, saying what changed.
    const changed = args.map((a) => (a === "release=v2.0.0" ? "release=v3.0.0" : a));
    const refused = await cli(["resume", ...changed, "--auto-approve"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('variable release was "v2.0.0", now "v3.0.0"');
    expect(refused.stderr).toMatch(/hint: .*--force/);

    const second = await cli(["resume", ...args, "--auto-approve"]);
    expect(second.code, second.stderr).toBe(0);
    const resumed = events(second.stdout);
    // Both runs carry the one rollout id of the journal on every event.
    const ids = new Set([...paused, ...resumed].map((e) => e.rolloutId));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(resumed.at(-1)).toMatchObject({
      type: "rollout.finished",
      status: "succeeded",
      instances: { total: 12, succeeded: 12, failed: 0 },
    });
    // The canary finished before the pause is not rolled again.
    const movedAgain = resumed.filter(
      (e) => e.type === "instance.phase" && canary.includes(e.id) && e.to === "deploying",
    );
    expect(movedAgain).toEqual([]);
    // And a finished rollout is not resumable.
    const third = await cli(["resume", ...args, "--auto-approve"]);
    expect(third.code).toBe(2);
  });
});
