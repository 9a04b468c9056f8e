import { describe, expect, it } from "vitest";
import { createJsonRenderer } from "../../src/report/json.js";
import { makeChalk } from "../../src/report/output.js";
import { createPlainRenderer } from "../../src/report/plain.js";
import { formatSummary } from "../../src/report/summary.js";
import { createTtyRenderer } from "../../src/report/tty.js";
import { scriptedRollout } from "./scripted-events.js";
import { StringOutput } from "./string-output.js";

const ESC = "\u001b[";

async function render(renderer: ReturnType<typeof createJsonRenderer>, events = scriptedRollout()) {
  for (const e of events) renderer.onEvent(e);
  await renderer.close();
}

describe("json renderer", () => {
  it("writes one parseable event per line and ends with rollout.finished", async () => {
    const out = new StringOutput();
    const events = scriptedRollout();
    await render(createJsonRenderer(out), [
      ...events,
      { type: "warning", at: 0, code: "W_OBSERVE_FAILED", message: "late" },
    ]);
    const lines = out.lines().map((l) => JSON.parse(l));
    expect(lines).toHaveLength(events.length);
    expect(lines.map((l) => l.type)).toEqual(events.map((e) => e.type));
    const last = lines.at(-1);
    expect(last.type).toBe("rollout.finished");
    expect(Object.keys(last)).toEqual(
      expect.arrayContaining(["status", "instances", "apiCalls", "durationSeconds"]),
    );
    expect(last.instances).toEqual({ total: 4, succeeded: 3, failed: 1, skipped: 0, rolledBack: 0 });
  });
});

describe("plain renderer", () => {
  it("prints per-instance transitions only with --verbose", async () => {
    const out = new StringOutput(false);
    await render(createPlainRenderer(out, { env: {} }));
    expect(out.lines().filter((l) => l.includes(" -> "))).toEqual([]);
    expect(out.text).toContain("ERROR i-b2 eu-west-1b wave 1 failed in validating");
  });

  it("prints one timestamped line per transition and no ANSI codes off a terminal", async () => {
    const out = new StringOutput(false);
    await render(createPlainRenderer(out, { env: {}, verbose: true }));
    const text = out.text;
    expect(text).not.toContain(ESC);
    const lines = out.lines();
    expect(lines).toContain("2026-11-22T02:00:03Z i-a1 eu-west-1a wave 0: pending -> deregistering");
    expect(lines).toContain(
      "2026-11-22T02:00:40Z i-a1 eu-west-1a wave 0: draining -> deploying (drained (0 connections))",
    );
    expect(lines).toContain("2026-11-22T02:00:02Z wave 0 (canary) started: 2 instances");
    expect(lines).toContain("2026-11-22T02:12:41Z wave 1 finished: 1 succeeded, 1 failed");
    expect(lines).toContain(
      "2026-11-22T02:01:31Z gate bake waiting: baking canary for 10m (until 2026-11-22T02:11:31Z)",
    );
    expect(lines.some((l) => l.includes("ERROR i-b2 eu-west-1b wave 1 failed in validating: exit 7"))).toBe(
      true,
    );
    expect(lines.some((l) => l.startsWith("::"))).toBe(false);
  });

  it("samples progress instead of printing every tick", async () => {
    const out = new StringOutput(false);
    await render(createPlainRenderer(out, { env: {} }));
    expect(out.lines().filter((l) => l.includes(" progress: "))).toHaveLength(1);
  });

  it("prints a gate that keeps holding once per interval, and again after it passed", async () => {
    const out = new StringOutput(false);
    const r = createPlainRenderer(out, { env: {}, progressEveryMs: 60_000 });
    const wait = (s: number) => ({
      type: "gate.waiting" as const,
      at: s * 1000,
      gate: "capacity" as const,
      message: `held ${s}`,
    });
    for (const e of [
      wait(0),
      wait(5),
      wait(30),
      wait(61),
      { type: "gate.passed" as const, at: 62_000, gate: "capacity" as const, message: "ok" },
      wait(63),
    ])
      r.onEvent(e);
    await r.close();
    expect(out.lines().map((l) => l.split(" ").slice(1).join(" "))).toEqual([
      "gate capacity waiting: held 0",
      "gate capacity waiting: held 61",
      "gate capacity passed: ok",
      "gate capacity waiting: held 63",
    ]);
  });

  it("sums throttling into one line per interval and into the summary", async () => {
    const out = new StringOutput(false);
    const events = scriptedRollout();
    const finished = events.pop();
    if (!finished) throw new Error("fixture");
    const throttle = (s: number, count: number) => ({
      type: "aws.throttled" as const,
      at: events[0]!.at + s * 1000,
      operation: "ELBv2.DescribeTargetHealth",
      count,
    });
    await render(createPlainRenderer(out, { env: {} }), [
      ...events,
      throttle(1, 5),
      throttle(2, 7),
      throttle(70, 1),
      finished,
    ]);
    expect(out.lines().filter((l) => l.includes("aws throttled"))).toHaveLength(2);
    expect(out.text).toContain("aws throttled: 8 call(s) retried");
    expect(out.text).toContain("13 throttled and retried");
  });

  it("ends with the summary: status, counts, duration and API calls by action", async () => {
    const out = new StringOutput(false);
    await render(createPlainRenderer(out, { env: {}, name: "web-api" }));
    expect(out.text).toContain("rollout web-api failed in 12m43s");
    expect(out.text).toContain("4 total · 3 succeeded · 1 failed · 0 skipped · 0 rolled back");
    expect(out.text).toMatch(/ELBv2\.DescribeTargetHealth\s+8/);
  });

  it("adds GitHub Actions annotations for warnings and failures, escaping newlines", async () => {
    const out = new StringOutput(false);
    await render(createPlainRenderer(out, { env: { GITHUB_ACTIONS: "true" } }));
    const notes = out.lines().filter((l) => /^::(error|warning)/.test(l));
    expect(notes).toEqual([
      "::error title=i-b2 failed in validating::exit 7: curl: (7) Failed to connect%0Asecond line",
      "::warning title=W_OBSERVE_FAILED::GetMetricData failed, retrying next tick: 50%25 of queries timed out",
      "::error title=rollout failed::1 instance failed",
    ]);
  });

  it("colours only when the stream is a terminal and NO_COLOR is unset", async () => {
    const tty = new StringOutput(true);
    await render(createPlainRenderer(tty, { env: {} }));
    expect(tty.text).toContain(ESC);
    const noColor = new StringOutput(true);
    await render(createPlainRenderer(noColor, { env: { NO_COLOR: "1" } }));
    expect(noColor.text).not.toContain(ESC);
  });
});

