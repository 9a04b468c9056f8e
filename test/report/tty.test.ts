/** The live view as a terminal shows it: marks that tell the truth, lines that fit, a calm redraw. */
import { describe, expect, it } from "vitest";
import type { RolloutEvent } from "../../src/engine/events.js";
import { createTtyRenderer } from "../../src/report/tty.js";
import { scriptedRollout } from "./scripted-events.js";
import { StringOutput } from "./string-output.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// CSI sequences (cursor moves, erase, colour) and the other escapes log-update writes.
const ESC = String.fromCharCode(27);
const CSI = new RegExp(`${ESC}\\[[0-9;?]*[A-Za-z]|${ESC}[78]`, "g");
const strip = (s: string) => s.replace(CSI, "");

class CountingOutput extends StringOutput {
  writes = 0;
  override write(chunk: string): boolean {
    this.writes++;
    return super.write(chunk);
  }
}

function upTo(type: RolloutEvent["type"]): RolloutEvent[] {
  const events = scriptedRollout();
  return events.slice(0, events.findIndex((e) => e.type === type) + 1);
}

describe("tty live view", () => {
  it("marks a wave that has not run as queued when the view stops for a prompt, never ✔", async () => {
    const out = new StringOutput(true, 100);
    const r = createTtyRenderer(out, { env: { NO_COLOR: "1" } });
    for (const e of upTo("gate.waiting")) r.onEvent(e); // wave 0 done, wave 1 not started
    await sleep(450);
    await r.suspend?.();
    const text = strip(out.text);
    expect(text).toMatch(/✔ wave 0 canary · 2\/2 done/);
    expect(text).not.toMatch(/✔ wave 1/);
    expect(text).toMatch(/wave 1 batch · 2 instances · queued/);
    r.resume?.();
    await r.close();
  });

  it("marks a wave stopped half-way (Ctrl-C, pause) as paused, on screen and in the final lines", async () => {
    const out = new StringOutput(true, 100);
    const r = createTtyRenderer(out, { env: { NO_COLOR: "1" } });
    const events = scriptedRollout();
    const failed = events.findIndex((e) => e.type === "instance.failed");
    for (const e of events.slice(0, failed + 1)) r.onEvent(e); // wave 1 under way
    await sleep(450);
    await r.close();
    const text = strip(out.text);
    expect(text).not.toMatch(/✔ wave 1/);
    expect(text).toMatch(/wave 1 batch · 1\/2 done · 1 failed · paused/);
  });

  it("cuts every line of the live view at the terminal's width", async () => {
    const out = new StringOutput(true, 40);
    const r = createTtyRenderer(out, { env: { NO_COLOR: "1" } });
    for (const e of upTo("progress")) r.onEvent(e);
    r.onEvent({ type: "warning", at: 0, code: "W_LOOP_ERROR", message: "x".repeat(200) });
    await sleep(500);
    const lines = strip(out.text).split(/\r?\n/);
    expect(lines.some((l) => l.includes("W_LOOP_ERROR"))).toBe(true);
    expect(lines.filter((l) => [...l].length > 40)).toEqual([]);
    // Cut, not wrapped: the rest of the message does not spill onto lines of its own.
    expect(lines.filter((l) => /^\s*x{10,}\s*$/.test(l))).toEqual([]);
    await r.close();
  });

  it("redraws at most about 5 times a second however fast events come", async () => {
    const out = new CountingOutput(true, 120);
    const r = createTtyRenderer(out, { env: { NO_COLOR: "1" } });
    const events = upTo("wave.started");
    for (const e of events) r.onEvent(e);
    await sleep(300);
    const before = out.writes;
    const t0 = events.at(-1)?.at ?? 0;
    for (let k = 0; k < 100; k++) {
      r.onEvent({
        type: "progress",
        at: t0 + k * 1000,
        phases: { draining: 2 },
        inService: 2,
        outOfService: 2,
        connections: 1000 + k,
      });
      r.onEvent({
        type: "instance.phase",
        at: t0 + k * 1000,
        id: k % 2 ? "i-a1" : "i-b1",
        az: "eu-west-1a",
        wave: 0,
        from: "draining",
        to: k % 2 ? "deploying" : "draining",
      });
      await sleep(20);
    }
    const seconds = 100 * 0.02;
    expect((out.writes - before) / seconds).toBeLessThanOrEqual(6.5);
    await r.close();
  });

  it("heads the view with elapsed time, an ETA from the measured per-instance time, the window and the calls", async () => {
    const out = new StringOutput(true, 160);
    const r = createTtyRenderer(out, { env: { NO_COLOR: "1" } });
    for (const e of upTo("gate.waiting")) r.onEvent(e); // 2 of 4 settled after 1m31s
    await sleep(450);
    const text = strip(out.text);
    // Both canary instances took their time from leaving `pending` to done: that is the per-instance time.
    expect(text).toMatch(/1m31s elapsed · 2\/4 settled · ETA \S+ \(\S+\/instance × \d+\)/);
    expect(text).toMatch(/window (\d+\/)?2 out \(≤1\/AZ\)/);
    expect(text).toMatch(/API (\d+|–) calls, 0 throttled/);
    await r.close();
  });

  it("shows the exact devices connected when known, the capacity in service and what binds the window", async () => {
    const out = new StringOutput(true, 200);
    const r = createTtyRenderer(out, {
      env: { NO_COLOR: "1" },
      connected: () => ({ connected: 1987, total: 2000 }),
    });
    const events = upTo("wave.started");
    const started = events[0] as Extract<RolloutEvent, { type: "rollout.started" }>;
    r.onEvent({ ...started, capacity: { perInstanceLimit: 250, headroomPercent: 10 } });
    for (const e of events.slice(1)) r.onEvent(e);
    r.onEvent({
      type: "progress",
      at: started.at + 60_000,
      phases: { draining: 2, pending: 2 },
      inService: 2,
      outOfService: 2,
      connections: 2010,
      window: { out: 2, limit: 2, boundBy: "maxUnavailable 2" },
      apiCalls: 1234,
    });
    await sleep(450);
    const text = strip(out.text);
    expect(text).toContain("window 2/2 out (≤1/AZ) · bound by maxUnavailable 2");
    expect(text).toContain("devices 1,987/2,000 connected · 2 in service, 2 out");
    expect(text).not.toMatch(/≤2,010/);
    expect(text).toContain("capacity 450 (2×250 −10%) · API 1,234 calls, 0 throttled");
    await r.close();
  });

  it("without an exact count, says the metric's reading is an upper bound", async () => {
    const out = new StringOutput(true, 200);
    const r = createTtyRenderer(out, { env: { NO_COLOR: "1" } });
    for (const e of upTo("progress")) r.onEvent(e);
    await sleep(300);
    expect(strip(out.text)).toMatch(/connections ≤180 \(metric 1-min max\)/);
    await r.close();
  });

  it("keeps the Ctrl-C notice in every frame until the end, and prints it again by the final lines", async () => {
    const out = new StringOutput(true, 120);
    const r = createTtyRenderer(out, { env: { NO_COLOR: "1" } });
    const events = scriptedRollout();
    const failed = events.findIndex((e) => e.type === "instance.failed");
    for (const e of events.slice(0, failed)) r.onEvent(e);
    await sleep(250);
    r.notice?.(
      "Ctrl-C: stopping safely — nothing new starts, in-flight instances finish",
      "interrupted (Ctrl-C): stopped safely",
    );
    const mark = out.text.length;
    await sleep(700); // several redraws
    for (const e of events.slice(failed)) r.onEvent(e);
    await r.close();
    const frames = out.text
      .slice(mark)
      .split("\u001b[?2026h")
      .map(strip)
      .filter((f) => f.includes("rollout web-api"));
    expect(frames.length).toBeGreaterThanOrEqual(3);
    for (const f of frames) expect(f).toContain("Ctrl-C: stopping safely");
    const tail = strip(out.text).trimEnd().split("\n").at(-1);
    expect(tail).toContain("interrupted (Ctrl-C): stopped safely");
  });

  it("gives every wave under way a spinner, and fits the frame in the terminal's rows", async () => {
    const out = new StringOutput(true, 80);
    (out as { rows?: number }).rows = 12;
    const r = createTtyRenderer(out, { env: { NO_COLOR: "1" } });
    const t0 = Date.UTC(2026, 10, 22, 2, 0, 0);
    const n = 20;
    r.onEvent({
      type: "rollout.started",
      at: t0,
      name: "big",
      dryRun: false,
      strategy: "window",
      total: n * 2,
      waves: Array.from({ length: n }, (_, i) => ({ index: i, kind: i === 0 ? "canary" : "batch", size: 2 })),
      window: { maxUnavailable: 4, perAz: { a: 2, b: 2 } },
      maxFailed: 1,
    });
    // Waves 0–2 done, 3 and 4 both under way (the sliding window), the rest queued.
    for (let i = 0; i < 5; i++) {
      r.onEvent({
        type: "wave.started",
        at: t0 + i,
        index: i,
        kind: i === 0 ? "canary" : "batch",
        instanceIds: [`i-${i}a`, `i-${i}b`],
      });
      r.onEvent({
        type: "instance.phase",
        at: t0 + i,
        id: `i-${i}a`,
        az: "a",
        wave: i,
        from: "pending",
        to: "draining",
      });
      if (i < 3) {
        r.onEvent({
          type: "instance.phase",
          at: t0 + i,
          id: `i-${i}a`,
          az: "a",
          wave: i,
          from: "draining",
          to: "done",
        });
        r.onEvent({
          type: "instance.phase",
          at: t0 + i,
          id: `i-${i}b`,
          az: "b",
          wave: i,
          from: "pending",
          to: "done",
        });
        r.onEvent({ type: "wave.finished", at: t0 + i, index: i, succeeded: 2, failed: 0 });
      }
    }
    await sleep(450);
    const text = out.text;
    const last = strip(text.slice(text.lastIndexOf("\u001b[?2026h")))
      .split("\n")
      .filter((l) => l.trim());
    expect(last.length).toBeLessThanOrEqual(11);
    expect(last.every((l) => [...l].length <= 80)).toBe(true);
    const spin = /^\s+[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] wave (\d+)/;
    expect(last.filter((l) => spin.test(l)).map((l) => spin.exec(l)?.[1])).toEqual(["3", "4"]);
    expect(last.join("\n")).toMatch(/✔ waves 0–2 done · 6 instances/);
    expect(last.join("\n")).toMatch(/◼ waves \d+–19 · \d+ instances/);
    await r.close();
    // Stopped now: nothing drawn as done that was not, and no spinner left.
    const final = strip(out.text.slice(out.text.lastIndexOf("\u001b[?2026h")));
    expect(final).toMatch(/⏸ wave 3 batch .* · paused/);
    expect(final).not.toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] wave/);
  });
});
