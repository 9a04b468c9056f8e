/**
 * The machine running the suite may be loaded: a CLI child takes seconds to start, so the approval
 * gate waits 6 simulated hours (6 real minutes at x60) for the approve that comes in seconds.
 *
 * `rollwave status`, `list`, `abort` and `approve` (#8 §3) end to end, each a separate process as two
 * terminals or two CI jobs would be: a standalone `rollwave sim` process, a `deploy` child following
 * its clock, and the control commands run as further children against the same simulator (the
 * fleet lock and its `/control` sibling live in its Parameter Store) and the same journal directory.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RolloutEvent } from "../../src/engine/events.js";
import type { RolloutStatusView } from "../../src/engine/status.js";
import { BIN, ensureBuilt, ROOT, type SimProcess, startSimProcess } from "../crash/harness.js";
import { SMALL_PLAN } from "./sim-env.js";

let sim: SimProcess;
const BUCKET = "rollwave-journal";
beforeAll(async () => {
  ensureBuilt();
  sim = await startSimProcess({ fleet: "plans/sim/small-fleet.yaml", scale: 60, seed: 7 });
  const s3 = new S3Client({
    region: sim.region,
    endpoint: sim.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: "simulator", secretAccessKey: "simulator" },
  });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  s3.destroy();
}, 300_000);
afterAll(async () => {
  await sim?.close();
});

const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
});

function env(user: string): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ACCESS_KEY_ID: "simulator",
    AWS_SECRET_ACCESS_KEY: "simulator",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    AWS_ENDPOINT_URL: sim.endpoint,
    ROLLWAVE_SIM_CLOCK: "1",
    USER: user,
    CI: "true",
  };
  delete e.AWS_PROFILE;
  delete e.ROLLWAVE_DEBUG;
  delete e.GITHUB_RUN_ID;
  return e;
}

interface Done {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], user = "ana") {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: env(user),
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => {
    stdout += String(d);
  });
  child.stderr?.on("data", (d) => {
    stderr += String(d);
  });
  const done = new Promise<Done>((resolve) =>
    child.once("exit", (code) => {
      children.delete(child);
      resolve({ code, stdout, stderr });
    }),
  );
  return { child, done, stdout: () => stdout };
}

const run = (args: string[], user = "bo") => start(args, user).done;

const deploy = (dir: string, release: string, ...extra: string[]) =>
  start([
    "deploy",
    SMALL_PLAN,
    "--var",
    `release=${release}`,
    "--yes",
    "--output",
    "json",
    "--journal-dir",
    dir,
    ...extra,
  ]);

const events = (stdout: string): RolloutEvent[] =>
  stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as RolloutEvent);

async function status(
  dir: string,
  ...extra: string[]
): Promise<{ code: number | null; view: RolloutStatusView; stderr: string }> {
  const r = await run(["status", SMALL_PLAN, "--journal", dir, "--output", "json", ...extra]);
  if (!r.stdout.trim()) throw new Error(`status printed nothing (exit ${r.code}): ${r.stderr}`);
  return { code: r.code, view: JSON.parse(r.stdout) as RolloutStatusView, stderr: r.stderr };
}

/** Poll `status` (a child each time) until `ok` holds. */
async function statusUntil(
  dir: string,
  what: string,
  ok: (v: RolloutStatusView, code: number | null) => boolean,
) {
  const end = Date.now() + 300_000;
  let error: unknown;
  for (;;) {
    const r = await status(dir).catch((e) => {
      error = e;
      return undefined;
    });
    if (r && ok(r.view, r.code)) return r;
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(r?.view)} ${String(error)}`);
    await new Promise((res) => setTimeout(res, 300));
  }
}

const atApproval = (v: RolloutStatusView) => v.state === "running" && v.waitingFor?.gate === "approval";

describe("status, approve and abort from other processes", () => {
  it("with the journal in S3: status during a run (exit 5, owner, approval gate with deadline), approve from a second process passes the gate, status after it ends (exit 0)", async () => {
    // The deploy writes its journal to S3; status and approve read it there (another machine could).
    const journal = `s3://${BUCKET}/ci`;
    const dir = journal;
    const d = start([
      "deploy",
      SMALL_PLAN,
      "--var",
      "release=v2.0.1",
      "--yes",
      "--output",
      "json",
      "--journal",
      journal,
      "--wait-approval",
      "6h",
    ]);
    const waiting = await statusUntil(dir, "the approval gate", atApproval);
    expect(waiting.code).toBe(5);
    const v = waiting.view;
    expect(v.owner).toMatchObject({ lock: "ssm", user: "ana", stale: false });
    expect(v.owner?.heartbeatAgeSeconds).toBeLessThan(120);
    expect(v.startedBy).toMatch(/^ana@/);
    expect(v.waitingFor?.until).toBeDefined();
    expect(Date.parse(v.waitingFor?.until ?? "")).toBeGreaterThan(Date.parse(v.observation.at));
    expect(v.instances.succeeded).toBe(v.instances.total - v.instances.pending);
    expect(v.wave?.kind).toBe("canary");
    expect(v.next?.command).toBe(`rollwave approve ${SMALL_PLAN} --journal ${journal}`);

    const a = await run(["approve", SMALL_PLAN, "--journal", dir, "--wait"]);
    expect(a.stderr).toContain("/rollwave/locks/small-relay/control");
    expect(a.stderr).toContain("handled: applied: approval gate passed: approved by bo@");
    expect(a.code).toBe(0);

    const r = await d.done;
    expect(r.code).toBe(0);
    const evs = events(r.stdout);
    expect(evs).toContainEqual(
      expect.objectContaining({
        type: "control",
        action: "approve",
        outcome: "applied",
        requestedBy: expect.stringMatching(/^bo@/),
      }),
    );
    expect(evs.at(-1)).toMatchObject({ type: "rollout.finished", status: "succeeded" });

    const after = await status(dir);
    expect(after.code).toBe(0);
    expect(after.view).toMatchObject({
      state: "succeeded",
      owner: null,
      outOfService: [],
      pendingControl: null,
    });
    expect(after.view.control).toEqual([expect.objectContaining({ action: "approve", outcome: "applied" })]);
  }, 600_000);

  it("abort --rollback from a second process rolls the canary back (the deploy exits 1, status exit 1)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollwave-remote-rollback-"));
    const d = deploy(dir, "v2.0.2", "--wait-approval", "6h");
    await statusUntil(dir, "the approval gate", atApproval);
    // Without a terminal it needs --yes.
    const refused = await run(["abort", SMALL_PLAN, "--journal", dir, "--rollback"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("add --yes");

    const a = await run(["abort", SMALL_PLAN, "--journal", dir, "--rollback", "--yes", "--wait"]);
    expect(a.stderr).toContain("handled: applied: rolling back");
    expect(a.code).toBe(0);
    const r = await d.done;
    expect(r.code).toBe(1);
    const evs = events(r.stdout);
    const finished = evs.at(-1);
    expect(finished).toMatchObject({ type: "rollout.finished", status: "rolled-back" });
    expect(finished?.type === "rollout.finished" && finished.reason).toMatch(
      /^rollback requested by bo@\S+ \(rollwave abort --rollback\); rolled back 2 instance\(s\)$/,
    );
    expect(evs.filter((e) => e.type === "instance.phase" && e.to === "rolledBack")).toHaveLength(2);

    const after = await status(dir);
    expect(after.code).toBe(1);
    expect(after.view.state).toBe("rolled-back");
    expect(after.view.instances.rolledBack).toBe(2);
    // An ended rollout cannot be aborted again.
    const again = await run(["abort", SMALL_PLAN, "--journal", dir, "--yes"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(
      /has ended \(rolled-back: rollback requested by bo@\S+ \(rollwave abort --rollback\); rolled back 2 instance\(s\)\): nothing to abort/,
    );
  }, 600_000);

  it("a paused rollout: status exit 3 with the resume command; approve is stored for resume; abort ends it in the journal; resume refuses it; list shows them all", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollwave-remote-paused-"));
    // No terminal, no --auto-approve, no --wait-approval: it pauses at the approval gate (exit 3).
    const d = await deploy(dir, "v2.0.3").done;
    expect(d.code).toBe(3);
    const paused = await status(dir);
    expect(paused.code).toBe(3);
    expect(paused.view).toMatchObject({ state: "paused", owner: null, waitingFor: { gate: "approval" } });
    expect(paused.view.next?.command).toBe(
      `rollwave resume ${SMALL_PLAN} --var release=v2.0.3 --journal-dir ${dir}`,
    );

    const ap = await run(["approve", SMALL_PLAN, "--journal", dir]);
    expect(ap.code).toBe(0);
    expect(ap.stderr).toContain("is not running: it is paused. The request is stored in SSM parameter");
    expect((await status(dir)).view.pendingControl).toMatchObject({
      action: "approve",
      requestedBy: expect.stringMatching(/^bo@/),
    });

    const ab = await run(["abort", SMALL_PLAN, "--journal", dir, "--yes"]);
    expect(ab.code).toBe(0);
    expect(ab.stderr).toContain("was paused with nothing in flight: ended as aborted in its journal");
    const aborted = await status(dir);
    expect(aborted.code).toBe(1);
    expect(aborted.view).toMatchObject({ state: "aborted", pendingControl: null });
    expect(aborted.view.reason).toMatch(
      /^aborted while paused by bo@\S+: nothing was in flight; it had paused: waiting for approval/,
    );

    const resumed = await run([
      "resume",
      SMALL_PLAN,
      "--var",
      "release=v2.0.3",
      "--yes",
      "--journal-dir",
      dir,
    ]);
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toContain("has ended");

    const list = await run(["list", "--journal", dir, "--output", "json"]);
    expect(list.code).toBe(0);
    const rows = JSON.parse(list.stdout) as {
      rolloutId: string;
      plan: string;
      state: string;
      startedBy?: string;
    }[];
    expect(rows).toEqual([
      expect.objectContaining({
        rolloutId: paused.view.rolloutId,
        plan: "small-relay",
        state: "aborted",
        startedBy: expect.stringMatching(/^ana@/),
      }),
    ]);
    const text = await run(["list", "--journal", dir]);
    expect(text.stdout).toMatch(
      new RegExp(
        `^ROLLOUT\\s+PLAN\\s+STARTED\\s+STATE\\s+STARTED BY\\n${paused.view.rolloutId.slice(0, 8)}\\s+small-relay\\s+\\S+\\s+aborted\\s+ana@`,
      ),
    );
  }, 600_000);

  it("status of a rollout id nobody has: exit 2 with a hint", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollwave-remote-none-"));
    const r = await run(["status", "0123abcd", "--journal", dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`no rollout 0123abcd in ${dir}`);
    expect(r.stderr).toContain("rollwave list");
  }, 60_000);
});
