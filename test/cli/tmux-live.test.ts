/**
 * The live view in a real pseudo-terminal (issue 11, "Done when"): tmux runs the demo plan against a
 * simulated fleet at 80×24 and 120×40; the screen is read mid-rollout (lines fit the width, the
 * frame fits the height, a wave under way has its spinner and counts, the header is there), Ctrl-C
 * is pressed (the notice stays on screen), the final screen is read (paused summary, notice, the
 * resume command), and the resume command printed there is run as printed, to success.
 *
 * The demo's 1,000-server fleet takes minutes on a loaded 2-core box, so this is the demo command on
 * the 12-server simulated fleet (plans/sim/small-fleet.yaml) with its plan (the camera-relay plan's
 * shape: canary with bake and approval, capacity guard, drain, rollback; test/cli/fixtures/small-relay.yaml).
 * tmux is required: .ci/run installs it, and this test is not skipped without it.
 */
import { execFile, execFileSync } from "node:child_process";
import { rm } from "node:fs/promises";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, ensureBuilt, ROOT } from "../crash/harness.js";

const run = promisify(execFile);
const SOCKET = `rollwave-test-${process.pid}`;
const SPINNER = "[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]";
const DEMO = [
  "deploy",
  "test/cli/fixtures/small-relay.yaml",
  "--simulate",
  "plans/sim/small-fleet.yaml",
  "--var",
  "release=v2.0.0",
  "--yes",
  "--auto-approve",
  "--time-scale",
  "300",
];

function tmux(...args: string[]): string {
  return execFileSync("tmux", ["-L", SOCKET, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** The visible screen, or with `joined` the screen and its scrollback with wrapped lines joined. */
function screen(session: string, joined = false): string {
  return joined
    ? tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", session)
    : tmux("capture-pane", "-p", "-t", session);
}

async function waitFor(
  session: string,
  what: string,
  ok: (text: string) => boolean,
  ms: number,
  joined = false,
) {
  const until = Date.now() + ms;
  let last = "";
  while (Date.now() < until) {
    last = screen(session, joined);
    if (ok(last)) return last;
    if (/^EXIT=\d+/m.test(last)) break; // the run is over: what we wait for will not come
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${what}; the screen:\n${last}`);
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

beforeAll(() => {
  ensureBuilt();
  try {
    execFileSync("tmux", ["-V"]);
  } catch {
    throw new Error("tmux is required for the live-view test (.ci/run installs it: apt-get install -y tmux)");
  }
}, 240_000);

afterAll(() => {
  try {
    tmux("kill-server");
  } catch {
    // Already gone.
  }
});

describe("the live view in tmux", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  for (const [cols, rows] of [
    [80, 24],
    [120, 40],
  ] as const) {
    it(`at ${cols}×${rows}: mid-rollout frame, Ctrl-C notice, final screen, and the printed resume works`, async () => {
      const session = `demo-${cols}`;
      // CI=true would choose plain lines: a person at a terminal has no CI variable.
      const command = `cd ${quote(ROOT)} && env -u CI -u GITHUB_ACTIONS node ${quote(BIN)} ${DEMO.map(quote).join(" ")}; echo EXIT=$?; sleep 600`;
      tmux("new-session", "-d", "-x", String(cols), "-y", String(rows), "-s", session, command);

      // Mid-rollout: a batch wave under way (after the canary), drawn with its spinner and counts.
      const running = new RegExp(`^\\s+${SPINNER} wave \\d+ batch · \\d+/\\d+ done`, "m");
      const mid = await waitFor(session, "a batch wave under way", (t) => running.test(t), 45_000);
      const lines = mid.split("\n");
      expect(lines.filter((l) => [...l].length > cols)).toEqual([]);
      // The whole frame is on screen: its header (top) and its last wave line (bottom) are both there.
      expect(mid).toMatch(new RegExp(`^${SPINNER} \\S+ elapsed · \\d+/\\d+ settled`, "m"));
      expect(mid).toMatch(/^ {2}window \d+\/\d+ out/m);
      expect(mid).toMatch(/^ {2}devices [\d,]+\/2,000 connected/m);
      expect(mid).toMatch(/API \d+ calls, \d+ throttled/);
      expect(mid).toMatch(/^rollout small-relay/m);
      expect(mid).toMatch(/^\s+\S+ waves? \d+(–\d+)? /m);
      expect(mid).not.toMatch(/^\s+✔ wave \d+ batch · 0\//m);

      // Ctrl-C: the notice is drawn in the frame and stays there while in-flight instances finish.
      tmux("send-keys", "-t", session, "C-c");
      const stopping = await waitFor(
        session,
        "the Ctrl-C notice",
        (t) => t.includes("Ctrl-C: stopping safely"),
        15_000,
      );
      expect(stopping).toMatch(/Ctrl-C: stopping safely/);

      // The final screen: the paused summary, the notice again, the complete resume command.
      const final = await waitFor(session, "the end of the run", (t) => /EXIT=\d+/.test(t), 60_000, true);
      expect(final).toContain("EXIT=130");
      expect(final).toMatch(/rollout small-relay paused/);
      const visible = screen(session);
      expect(visible).toContain("interrupted (Ctrl-C): stopped safely");
      expect(visible).toMatch(/paused: continue with `rollwave resume/);
      const resume = /paused: continue with `(rollwave resume [^`]+)`/.exec(final)?.[1];
      expect(resume).toBeDefined();
      const dir = /--journal-dir (\S+)/.exec(resume as string)?.[1];
      if (dir) dirs.push(dir);
      expect(resume).toContain("--simulate plans/sim/small-fleet.yaml");
      expect(resume).toContain("--var release=v2.0.0");

      // Run it as printed (only `rollwave` is this checkout's bin), from the same directory.
      const asPrinted = (resume as string).replace(/^rollwave /, `${quote(process.execPath)} ${quote(BIN)} `);
      const env: NodeJS.ProcessEnv = { ...process.env, CI: "true", NO_COLOR: "1" };
      delete env.GITHUB_ACTIONS;
      const r = await run("sh", ["-c", asPrinted], { cwd: ROOT, env, maxBuffer: 16 * 1024 * 1024 }).then(
        (x) => ({ code: 0, ...x }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/rollout small-relay succeeded/);
      // The restored fleet kept what the first run did: no instance is counted twice or redone.
      expect(r.stdout).toMatch(/instances {3}12 total · \d+ succeeded/);
      tmux("kill-session", "-t", session);
    }, 150_000);
  }
});
