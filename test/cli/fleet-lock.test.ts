/**
 * The SSM fleet lock (#8 §1) end to end: CLI runs pointed at one standalone simulator with
 * --endpoint-url and --sim-clock, as two shells (or two CI jobs) would be, each with its own
 * journal directory; the lock is read and planted with the real SDK client.
 */
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetParameterCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FleetLockValue } from "../../src/cli/fleet-lock.js";
import type { RunningSimulator } from "../../src/sim/index.js";
import { type CliRun, cli, fakeIo } from "./harness.js";
import { SMALL_PLAN, standaloneSim } from "./sim-env.js";

const PARAM = "/rollwave/locks/small-relay";
let sim: RunningSimulator;
let ssm: SSMClient;
beforeAll(async () => {
  sim = await standaloneSim();
  ssm = new SSMClient({
    region: sim.region,
    endpoint: sim.endpoint,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
});
afterAll(async () => {
  ssm.destroy();
  await sim.close();
});

const target = () => ["--endpoint-url", sim.endpoint, "--region", sim.region, "--sim-clock"];
const rollout = (command: "deploy" | "resume", journalDir: string) => [
  command,
  SMALL_PLAN,
  ...target(),
  "--var",
  "release=v2.0.0",
  "--yes",
  "--auto-approve",
  "--output",
  "plain",
  "--journal-dir",
  journalDir,
];

async function lockValue(): Promise<{ value: FleetLockValue; version: number } | null> {
  try {
    const p = (await ssm.send(new GetParameterCommand({ Name: PARAM }))).Parameter;
    return { value: JSON.parse(p?.Value ?? "") as FleetLockValue, version: p?.Version ?? 0 };
  } catch (e) {
    if ((e as Error).name === "ParameterNotFound") return null;
    throw e;
  }
}

async function until<T>(what: string, f: () => Promise<T | undefined | null | false>, ms = 60_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Start a rollout in the background; `stop()` interrupts it (Ctrl-C) and returns its result. */
function background(args: string[]) {
  const io = fakeIo({ env: { USER: "ana", GITHUB_RUN_ID: "777", GITHUB_RUN_ATTEMPT: "2" } });
  const done = cli(args, io);
  return {
    io,
    done,
    async stop(): Promise<CliRun> {
      io.signal("SIGINT");
      return done;
    },
  };
}

/** The heartbeat age a message names, in seconds (`35.7s ago`). */
const ageSeconds = (text: string) => {
  const m = /last heartbeat (?:(\d+)m)?(?:([\d.]+)s)? ago/.exec(text);
  return m && (m[1] || m[2]) ? Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0) : Number.NaN;
};

const plant = (value: FleetLockValue, overwrite = true) =>
  ssm.send(
    new PutParameterCommand({
      Name: PARAM,
      Value: JSON.stringify(value),
      Type: "String",
      Overwrite: overwrite,
    }),
  );
const simIso = (agoMs: number) => new Date(sim.clock.now() - agoMs).toISOString();
const goneOwner = (rolloutId: string, agoMs: number): FleetLockValue => ({
  owner: { user: "bo", host: "runner-gone", ciJob: "github:41/1" },
  pid: 31337,
  rolloutId,
  startedAt: simIso(agoMs + 600_000),
  heartbeatAt: simIso(agoMs),
});

describe("the fleet lock in SSM Parameter Store", () => {
  it("a second rollout with another journal directory exits 4 naming the owner, rollout id and heartbeat age; the first releases it when it ends", async () => {
    const dirA = await mkdtemp(join(tmpdir(), "rollwave-lock-a-"));
    const dirB = await mkdtemp(join(tmpdir(), "rollwave-lock-b-"));
    const first = background(rollout("deploy", dirA));
    const held = await until("the first rollout's lock", lockValue);
    expect(held.value.owner).toMatchObject({ user: "ana", ciJob: "github:777/2" });
    expect(held.value.pid).toBe(process.pid);
    // It heartbeats every (simulated) minute, each write one version on.
    const renewed = await until("a heartbeat", async () => {
      const v = await lockValue();
      return v && v.version > held.version && v;
    });
    expect(Date.parse(renewed.value.heartbeatAt)).toBeGreaterThan(Date.parse(held.value.heartbeatAt));
    expect(renewed.value.rolloutId).toBe(held.value.rolloutId);

    const second = await cli(rollout("deploy", dirB));
    expect(second.code).toBe(4);
    expect(second.stderr).toContain(`rollout ${held.value.rolloutId} holds the fleet lock ${PARAM}`);
    expect(second.stderr).toMatch(/ana@\S+ \(CI job github:777\/2\), pid \d+/);
    expect(second.stderr).toMatch(/last heartbeat [\d.]+(ms|s|m\d*s?) ago/);
    expect(second.stderr).toMatch(/hint: wait for it to end/);
    // The refused rollout changed nothing and wrote no journal.
    await expect(readFile(join(dirB, "small-relay", "journal.ndjson"), "utf8")).rejects.toThrow();
    expect((await lockValue())?.value.rolloutId).toBe(held.value.rolloutId);

    const r = await first.stop();
    expect(r.code).toBe(130);
    expect(await lockValue()).toBeNull();
  }, 120_000);

  it("a stale lock of the same rollout is taken over by resume; a new deploy is refused and told about unlock", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollwave-lock-stale-"));
    const first = background(rollout("deploy", dir));
    const held = await until("the lock", lockValue);
    const journal = join(dir, "small-relay", "journal.ndjson");
    await until("the journal's header", () => readFile(journal, "utf8").catch(() => ""));
    expect((await first.stop()).code).toBe(130);
    // As if its CI runner vanished mid-run: the lock is left behind with a 10-minute-old heartbeat.
    await plant(goneOwner(held.value.rolloutId, 10 * 60_000));

    const other = await cli(rollout("deploy", await mkdtemp(join(tmpdir(), "rollwave-lock-new-"))));
    expect(other.code).toBe(4);
    expect(other.stderr).toMatch(/last heartbeat 1\dm\d*s? ago \(stale: older than 5m\)/);
    expect(other.stderr).toContain(`rollwave unlock ${SMALL_PLAN}`);

    const resumed = background(rollout("resume", dir));
    const taken = await until("the takeover", async () => {
      const v = await lockValue();
      return v && v.value.pid === process.pid && v;
    });
    expect(taken.value.rolloutId).toBe(held.value.rolloutId);
    const r = await resumed.stop();
    // 10 simulated minutes when planted, plus however long the loaded machine took since (x60).
    expect(r.stderr).toContain(
      `taking over the stale fleet lock ${PARAM} of rollout ${held.value.rolloutId} (bo@runner-gone (CI job github:41/1), pid 31337; last heartbeat 1`,
    );
    expect(r.stderr).toMatch(/last heartbeat 1\dm(\d+s)? ago\)/);
    expect(r.code).toBe(130);
    expect(await lockValue()).toBeNull();
  }, 120_000);

  it("a fresh lock of the same rollout is not taken over by resume (its process may be alive)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollwave-lock-fresh-"));
    const first = background(rollout("deploy", dir));
    const held = await until("the lock", lockValue);
    await until("the journal's header", () =>
      readFile(join(dir, "small-relay", "journal.ndjson"), "utf8").catch(() => ""),
    );
    expect((await first.stop()).code).toBe(130);
    await plant(goneOwner(held.value.rolloutId, 30_000));
    const r = await cli(rollout("resume", dir));
    expect(r.code).toBe(4);
    // Simulated time runs at x60, so a few real tenths of a second add simulated seconds.
    expect(ageSeconds(r.stderr)).toBeGreaterThanOrEqual(30);
    // Under load a real second is a simulated minute; the point is that it is short of stale (5m).
    expect(ageSeconds(r.stderr)).toBeLessThan(300);
    expect(r.stderr).toMatch(/turns stale (\d+m)?(\d+s)? from now/);
    expect((await lockValue())?.value.owner.host).toBe("runner-gone");
    expect((await cli(["unlock", SMALL_PLAN, ...target(), "--yes", "--force"])).code).toBe(0);
  }, 120_000);

  it("a running rollout whose lock another owner overwrites stops heartbeating and pauses (exit 3)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollwave-lock-lost-"));
    const run = background(rollout("deploy", dir));
    await until("this run's lock", async () => (await lockValue())?.value.pid === process.pid);
    await plant(goneOwner("r-intruder", 0));
    const r = await run.done;
    expect(r.stderr).toContain(
      `lost the fleet lock: the fleet lock ${PARAM} now belongs to rollout r-intruder (bo@runner-gone (CI job github:41/1), pid 31337); pausing`,
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/paused: continue with `rollwave resume/);
    // It never wrote over the other owner's lock, and did not delete it when it ended.
    const after = await lockValue();
    expect(after?.value.rolloutId).toBe("r-intruder");
    await cli(["unlock", SMALL_PLAN, ...target(), "--yes", "--force"]);
  }, 120_000);
});

describe("rollwave unlock", () => {
  const unlock = (...flags: string[]) => cli(["unlock", SMALL_PLAN, ...target(), ...flags]);

  it("removes a stale lock; refuses a fresh one without --force (exit 4); --force removes it", async () => {
    await plant(goneOwner("r-stale", 6 * 60_000));
    const stale = await unlock("--yes");
    expect(stale.stderr).toMatch(/removed the fleet lock \/rollwave\/locks\/small-relay \(rollout r-stale/);
    expect(stale.code).toBe(0);
    expect(await lockValue()).toBeNull();

    await plant(goneOwner("r-fresh", 20_000));
    const fresh = await unlock("--yes");
    expect(fresh.code).toBe(4);
    expect(fresh.stderr).toMatch(
      /held by rollout r-fresh \(bo@runner-gone .*\), last heartbeat [\d.]+s ago: not stale \(stale after 5m\)/,
    );
    expect(fresh.stderr).toMatch(/hint: .*--force/);
    expect(ageSeconds(fresh.stderr)).toBeGreaterThanOrEqual(20);
    expect((await lockValue())?.value.rolloutId).toBe("r-fresh");

    const forced = await unlock("--yes", "--force");
    expect(forced.code).toBe(0);
    expect(await lockValue()).toBeNull();

    const none = await unlock("--yes");
    expect(none.code).toBe(0);
    expect(none.stderr).toContain("no fleet lock /rollwave/locks/small-relay: nothing to remove");
  });

  it("asks first: without --yes and without a terminal it refuses (exit 2); `no` keeps the lock", async () => {
    await plant(goneOwner("r-ask", 6 * 60_000));
    const noTty = await unlock();
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toMatch(/hint: add --yes/);

    const io = fakeIo({ tty: true });
    io.stdinStream.write("n\n");
    const said = await cli(["unlock", SMALL_PLAN, ...target()], io);
    expect(said.stderr).toMatch(/Remove the fleet lock \/rollwave\/locks\/small-relay of rollout r-ask/);
    expect(said.stderr).toContain("not removed");
    expect((await lockValue())?.value.rolloutId).toBe("r-ask");

    const yes = fakeIo({ tty: true });
    yes.stdinStream.write("y\n");
    expect((await cli(["unlock", SMALL_PLAN, ...target()], yes)).code).toBe(0);
    expect(await lockValue()).toBeNull();
  });
});
