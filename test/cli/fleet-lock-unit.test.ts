/**
 * The fleet lock's rules on an injected clock and an in-memory Parameter Store (create-if-absent,
 * versions), where a test can slip a writer in between the heartbeat's read and its write.
 */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { AwsReader, AwsWriter } from "../../src/aws/types.js";
import {
  acquireFleetLock,
  currentFleetOwner,
  FleetLockHeldError,
  type FleetLockOptions,
  type FleetLockValue,
} from "../../src/cli/fleet-lock.js";
import { ManualClock } from "../../src/util/clock.js";
import { cli } from "./harness.js";

const NAME = "/rollwave/locks/web";
const T0 = Date.UTC(2026, 0, 1);

function store() {
  const params = new Map<string, { value: string; version: number }>();
  let beforeWrite: (() => void) | undefined;
  const reader = { getParameter: async (n: string) => params.get(n) ?? null } as unknown as AwsReader;
  const put = (name: string, value: string) => {
    const version = (params.get(name)?.version ?? 0) + 1;
    params.set(name, { value, version });
    return { version };
  };
  const writer = {
    putParameter: async (p: { name: string; value: string; overwrite: boolean }) => {
      const slip = beforeWrite;
      beforeWrite = undefined;
      slip?.();
      if (!p.overwrite && params.has(p.name)) return null;
      return put(p.name, p.value);
    },
    deleteParameter: async (n: string) => params.delete(n),
  } as unknown as AwsWriter;
  return {
    params,
    reader,
    writer,
    put,
    /** Run `f` just before the next PutParameter lands (a writer between our read and our write). */
    slipIn(f: () => void) {
      beforeWrite = f;
    },
    value: () => JSON.parse(params.get(NAME)?.value ?? "null") as FleetLockValue | null,
  };
}

function options(s: ReturnType<typeof store>, clock: ManualClock, over: Partial<FleetLockOptions> = {}) {
  const said: string[] = [];
  const o: FleetLockOptions = {
    reader: s.reader,
    writer: s.writer,
    clock,
    parameter: NAME,
    staleAfterMs: 5 * 60_000,
    rolloutId: "r-1",
    resume: false,
    planFile: "plans/web.yaml",
    owner: { user: "ana", host: "laptop" },
    pid: 100,
    onLost: (m) => said.push(`lost: ${m}`),
    onTakeover: (m) => said.push(`takeover: ${m}`),
    ...over,
  };
  return { o, said };
}

