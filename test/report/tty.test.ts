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
    const r = createTtyRenderer(out, { env: { NO_COLOR: "1" }, maxWaves: 1 });
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

  it("heads the view with elapsed time, an ETA from the pace so far and the window", async () => {
    const out = new StringOutput(true, 160);
    const r = createTtyRenderer(out, { env: { NO_COLOR: "1" } });
    for (const e of upTo("gate.waiting")) r.onEvent(e); // 2 of 4 settled after 1m31s
    await sleep(450);
    expect(strip(out.text)).toMatch(/1m31s · ETA 1m31s · 2\/4 settled · window 2 \(≤1\/AZ\)/);
    await r.close();
  });
});
