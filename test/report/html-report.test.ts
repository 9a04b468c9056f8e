import { mkdir, mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseJournal } from "../../src/engine/journal.js";
import { renderReportHtml } from "../../src/report/html.js";
import { timelineFromJournal } from "../../src/report/timeline.js";
import { cli } from "../cli/harness.js";
import { CHROMIUM, dumpDom, screenshot } from "./chromium.js";

const JOURNAL = new URL("./fixtures/rolled-back.journal.ndjson", import.meta.url);
const PLAN = "test/report/fixtures/failing-relay.yaml";

async function journal() {
  return parseJournal(await readFile(JOURNAL, "utf8"));
}

async function reportData() {
  const d = timelineFromJournal(await journal());
  d.floor = { "ap-northeast-1a": 5, "ap-northeast-1c": 3 };
  // A camera series shaped like the simulator's: a dip while the canary drains.
  d.cameras = {
    total: 2000,
    series: Array.from({ length: 200 }, (_, k) => ({
      at: d.startedAt + ((d.endedAt - d.startedAt) * k) / 199,
      connected: k > 20 && k < 30 ? 1800 : 2000,
    })),
  };
  return d;
}

describe("timelineFromJournal", () => {
  it("rebuilds every instance's phases, the waves and the markers of a rolled-back run", async () => {
    const d = timelineFromJournal(await journal());
    expect(d.name).toBe("small-relay");
    expect(d.status).toBe("rolled-back");
    expect(d.instances).toHaveLength(12);
    expect(d.azs).toEqual(["ap-northeast-1a", "ap-northeast-1c"]);
    expect(d.waves.map((w) => [w.index, w.startedAt !== undefined, w.finishedAt !== undefined])).toEqual([
      [0, true, true],
      [1, true, true],
      [2, false, false],
      [3, false, false],
      [4, false, false],
    ]);
    expect(new Set(d.markers.map((m) => m.kind))).toEqual(new Set(["wave", "approval", "failure", "policy"]));
    const failed = d.instances.filter((i) => i.failedPhase);
    expect(failed).toHaveLength(1);
    expect(failed[0]?.failedPhase).toBe("deploying");
    expect(failed[0]?.reason).toContain("checksum mismatch");
    expect(d.instances.filter((i) => i.changes.at(-1)?.phase === "rolledBack")).toHaveLength(5);
    // Every instance's changes run forward in time and start at the rollout's start.
    for (const i of d.instances) {
      expect(i.changes[0]?.at).toBe(d.startedAt);
      for (let k = 1; k < i.changes.length; k++)
        expect(i.changes[k]?.at).toBeGreaterThanOrEqual(i.changes[k - 1]?.at ?? 0);
    }
  });

  it("refuses a journal with no begin record", () => {
    expect(() => timelineFromJournal([{ type: "resume", at: 1 }])).toThrow(/no begin record/);
  });
});

describe("the HTML report", () => {
  it("is self-contained: no external script, style, image or font", async () => {
    const html = renderReportHtml(await reportData());
    expect(html).not.toMatch(/<link\b|<img\b|\bsrc=|url\(|@import|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(html).toContain("<svg");
  });

  it.skipIf(!CHROMIUM && process.env.CI !== "true")(
    "renders in headless Chromium: charts drawn, floors and markers present, every row, no script error",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "rollwave-report-"));
      const file = join(dir, "report.html");
      await writeFile(file, renderReportHtml(await reportData()));
      const dom = await dumpDom(file);
      // The page's script writes what the browser laid out; a script error leaves no record.
      const attr = /<html[^>]*\bdata-rendered="([^"]*)"/.exec(dom)?.[1];
      expect(attr, "the report's script did not run to the end").toBeDefined();
      const drawn = JSON.parse((attr ?? "").replace(/&quot;/g, '"')) as Record<string, unknown>;
      expect(drawn.areas).toBeGreaterThanOrEqual(4);
      expect(drawn.inService).toBe(2);
      expect(drawn.floors).toBe(2);
      expect(drawn.cameras).toBe(2);
      expect(drawn.markers).toBeGreaterThanOrEqual(8);
      expect(drawn.markerKinds).toEqual(expect.arrayContaining(["wave", "approval", "failure", "policy"]));
      expect(drawn.rows).toBe(12);

      const png = join(dir, "report.png");
      await screenshot(file, png);
      const bytes = await readFile(png);
      expect(bytes.subarray(1, 4).toString("latin1")).toBe("PNG");
      expect((await stat(png)).size).toBeGreaterThan(20_000);
    },
    180_000,
  );
});

describe("rollwave report", () => {
  it("writes the report of a plan's journal, with each AZ's capacity floor from the plan", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollwave-report-cli-"));
    await mkdir(join(dir, "small-relay"));
    await writeFile(join(dir, "small-relay", "journal.ndjson"), await readFile(JOURNAL));
    const out = join(dir, "r.html");
    const r = await cli(["report", PLAN, "--journal-dir", dir, "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`report: ${out}\n`);
    const html = await readFile(out, "utf8");
    expect(html.match(/<line class="floor"/g)).toHaveLength(2);
    expect(html).toContain("ap-northeast-1a (floor 5)");
  });

  it("takes a journal file directly, and exits 2 with a hint when there is none", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollwave-report-cli-"));
    const out = join(dir, "r.html");
    const ok = await cli(["report", JOURNAL.pathname, "--out", out]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await readFile(out, "utf8")).toContain("rolled-back");
    const missing = await cli(["report", join(dir, "none.ndjson"), "--out", out]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no journal at");
    expect(missing.stderr).toMatch(/hint:/);
  });
});

describe("deploy --simulate", () => {
  it("ends by writing the report and printing its path", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollwave-report-deploy-"));
    const out = join(dir, "demo.html");
    const r = await cli([
      "deploy",
      PLAN,
      "--simulate",
      "test/report/fixtures/failing-fleet.yaml",
      "--seed",
      "4",
      "--time-scale",
      "400",
      "--var",
      "release=v2.0.0",
      "--yes",
      "--output",
      "plain",
      "--report",
      out,
    ]);
    expect(r.code, r.stderr).toBe(3); // paused at the canary's approval: no --auto-approve
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe(`report: ${out}`);
    const html = await readFile(out, "utf8");
    expect(html).toContain('<span class="status paused">paused</span>');
    expect(html).toContain('<svg id="cameras"');
    expect(html.match(/<line class="floor"/g)).toHaveLength(2);
  }, 60_000);
});