describe("the fleet lock (unit, injected clock)", () => {
  it("renews its heartbeat every minute of the run's clock, one version at a time, and deletes it on release", async () => {
    const s = store();
    const clock = new ManualClock(T0);
    const { o } = options(s, clock);
    const lock = await acquireFleetLock(o);
    expect(s.params.get(NAME)?.version).toBe(1);
    expect(s.value()).toMatchObject({ rolloutId: "r-1", pid: 100, owner: { user: "ana", host: "laptop" } });
    await clock.advance(59_000);
    expect(s.params.get(NAME)?.version).toBe(1);
    await clock.advance(1_000);
    expect(s.params.get(NAME)?.version).toBe(2);
    expect(s.value()?.heartbeatAt).toBe(new Date(T0 + 60_000).toISOString());
    expect(s.value()?.startedAt).toBe(new Date(T0).toISOString());
    await clock.advance(120_000);
    expect(s.params.get(NAME)?.version).toBe(4);
    await lock.release();
    expect(s.params.has(NAME)).toBe(false);
  });

  it("stops and reports when another owner's value is there, and never writes over it or deletes it", async () => {
    const s = store();
    const clock = new ManualClock(T0);
    const { o, said } = options(s, clock);
    const lock = await acquireFleetLock(o);
    const theirs = JSON.stringify({
      ...s.value(),
      rolloutId: "r-2",
      pid: 7,
      owner: { user: "bo", host: "ci" },
    });
    s.put(NAME, theirs);
    await clock.advance(60_000);
    expect(said).toEqual([`lost: the fleet lock ${NAME} now belongs to rollout r-2 (bo@ci, pid 7)`]);
    await clock.advance(300_000);
    expect(s.params.get(NAME)).toEqual({ value: theirs, version: 2 });
    await lock.release();
    expect(s.params.get(NAME)?.value).toBe(theirs);
  });

  it("catches a writer that slips in between the heartbeat's read and its write (by the version it gets back)", async () => {
    const s = store();
    const clock = new ManualClock(T0);
    const { o, said } = options(s, clock);
    await acquireFleetLock(o);
    s.slipIn(() => s.put(NAME, JSON.stringify({ ...s.value(), rolloutId: "r-9" })));
    await clock.advance(60_000);
    expect(said).toEqual([
      `lost: another process wrote the fleet lock ${NAME} while this rollout renewed it`,
    ]);
  });

  it("a removed lock is lost too", async () => {
    const s = store();
    const clock = new ManualClock(T0);
    const { o, said } = options(s, clock);
    await acquireFleetLock(o);
    s.params.delete(NAME);
    await clock.advance(60_000);
    expect(said[0]).toMatch(/was removed \(rollwave unlock\?\)/);
  });

  it("refuses a held lock with its owner and heartbeat age; takes over a stale one only on resume of that rollout", async () => {
    const s = store();
    const clock = new ManualClock(T0);
    await acquireFleetLock(options(s, clock, { owner: { user: "bo", host: "ci-7", ciJob: "github:1/1" } }).o);
    // The holder vanishes (no more heartbeats): 4 minutes on, still fresh.
    const held = s.params.get(NAME);
    await clock.advance(240_000);
    s.params.set(NAME, held as { value: string; version: number });
    const err = await acquireFleetLock(options(s, clock, { pid: 200, rolloutId: "r-2" }).o).catch((e) => e);
    expect(err).toBeInstanceOf(FleetLockHeldError);
    expect(err.code).toBe("E_LOCK_HELD");
    expect(err.message).toBe(
      `rollout r-1 holds the fleet lock ${NAME}: bo@ci-7 (CI job github:1/1), pid 100, started 2026-01-01T00:00:00.000Z; last heartbeat 4m ago`,
    );
    expect(err.hint).toMatch(/turns stale 1m from now/);

    await clock.advance(61_000);
    const other = await acquireFleetLock(options(s, clock, { rolloutId: "r-2", resume: true }).o).catch(
      (e) => e,
    );
    expect(other.message).toMatch(/last heartbeat 5m1s ago \(stale: older than 5m\)/);
    expect(other.hint).toMatch(/rollwave unlock plans\/web.yaml/);

    const { o, said } = options(s, clock, { pid: 300, resume: true });
    const lock = await acquireFleetLock(o);
    expect(said).toEqual([
      `takeover: taking over the stale fleet lock ${NAME} of rollout r-1 (bo@ci-7 (CI job github:1/1), pid 100; last heartbeat 5m1s ago)`,
    ]);
    expect(s.value()).toMatchObject({ rolloutId: "r-1", pid: 300 });
    await lock.release();
  });

  it("names the CI job from the environment when there is one", () => {
    expect(currentFleetOwner({ USER: "ci", GITHUB_RUN_ID: "42", GITHUB_REPOSITORY: "o/r" }).ciJob).toBe(
      "github:o/r/42/1",
    );
    expect(currentFleetOwner({ USER: "ci", CI_JOB_ID: "9" })).toMatchObject({
      user: "ci",
      ciJob: "gitlab:9",
    });
    expect(currentFleetOwner({ USER: "ana" }).ciJob).toBeUndefined();
  });
});

describe("lock in the plan", () => {
  it("reports every bad lock field at its line and column, with a hint (exit 2)", async () => {
    const text = (await readFile("test/cli/fixtures/small-relay.yaml", "utf8")).replace(
      "region: ap-northeast-1\n",
      "region: ap-northeast-1\nlock: { store: sqs, parameter: rollwave/x, staleAfter: 5, stor: 1 }\n",
    );
    const file = join(await mkdtemp(join(tmpdir(), "rollwave-lock-plan-")), "plan.yaml");
    await writeFile(file, text);
    const r = await cli(["validate", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:5:16  lock.store  "sqs" is not one of: ssm, local`);
    expect(r.stderr).toContain(
      `${file}:5:32  lock.parameter  expected an SSM parameter name starting with '/'`,
    );
    expect(r.stderr).toContain(`${file}:5:56  lock.staleAfter  '5' has no unit`);
    expect(r.stderr).toMatch(/lock\.stor {2}unknown key 'stor'\n {2}hint: did you mean 'store'\?/);
    expect(r.stderr).toContain("4 errors, 0 warnings: nothing was changed");
  });
});
