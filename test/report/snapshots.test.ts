/**
 * What CI logs look like, from recorded runs: the plain lines, the NDJSON, and the GitHub Actions
 * log and job summary, each kept as a file under __snapshots__/ to read and diff in review.
 */
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RolloutEvent } from "../../src/engine/events.js";
import { createPlainRenderer } from "../../src/report/plain.js";
import { createRenderer, type OutputMode } from "../../src/report/renderer.js";
import { type Recording, recordedLines, recordedRun } from "./recorded.js";
import { StringOutput } from "./string-output.js";

const RESUME = "rollwave resume plans/relay.yaml --var release=v2.0.0 --yes";

async function render(
  events: RolloutEvent[],
  mode: OutputMode,
  env: Record<string, string> = {},
  extra: { verbose?: boolean } = {},
): Promise<string> {
  const out = new StringOutput(false);
  const r = createRenderer({ mode, stdout: out, env, name: "small-relay", resumeCommand: RESUME, ...extra });
  for (const e of events) r.onEvent(e);
  await r.close();
  return out.text;
}

const snap = (file: string) => `./__snapshots__/${file}`;

describe.each(["rolled-back", "paused"] as const)("recorded %s run", (name: Recording) => {
  const events = recordedRun(name);

  it("plain: one line per wave transition, failure and gate, progress at most once a minute", async () => {
    const text = await render(events, "plain");
    await expect(text).toMatchFileSnapshot(snap(`${name}.plain.txt`));
    const lines = text.split("\n");
    expect(lines.filter((l) => / wave \d+ \(\w+\) started: /.test(l))).toHaveLength(
      events.filter((e) => e.type === "wave.started").length,
    );
    expect(lines.filter((l) => l.includes(" -> "))).toEqual([]);
    const progress = lines
      .filter((l) => l.includes(" progress: "))
      .map((l) => Date.parse(l.split(" ")[0] ?? ""));
    for (let i = 1; i < progress.length; i++)
      expect((progress[i] ?? 0) - (progress[i - 1] ?? 0)).toBeGreaterThanOrEqual(59_000);
  });

  it("plain --verbose adds every instance transition", async () => {
    const text = await render(events, "plain", {}, { verbose: true });
    expect(text.split("\n").filter((l) => l.includes(" -> "))).toHaveLength(
      events.filter((e) => e.type === "instance.phase").length,
    );
  });

  it("json: the recorded lines, unchanged", async () => {
    const text = await render(events, "json");
    await expect(text).toMatchFileSnapshot(snap(`${name}.ndjson`));
    expect(text.trimEnd().split("\n")).toEqual(recordedLines(name));
  });

  it("GitHub Actions: a group per wave, annotations, and the job summary", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollwave-gh-"));
    const summary = join(dir, "summary.md");
    const text = await render(events, "plain", { GITHUB_ACTIONS: "true", GITHUB_STEP_SUMMARY: summary });
    await expect(text).toMatchFileSnapshot(snap(`${name}.github.txt`));
    const md = await readFile(summary, "utf8");
    await expect(md).toMatchFileSnapshot(snap(`${name}.summary.md`));

    const lines = text.split("\n");
    const opened = lines.filter((l) => l.startsWith("::group::")).length;
    expect(opened).toBe(events.filter((e) => e.type === "wave.started").length);
    expect(lines.filter((l) => l === "::endgroup::")).toHaveLength(opened);
    expect(md).toMatch(/^#### Waves$/m);
    for (const w of events.filter((e) => e.type === "wave.finished"))
      expect(md).toMatch(
        new RegExp(`^\\| ${w.index} \\| \\w+ \\| \\d+ \\| \\d\\d:\\d\\d:\\d\\d \\| \\w+ \\|`, "m"),
      );
    expect(md).toContain("#### API calls");
    expect(md).toContain("2000 cameras (simulated)");
  });
});

describe("GitHub Actions details", () => {
  it("lists failures with their reasons and states the rollout's end", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollwave-gh-"));
    const summary = join(dir, "summary.md");
    const text = await render(recordedRun("rolled-back"), "plain", {
      GITHUB_ACTIONS: "true",
      GITHUB_STEP_SUMMARY: summary,
    });
    expect(text).toMatch(/^::error title=i-\w+ failed in deploying::deploy: the command failed/m);
    const md = await readFile(summary, "utf8");
    expect(md).toMatch(/^### .* rollwave small-relay: rolled-back$/m);
    expect(md).toMatch(/^#### Failures \(1\)$/m);
    expect(md).toMatch(
      /^\| `i-\w+` \| ap-northeast-1a \| 1 \| deploying \| deploy: the command failed .*checksum mismatch/m,
    );
    expect(md).toContain("**Failure policy:** rollback: 1 instance(s) failed, more than maxFailed 0");
    expect(md).not.toContain(RESUME);
  });

  it("gives the resume command when paused, and marks the waves that never ran", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollwave-gh-"));
    const summary = join(dir, "summary.md");
    await render(recordedRun("paused"), "plain", { GITHUB_ACTIONS: "true", GITHUB_STEP_SUMMARY: summary });
    const md = await readFile(summary, "utf8");
    expect(md).toContain(`\`\`\`sh\n${RESUME}\n\`\`\``);
    expect(md).toMatch(/^\| 1 \| batch \| 3 \| — \| — \| not run \|$/m);
  });

  it("appends to the summary file instead of replacing what earlier steps wrote", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollwave-gh-"));
    const summary = join(dir, "summary.md");
    const env = { GITHUB_ACTIONS: "true", GITHUB_STEP_SUMMARY: summary };
    await render(recordedRun("paused"), "plain", env);
    await render(recordedRun("rolled-back"), "plain", env);
    const md = await readFile(summary, "utf8");
    expect(md.match(/^### /gm)).toHaveLength(2);
  });

  it("escapes table cells so a reason cannot break the table or inject HTML", async () => {
    let md = "";
    const events = recordedRun("rolled-back").map((e) =>
      e.type === "instance.failed" ? { ...e, reason: "exit 1 | <script>x</script>\nsecond" } : e,
    );
    const r = createPlainRenderer(new StringOutput(false), {
      github: true,
      writeJobSummary: async (m) => {
        md = m;
      },
    });
    for (const e of events) r.onEvent(e);
    await r.close();
    expect(md).toContain("exit 1 \\| &lt;script&gt;x&lt;/script&gt; ⏎ second |");
  });

  it("writes no summary outside GitHub Actions", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollwave-gh-"));
    const summary = join(dir, "summary.md");
    await render(recordedRun("paused"), "plain", { GITHUB_STEP_SUMMARY: summary });
    await expect(readFile(summary, "utf8")).rejects.toThrow(/ENOENT/);
  });
});
