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
    await answerWhen(io, /canary done.*\[approve\/stop\]/, "approve", mark);
    const r = await run;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wave 0 canary · 2\/2 done/);
    expect(r.stdout).toContain("rollout small-relay succeeded");
  });

  it("stops at the canary gate when told to: exit 1, nothing after the canary", async () => {
    const io = fakeIo({ tty: true, env: { NO_COLOR: "1" } });
    const run = cli([...ARGS, "--yes", "--output", "plain"], io);
    await answerWhen(io, /canary done.*\[approve\/stop\]/, "stop");
    const r = await run;
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/rollout finished: aborted/);
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
    expect(await readdir(join(dir, "small-relay"))).toEqual(["journal.ndjson"]);
    expect(await readFile(join(dir, "small-relay", "journal.ndjson"), "utf8")).toBe(finished);
  });
});
