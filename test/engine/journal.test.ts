import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { capacityFloor } from "../../src/engine/capacity.js";
import { dryRunRollout } from "../../src/engine/dry-run.js";
import { JournalMismatchError } from "../../src/engine/errors.js";
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
    expect(lines.map((l) => l.type).slice(0, 2)).toEqual(["header", "begin"]);
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

describe("the journal header: a journal is bound to its rollout", () => {
  it("starts with a header (id, plan hash, variables, waves, version, account, region); every event carries the id", async () => {
    const h = harness({ n: 4, canary: 1, window: 2 });
    const r = await drive(
      h,
      runRollout(
        options(h, {
          rolloutId: "r-1",
          source: { planFile: "relay.yaml", planHash: "sha256:aa", version: "0.1.0" },
        }),
      ),
    );
    expect(r.status).toBe("succeeded");
    expect(h.journal.records[0]).toMatchObject({
      type: "header",
      rolloutId: "r-1",
      planFile: "relay.yaml",
      planHash: "sha256:aa",
      vars: { release: "v2" },
      waves: [
        { index: 0, kind: "canary", ids: ["i-00000"] },
        { index: 1, kind: "batch", ids: ["i-00001", "i-00002", "i-00003"] },
      ],
      version: "0.1.0",
      account: "111122223333",
      region: "eu-west-1",
    });
    expect(h.journal.records[1]?.type).toBe("begin");
    expect(h.events.length).toBeGreaterThan(10);
    expect(h.events.every((e) => e.rolloutId === "r-1")).toBe(true);
  });

  it("refuses a resume with other variables or another plan file, saying what changed; --force journals the change", async () => {
    const plan = makePlan({ rollout: { canary: { approve: true } } });
    const h = harness({ n: 6, canary: 1, window: 2 }, plan);
    const source = { planHash: "sha256:1111111111111111aaaa" };
    const r1 = await drive(h, runRollout(options(h, { source })));
    expect(r1.status).toBe("paused");
    const before = h.journal.records.length;
    const mutations = h.aws.mutations.length;

    const changed = makePlan({ rollout: { canary: { approve: true } }, values: { release: "v3" } });
    const other = { planHash: "sha256:2222222222222222bbbb" };
    const refused = runRollout(options(h, { plan: changed, source: other, resume: true }));
    await expect(refused).rejects.toThrow(JournalMismatchError);
    await expect(runRollout(options(h, { plan: changed, source: other, resume: true }))).rejects.toThrow(
      'plan file hash was sha256:111111111111, now sha256:222222222222; variable release was "v2", now "v3"',
    );
    // A refusal changes nothing: no record, no call.
    expect(h.journal.records).toHaveLength(before);
    expect(h.aws.mutations).toHaveLength(mutations);

    const r2 = await drive(
      h,
      runRollout(options(h, { plan: changed, source: other, resume: true, force: true })),
    );
    expect(r2.status).toBe("succeeded");
    const headers = h.journal.records.filter((r) => r.type === "header");
    expect(headers).toHaveLength(2);
    expect(headers[1]).toMatchObject({
      rolloutId: headers[0]?.type === "header" ? headers[0].rolloutId : "",
      planHash: other.planHash,
      vars: { release: "v3" },
      changes: [
        { field: "plan file hash", journal: "sha256:111111111111", now: "sha256:222222222222" },
        { field: "variable release", journal: '"v2"', now: '"v3"' },
      ],
    });
    expect(h.events.some((e) => e.type === "warning" && e.code === "W_PLAN_CHANGED")).toBe(true);
    // The forced values are the new reference: the same resume again would not be refused.
    expect(replayJournal(await h.journal.read()).header?.vars).toEqual({ release: "v3" });
  });

  it("cuts a torn last line before appending, says so, and survives repeated crash → resume → crash", async () => {
    const path = join(await tmp(), "relay", "journal.ndjson");
    const h = harness({ n: 12, canary: 1, window: 2 });
    // Each round runs until interrupted, then "crashes" while writing its last record: the file is
    // cut part-way through that record. The next round opens the same file and resumes.
    let resume = false;
    let repairedCount = 0;
    for (let round = 0; round < 4; round++) {
      const j = await openFileJournal(path, { sync: false });
      if (j.repaired) repairedCount++;
      if (round > 0) expect(j.repaired).toMatch(/torn by a crash mid-write and was cut off/);
      h.controller = new AbortController();
      const stopAt = 90_000 + round * 20_000;
      h.events.length = 0;
      const r = await drive(
        h,
        runRollout(options(h, { journal: j, resume, signal: h.controller.signal })),
        (t) => {
          if (t === stopAt) h.controller.abort();
        },
      );
      await j.close();
      if (round > 0)
        expect(h.events.some((e) => e.type === "warning" && e.code === "W_JOURNAL_REPAIRED")).toBe(true);
      expect(r.status).toBe("paused");
      const text = await readFile(path, "utf8");
      const lastStart = text.trimEnd().lastIndexOf("\n") + 1;
      // Cut inside the last record (a different place each round), as a crash mid-write would.
      await writeFile(path, text.slice(0, lastStart + 7 + round * 3));
      resume = true;
    }
    expect(repairedCount).toBe(3);
    const j = await openFileJournal(path, { sync: false });
    h.controller = new AbortController();
    const last = await drive(
      h,
      runRollout(options(h, { journal: j, resume: true, signal: h.controller.signal })),
    );
    await j.close();
    expect(last.status).toBe("succeeded");
    expect(h.aws.inService()).toHaveLength(12);
    // Every line of the journal parses: nothing was ever glued to a torn line.
    const lines = (await readFile(path, "utf8")).trimEnd().split("\n");
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
  });

  it("adds the missing newline to a complete last record instead of gluing the next one to it", async () => {
    const path = join(await tmp(), "j.ndjson");
    await writeFile(path, JSON.stringify({ type: "resume", at: 0 }));
    const j = await openFileJournal(path);
    expect(j.repaired).toBeUndefined();
    await j.append({ type: "resume", at: 1 });
    expect(await j.read()).toHaveLength(2);
    await j.close();
  });
});
