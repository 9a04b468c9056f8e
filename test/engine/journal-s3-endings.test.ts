/**
 * S3 failures as the engine's error inputs: the engine runs against the fake AWS with its journal
 * in the simulator's S3. A put that fails (5xx after the SDK's retries) is like a local ENOSPC: the
 * unrecorded decision is not acted on, in-flight instances come back, the run pauses with the
 * error, and a resume from the S3 journal alone (another connection) finishes with every step run
 * once. A second writer taking the journal's next sequence number stops this run for good, with
 * its object left as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createS3ObjectStore, type ObjectStore } from "../../src/aws/object-store.js";
import type { RolloutEvent } from "../../src/engine/events.js";
import type { Journal } from "../../src/engine/journal.js";
import { s3JournalStore } from "../../src/engine/journal-store.js";
import { runRollout } from "../../src/engine/run.js";
import { startTestSim, type TestSim } from "../sim/wire/helpers.js";
import { drive, type Harness, harness, options } from "./harness.js";

let sim: TestSim;
const stores: ObjectStore[] = [];
beforeAll(async () => {
  sim = await startTestSim();
  sim.wire.objects.createBucket("journal");
});
afterAll(async () => {
  for (const s of stores) s.close();
  await sim.close();
});

let n = 0;
/** A journal at a fresh prefix, through its own connection (as another process would open it). */
function store(prefix: string) {
  const objects = createS3ObjectStore({
    region: sim.region,
    endpointUrl: sim.endpoint,
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
    maxAttempts: 2,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
  });
  stores.push(objects);
  return s3JournalStore(objects, { bucket: "journal", prefix }, "test");
}

const ofType = <T extends RolloutEvent["type"]>(events: RolloutEvent[], type: T) =>
  events.filter((e): e is Extract<RolloutEvent, { type: T }> => e.type === type);
const midFlight = (h: Harness) =>
  ofType(h.events, "instance.phase").some((e) => e.to === "draining" && e.wave > 0);
const puts = () => sim.wire.counter.snapshot().byAction["S3.PutObject"] ?? 0;

/** Resume from the S3 journal through a new connection: succeeded, all on v2, each deploy sent once. */
async function resumeElsewhere(h: Harness, prefix: string) {
  const journal = await store(prefix).open({ fresh: false });
  h.controller = new AbortController();
  const r2 = await drive(h, runRollout(options(h, { resume: true, journal, signal: h.controller.signal })));
  expect(`${r2.status} ${r2.reason ?? ""}`).toBe("succeeded ");
  expect([...h.aws.instances.values()].every((i) => i.version === "v2")).toBe(true);
  expect(h.aws.inService()).toHaveLength(h.aws.instances.size);
  const deployed = new Map<string, number>();
  for (const c of h.aws.commands.values()) {
    if (!c.req.commands[0]?.startsWith("deploy")) continue;
    for (const id of c.req.instanceIds) deployed.set(id, (deployed.get(id) ?? 0) + 1);
  }
  expect([...deployed.values()].every((x) => x === 1)).toBe(true);
}

describe("the journal in S3 as the engine's error input", () => {
  it("a put fails (S3 5xx after the SDK's retries) mid-flight: no call for that decision, paused with the error, resumable", async () => {
    const prefix = `e${++n}`;
    const h = harness({ n: 10, canary: 1, window: 3 });
    const journal: Journal = await store(prefix).open({ fresh: true });
    let failing = false;
    let mutationsAtFailure = -1;
    let mutationsAfter = -1;
    const r = await drive(h, runRollout(options(h, { journal })), () => {
      if (failing) {
        // One tick of failures, then S3 answers again.
        failing = false;
        mutationsAfter = h.aws.mutations.length;
        sim.wire.faults.set({ errorRate: 0 });
      } else if (mutationsAtFailure < 0 && midFlight(h)) {
        failing = true;
        mutationsAtFailure = h.aws.mutations.length;
        sim.wire.faults.set({ errorRate: 1 });
      }
    });
    sim.wire.faults.set({ errorRate: 0 });
    expect(mutationsAtFailure).toBeGreaterThanOrEqual(0);
    // The tick whose decision could not be written to S3 made no call.
    expect(mutationsAfter).toBe(mutationsAtFailure);
    expect(r.status).toBe("paused");
    expect(r.reason).toMatch(
      /^error: journal write failed: S3\.PutObject: (InternalError|ServiceUnavailable)/,
    );
    // Nothing left out of service: in-flight instances came back before the pause.
    expect(h.aws.inService()).toHaveLength(h.aws.instances.size);
    await resumeElsewhere(h, prefix);
  });

  it("another writer takes the next sequence number: this run writes nothing more, never overwrites, and stops", async () => {
    const prefix = `e${++n}`;
    const h = harness({ n: 10, canary: 1, window: 3 });
    const journal = await store(prefix).open({ fresh: true });
    let planted: string | undefined;
    let putsAtConflict = -1;
    const r = await drive(h, runRollout(options(h, { journal })), () => {
      if (planted || !midFlight(h)) return;
      // What a second process resuming the same rollout would do: write the next object first.
      const keys = sim.wire.objects.snapshot().journal?.filter((k) => k.startsWith(`${prefix}/`)) ?? [];
      const next = keys.length + 1;
      planted = `${prefix}/test/r000001/${String(next).padStart(10, "0")}.ndjson`;
      sim.wire.objects.put("journal", planted, '{"type":"resume","at":1}\n', 0);
      putsAtConflict = puts();
    });
    expect(planted).toBeDefined();
    expect(r.status).toBe("paused");
    expect(r.reason).toMatch(
      /another writer holds the journal s3:\/\/journal\/e\d+\/test\/r000001\/: it wrote \d{10}\.ndjson first/,
    );
    // The conflicting put was the last one: after the 412 no put at all, not even the end record.
    expect(puts() - putsAtConflict).toBe(1);
    expect(sim.wire.objects.get("journal", planted as string).body).toBe('{"type":"resume","at":1}\n');
    expect(ofType(h.events, "warning").map((w) => w.code)).toContain("W_JOURNAL_END_FAILED");
  });
});
