/**
 * The journal in S3 across machines (issue 8 §2, "Done when"): a rollout started by one process
 * with `--journal s3://…` against a standalone `rollwave sim` (following its clock) is SIGKILLed
 * mid-rollout, then resumed by a second process from another, fresh working directory — nothing
 * but the S3 journal to go on. It ends succeeded, every instance on the new version and in
 * service, no step ran twice (the simulator counts executions), no capacity breach, nothing left
 * suspended; neither process wrote a file where it ran.
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RolloutEvent } from "../../src/engine/events.js";
import type { JournalRecord } from "../../src/engine/journal.js";
import {
  BIN,
  declareFloor,
  ensureBuilt,
  fleetVerdict,
  ROOT,
  type SimProcess,
  startSimProcess,
  tempDir,
} from "./harness.js";

const FLEET = `${ROOT}test/integration/fleet-40.yaml`;
const PLAN = `${ROOT}test/integration/plan.yaml`;
const VARS = ["release=v2.0.0"];
const BUCKET = "rollwave-journal";
const JOURNAL = `s3://${BUCKET}/ci/journals`;

let sim: SimProcess | undefined;
let s3: S3Client | undefined;
const dirs: { remove(): Promise<void> }[] = [];
beforeAll(() => ensureBuilt(), 180_000);
afterAll(async () => {
  s3?.destroy();
  await sim?.close();
  for (const d of dirs) await d.remove();
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: RolloutEvent[];
  stderr: string;
}

/** `rollwave <command>` in `cwd` with the S3 journal; killed with SIGKILL at the first event `kill` matches. */
function rollwave(
  command: "deploy" | "resume",
  cwd: string,
  endpoint: string,
  kill?: (e: RolloutEvent) => boolean,
): Promise<Run> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      command,
      PLAN,
      ...VARS.flatMap((v) => ["--var", v]),
      "--yes",
      "--auto-approve",
      "--output",
      "json",
      "--journal",
      JOURNAL,
    ],
    {
      cwd,
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: "simulator",
        AWS_SECRET_ACCESS_KEY: "simulator",
        AWS_EC2_METADATA_DISABLED: "true",
        AWS_ENDPOINT_URL: endpoint,
        ROLLWAVE_SIM_CLOCK: "1",
        CI: "true",
        HOME: cwd,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const events: RolloutEvent[] = [];
  let stderr = "";
  let buf = "";
  child.stdout.on("data", (d: Buffer) => {
    buf += String(d);
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        const e = JSON.parse(line) as RolloutEvent;
        events.push(e);
        if (kill?.(e) && child.exitCode === null) child.kill("SIGKILL");
      } catch {
        // not an event line
      }
    }
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += String(d);
  });
  return new Promise((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal, events, stderr })),
  );
}

async function journalObjects(): Promise<{ keys: string[]; records: JournalRecord[] }> {
  const client = s3 as S3Client;
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({
        Bucket: BUCKET,
        Prefix: "ci/journals/",
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    keys.push(...(page.Contents ?? []).map((c) => c.Key as string));
    token = page.NextContinuationToken;
  } while (token);
  const records: JournalRecord[] = [];
  for (const Key of keys) {
    const text = await (
      await client.send(new GetObjectCommand({ Bucket: BUCKET, Key }))
    ).Body?.transformToString();
    for (const line of (text ?? "").split("\n").filter(Boolean))
      records.push(JSON.parse(line) as JournalRecord);
  }
  return { keys, records };
}

it("a rollout SIGKILLed on one machine is finished by another that has only the S3 journal", async () => {
  sim = await startSimProcess({ fleet: FLEET, scale: 300, seed: 11 });
  const { instances } = await declareFloor(sim, PLAN, VARS);
  s3 = new S3Client({
    region: sim.region,
    endpoint: sim.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: "simulator", secretAccessKey: "simulator" },
  });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const machineA = await tempDir("rollwave-s3-a-");
  const machineB = await tempDir("rollwave-s3-b-");
  dirs.push(machineA, machineB);

  // Machine A: killed once a dozen instances of the first wave after the canary are out of service.
  let draining = 0;
  const first = await rollwave(
    "deploy",
    machineA.path,
    sim.endpoint,
    (e) => e.type === "instance.phase" && e.to === "draining" && e.wave > 0 && ++draining >= 12,
  );
  expect(first.signal, first.stderr).toBe("SIGKILL");
  const rolloutId = first.events.find((e) => e.type === "rollout.started")?.rolloutId;
  expect(rolloutId).toBeTruthy();
  const atKill = await journalObjects();
  expect(atKill.keys.length).toBeGreaterThan(3);
  expect(atKill.keys.every((k) => /^ci\/journals\/it-relay\/r000001\/\d{10}\.ndjson$/.test(k))).toBe(true);
  expect(atKill.records.some((r) => r.type === "end")).toBe(false);

  // Machine B: a fresh directory. Its resume waits for A's fleet lock to turn stale (5 simulated
  // minutes, a second at ×300), then takes it over as the same rollout.
  let second: Run | undefined;
  for (let attempt = 0; attempt < 20; attempt++) {
    second = await rollwave("resume", machineB.path, sim.endpoint);
    if (second.code !== 4) break;
    expect(second.stderr).toMatch(/holds the fleet lock/);
    await new Promise((r) => setTimeout(r, 1_000));
  }
  const done = second as Run;
  const finished = done.events.findLast((e) => e.type === "rollout.finished");
  expect(`${done.code} ${finished?.type === "rollout.finished" ? finished.status : "-"}`, done.stderr).toBe(
    "0 succeeded",
  );
  expect(done.stderr).toMatch(new RegExp(`taking over the stale fleet lock .* of rollout ${rolloutId}`));
  expect(done.events.every((e) => e.rolloutId === rolloutId)).toBe(true);

  const verdict = await fleetVerdict(sim, "v2.0.0");
  expect(verdict.wrongVersion).toEqual([]);
  expect(verdict.notInService).toEqual([]);
  expect(verdict.duplicates).toEqual([]);
  expect(verdict.violations).toEqual([]);
  expect(verdict.suspended).toEqual([]);
  expect((await sim.state()).instances.filter((i) => i.state === "running")).toHaveLength(instances);

  // One journal in S3: A's objects, then B's resume record and the rest, in one unbroken sequence.
  const after = await journalObjects();
  expect(after.keys.slice(0, atKill.keys.length)).toEqual(atKill.keys);
  expect(after.keys).toEqual(
    after.keys.map((_, i) => `ci/journals/it-relay/r000001/${String(i + 1).padStart(10, "0")}.ndjson`),
  );
  const types = after.records.map((r) => r.type);
  expect(types.slice(0, 2)).toEqual(["header", "begin"]);
  expect(types.filter((t) => t === "resume")).toHaveLength(1);
  expect(types.at(-1)).toBe("end");
  // Nothing local on either machine.
  expect(readdirSync(machineA.path)).toEqual([]);
  expect(readdirSync(machineB.path)).toEqual([]);
}, 300_000);