describe("summary", () => {
  it("includes the simulator's camera statistics when present", () => {
    const finished = scriptedRollout().at(-1);
    if (finished?.type !== "rollout.finished") throw new Error("fixture");
    const text = formatSummary(
      {
        ...finished,
        sim: {
          invariantViolations: 0,
          cameras: {
            total: 1000,
            minConnected: 990,
            refused: 3,
            p99DisconnectSeconds: 14,
            reconnectsPerCamera: 1.25,
            cut: 0,
          },
          maxLoadRatio: 0.91,
        },
      },
      makeChalk(false),
    );
    expect(text).toContain("min connected 990 (99.00%)");
    expect(text).toContain("invariant violations 0");
    expect(text).toContain("max load ratio 0.91");
  });
});

describe("tty renderer", () => {
  it("falls back to plain lines when the stream is not a terminal", async () => {
    const out = new StringOutput(false);
    await render(createTtyRenderer(out, { env: {} }));
    expect(out.lines()).toContain("2026-11-22T02:00:02Z wave 0 (canary) started: 2 instances");
  });

  it("draws one task per wave with its counts and ends with the summary", async () => {
    const out = new StringOutput(true, 100);
    await render(createTtyRenderer(out, { env: { NO_COLOR: "1" }, name: "web-api" }));
    expect(out.text).toMatch(/wave 0 canary · 2\/2 done/);
    expect(out.text).toMatch(/wave 1 batch · 2\/2 done · 1 failed/);
    expect(out.text).toContain("rollout web-api failed in 12m43s");
  });

  it("stops redrawing while suspended for a prompt, then carries on with the unfinished waves", async () => {
    const out = new StringOutput(true, 100);
    const r = createTtyRenderer(out, { env: { NO_COLOR: "1" } });
    const events = scriptedRollout();
    const gate = events.findIndex((e) => e.type === "gate.waiting");
    for (const e of events.slice(0, gate + 1)) r.onEvent(e);
    await r.suspend?.();
    const frozen = out.text.length;
    await new Promise((res) => setTimeout(res, 150));
    expect(out.text.length).toBe(frozen);
    r.resume?.();
    for (const e of events.slice(gate + 1)) r.onEvent(e);
    await r.close();
    const after = out.text.slice(frozen);
    expect(after).toMatch(/wave 1 batch · 2\/2 done · 1 failed/);
    // The frame redraws every wave, but the finished canary only ever as done: it is not run again.
    for (const line of after.split("\n").filter((l) => l.includes("wave 0 canary")))
      expect(line).toMatch(/✔ wave 0 canary · 2\/2 done/);
  });

  it("shows live counts for a later wave already under way while the one before is finishing", async () => {
    const out = new StringOutput(true, 100);
    const r = createTtyRenderer(out, { env: { NO_COLOR: "1" } });
    const [started, , wave0] = scriptedRollout();
    if (!started || !wave0) throw new Error("fixture");
    r.onEvent(started);
    r.onEvent(wave0);
    r.onEvent({ type: "wave.started", at: 5, index: 1, kind: "batch", instanceIds: ["i-a2", "i-b2"] });
    r.onEvent({
      type: "instance.phase",
      at: 6,
      id: "i-a2",
      az: "eu-west-1a",
      wave: 1,
      from: "pending",
      to: "draining",
    });
    await new Promise((res) => setTimeout(res, 250));
    expect(out.text).toMatch(/wave 1 batch · 0\/2 done · draining 1/);
    await r.close();
  });

  it("shows a long rollout a screenful of waves at a time, keeping finished views as history", async () => {
    const out = new StringOutput(true, 100);
    const r = createTtyRenderer(out, { env: { NO_COLOR: "1" }, maxWaves: 1 });
    const events = scriptedRollout();
    const firstDone = events.findIndex((e) => e.type === "wave.finished");
    for (const e of events.slice(0, firstDone)) r.onEvent(e);
    await new Promise((res) => setTimeout(res, 450));
    expect(out.text).toContain("wave 0 canary");
    expect(out.text).not.toContain("wave 1 batch");
    r.onEvent(events[firstDone]!);
    await new Promise((res) => setTimeout(res, 450));
    // One wave line fits: the finished canary folds into a done line, the queued wave into the tail.
    expect(out.text).toMatch(/✔ waves 0–0 done · 2 instances/);
    expect(out.text).toMatch(/◼ waves 1–1 · 2 instances/);
    for (const e of events.slice(firstDone + 1)) r.onEvent(e);
    await r.close();
    expect(out.text).toMatch(/✖ waves 0–1 done · 4 instances · 1 failed|wave 1 batch · 2\/2 done · 1 failed/);
  });

  it("idles quietly once every wave is done but the rollout has not finished", async () => {
    const out = new StringOutput(true, 100);
    const r = createTtyRenderer(out, { env: { NO_COLOR: "1" }, maxWaves: 1 });
    const events = scriptedRollout();
    const finished = events.pop();
    if (!finished) throw new Error("fixture");
    for (const e of events) r.onEvent(e);
    await new Promise((res) => setTimeout(res, 300));
    // Each live view starts by hiding the cursor: one view for wave 0, one for wave 1, none after.
    const views = () => out.text.split("\u001b[?25l").length - 1;
    expect(views()).toBeLessThanOrEqual(2);
    const settled = views();
    await new Promise((res) => setTimeout(res, 300));
    expect(views()).toBe(settled);
    r.onEvent(finished);
    await r.close();
    expect(out.text).toContain("rollout failed in 12m43s");
  });
});

describe("connection counts in progress", () => {
  it("says the metric-based count is an upper bound over the last minute, not an exact count", async () => {
    const out = new StringOutput(false);
    const r = createPlainRenderer(out, { env: {}, progressEveryMs: 0 });
    const events = scriptedRollout();
    const started = events.findIndex((e) => e.type === "rollout.started");
    events.splice(started + 1, 0, {
      type: "progress",
      at: events[started]?.at ?? 0,
      phases: { pending: 4 },
      inService: 4,
      outOfService: 0,
      connections: 182_995,
    });
    await render(r, events);
    expect(out.text).toContain("≤182995 connections (1-min max)");
  });
});
