import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { capacityFloor } from "../../src/engine/capacity.js";
import { dryRunRollout } from "../../src/engine/dry-run.js";
import { openFileJournal, parseJournal, replayJournal } from "../../src/engine/journal.js";
import { runRollout } from "../../src/engine/run.js";
import { makePlan, metricConnections, TG_A, TG_B } from "./fixtures.js";
import { drive, harness, options } from "./harness.js";

let dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});

async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "rollwave-journal-"));
  dirs.push(d);
  return d;
}

describe("the file journal", () => {
  it("survives a torn last line and refuses a corrupt middle one", () => {
    const good = JSON.stringify({ type: "resume", at: 1 });
    expect(parseJournal(`${good}\n${good}\n{"type":"dec`)).toHaveLength(2);
    expect(() => parseJournal(`${good}\n{oops\n${good}\n`)).toThrow(/journal line 2 is corrupt/);
  });

  it("refuses to resume from a journal without a begin record", () => {
    expect(() => replayJournal([{ type: "resume", at: 1 }])).toThrow(/no begin record/);
  });

  it("lets `resume` continue a run paused for approval from the file alone, in a fresh process", async () => {
    const path = join(await tmp(), ".rollwave", "relay", "journal.ndjson");
    const plan = makePlan({ rollout: { canary: { approve: true } } });
    const h = harness({ n: 6, canary: 1, window: 2 }, plan);
    const j1 = await openFileJournal(path, { sync: false });
    const r1 = await drive(h, runRollout(options(h, { journal: j1 })));
    await j1.close();
    expect(r1.status).toBe("paused");
    const lines = (await readFile(path, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines[0].type).toBe("begin");
    expect(lines.at(-1)).toMatchObject({ type: "end", status: "paused" });

    const j2 = await openFileJournal(path, { sync: false });
    const r2 = await drive(h, runRollout(options(h, { journal: j2, resume: true })));
    await j2.close();
    expect(`${r2.status} ${r2.reason ?? ""}`).toBe("succeeded ");
    expect(r2.instances.succeeded).toBe(6);
    // A finished run is not reopened.
    const j3 = await openFileJournal(path, { sync: false });
    await expect(runRollout(options(h, { journal: j3, resume: true }))).rejects.toThrow(
      /already ended \(succeeded\)/,
    );
    await j3.close();
  });

  it("appends to an existing file rather than truncating it", async () => {
    const path = join(await tmp(), "j.ndjson");
    await writeFile(path, `${JSON.stringify({ type: "resume", at: 0 })}\n`);
    const j = await openFileJournal(path);
    await j.append({ type: "resume", at: 1 });
    expect(await j.read()).toHaveLength(2);
    await j.close();
  });
});

describe("dry run and capacity floor", () => {
  it("declares the floor as in-service instances minus the window, per AZ", () => {
    const h = harness({ n: 30, window: 6, perAz: 2 });
    expect(capacityFloor(h.fleet, h.wavePlan)).toEqual({
      total: 24,
      perAz: { "eu-west-1a": 8, "eu-west-1b": 8, "eu-west-1c": 8 },
    });
  });

  it("lists the exact calls per wave, with ports and ≤50 ids per SendCommand, and makes no AWS call", () => {
    const h = harness({ n: 120, canary: 2, batch: 118, window: 20, twoGroups: true });
    const p = dryRunRollout(h.plan, h.fleet, h.wavePlan);
    const big = p.waves[1];
    const sends = big?.calls.filter((c) => c.service === "SSM") ?? [];
    expect(sends.map((c) => (c.service === "SSM" ? c.instanceIds.length : 0))).toEqual([50, 50, 18]);
    const dereg = big?.calls.filter((c) => c.service === "ELBv2" && c.action === "DeregisterTargets") ?? [];
    expect(dereg.map((c) => (c.service === "ELBv2" ? c.targetGroupArn : ""))).toEqual([TG_A, TG_B]);
    expect(dereg[0]?.service === "ELBv2" && dereg[0].targets[0]).toEqual({ id: "i-00002", port: 8080 });
    expect(p.before).toEqual([
      {
        service: "AutoScaling",
        action: "SuspendProcesses",
        group: "relay-asg",
        processes: ["Launch", "Terminate", "AZRebalance"],
      },
    ]);
    expect(p.waves[0]?.gateAfter).toBe("bake 1m");
    expect(h.aws.calls().total).toBe(0);
  });
});

describe("connection-aware drain", () => {
  it("does not trust a zero from an NLB target deregistered less than two minutes ago", async () => {
    const { connectionDrainPredicate } = await import("../../src/engine/capacity.js");
    const plan = makePlan({
      drain: { untilConnections: 0 },
      capacity: {
        connections: metricConnections(),
      },
    });
    const h = harness({ n: 1 });
    const done = connectionDrainPredicate(plan, h.fleet);
    const inst = {
      id: "i-00000",
      az: "a",
      wave: 0,
      seq: 0,
      targets: [{ arn: TG_A }],
      phase: "draining" as const,
      phaseSince: 0,
      need: null,
      out: true,
      rollback: false,
      actErrors: 0,
    };
    // The fake fleet's groups are NLBs with a 30 s delay: the grace is capped by it.
    expect(done?.({ instance: inst, connections: 0, now: 10_000 })).toBe(false);
    expect(done?.({ instance: inst, connections: 0, now: 30_000 })).toBe(true);
    expect(done?.({ instance: inst, connections: 3, now: 60_000 })).toBe(false);
    const slow = harness({ n: 1 }, plan, { drainDelayMs: 300_000 });
    const done2 = connectionDrainPredicate(plan, slow.fleet);
    expect(done2?.({ instance: inst, connections: 0, now: 119_000 })).toBe(false);
    expect(done2?.({ instance: inst, connections: 0, now: 120_000 })).toBe(true);
  });
});
