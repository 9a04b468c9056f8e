import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, type FakeIo, fakeIo } from "./harness.js";
import { SMALL_FLEET, SMALL_PLAN } from "./sim-env.js";

const ARGS = [
  "deploy",
  SMALL_PLAN,
  "--simulate",
  SMALL_FLEET,
  "--time-scale",
  "400",
  "--var",
  "release=v2.0.0",
];

async function answerWhen(io: FakeIo, prompt: RegExp, answer: string, after = 0): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    const seen = io.stderr.text.slice(after);
    if (prompt.test(seen)) {
      io.stdinStream.write(`${answer}\n`);
      return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`prompt ${prompt} never appeared; stderr: ${io.stderr.text}`);
}

describe("rollwave deploy at a terminal", () => {
  it("asks to confirm the start, then asks at the canary gate, and finishes when approved", async () => {
    const io = fakeIo({ tty: true, env: { NO_COLOR: "1" } });
    const run = cli(ARGS, io);
    await answerWhen(io, /Roll small-relay across 12 instances in \d+ waves .*\[y\/N\]/, "y");
    const mark = io.stderr.text.length;
    await answerWhen(io, /\[approve\/stop\/rollback\] $/, "approve", mark);
    const r = await run;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wave 0 canary · 2\/2 done/);
    expect(r.stdout).toContain("rollout small-relay succeeded");
  });

  it("shows what the bake saw at the canary gate; stop pauses (exit 3) with a resume command that continues", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollwave-gate-stop-"));
    const io = fakeIo({ tty: true, env: { NO_COLOR: "1" } });
    const run = cli([...ARGS, "--journal-dir", dir, "--yes", "--output", "plain"], io);
    await answerWhen(io, /\[approve\/stop\/rollback\] $/, "stop");
    const r = await run;
    // What the bake saw: health, alarms, connections and how long, then the three answers.
    expect(r.stderr).toMatch(/canary done: 2 instance\(s\) in 2 AZs, \S+ since its first deploy; bake \S+/);
    expect(r.stderr).toMatch(/health {3}2\/2 done · healthy in every target group \(last read \S+ ago\)/);
    expect(r.stderr).toMatch(/alarms {3}.*: OK/);
    expect(r.stderr).toMatch(
      /conns {4}i-\w+ ap-northeast-1\w \d+ · i-\w+ ap-northeast-1\w \d+ \(fleet [\d,]+, read/,
    );
    expect(r.stderr).toMatch(/rollback +roll the canary back with the plan's rollback step/);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/rollout finished: paused/);
    expect(r.stdout).not.toMatch(/wave 1 \(batch\) started/);
    const journal = await readFile(join(dir, "small-relay", "journal.ndjson"), "utf8");
    expect(journal).toMatch(/"answer":\{"answer":"stop","at":/);
    const hint = /continue with `(rollwave resume [^`]+)`/.exec(r.stderr)?.[1];
    expect(hint).toContain(`--journal-dir ${dir}`);
    expect(hint).toContain("--var release=v2.0.0");
    // The printed command, as printed (minus the program name), continues to the end.
    const again = await cli((hint as string).split(" ").slice(1), fakeIo({ env: { NO_COLOR: "1" } }));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("rollout small-relay succeeded");
  });

  it("rolls the canary back when the answer is rollback: exit 1, the canary back on the old release", async () => {
    const io = fakeIo({ tty: true, env: { NO_COLOR: "1" } });
    const run = cli([...ARGS, "--yes", "--output", "plain"], io);
    await answerWhen(io, /\[approve\/stop\/rollback\] $/, "rollback");
    const r = await run;
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/rollout finished: rolled-back/);
    expect(r.stdout).toMatch(/canary rejected at the approval gate; rolled back 2 instance/);
    expect(r.stdout).not.toMatch(/wave 1 \(batch\) started/);
  });

  it("changes nothing when the start is not confirmed, not even the previous rollout's journal", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollwave-refused-"));
    const first = await cli([...ARGS, "--journal-dir", dir, "--yes", "--auto-approve", "--output", "json"]);
    expect(first.code, first.stderr).toBe(0);
    const finished = await readFile(join(dir, "small-relay", "journal.ndjson"), "utf8");
    const io = fakeIo({ tty: true });
    const run = cli([...ARGS, "--journal-dir", dir], io);
    await answerWhen(io, /\[y\/N\]/, "");
    const r = await run;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("not started: nothing was changed");
    expect(r.stdout).toBe("");
    // The first run's journal and its snapshot of the simulated fleet, as that run left them.
    expect((await readdir(join(dir, "small-relay"))).sort()).toEqual(["journal.ndjson", "sim-fleet.json"]);
    expect(await readFile(join(dir, "small-relay", "journal.ndjson"), "utf8")).toBe(finished);
  });
});
