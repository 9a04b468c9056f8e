import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/util/clock.js";
import { formatDuration, parseDuration } from "../../src/util/duration.js";
import { shellQuote } from "../../src/util/shell.js";
import { parseSize, resolveSize } from "../../src/util/size.js";

describe("ManualClock", () => {
  it("wakes sleepers in deadline order and only when time reaches them", async () => {
    const clock = new ManualClock(1_000);
    const woke: string[] = [];
    void clock.sleep(500).then(() => woke.push(`b@${clock.now()}`));
    void clock.sleep(100).then(() => woke.push(`a@${clock.now()}`));
    await clock.advance(99);
    expect(woke).toEqual([]);
    await clock.advance(1_000);
    expect(woke).toEqual(["a@1100", "b@1500"]);
    expect(clock.now()).toBe(2_099);
  });

  it("rejects a sleep when its signal aborts, so no wait is without an abort path", async () => {
    const clock = new ManualClock();
    const ac = new AbortController();
    const p = clock.sleep(60_000, ac.signal);
    ac.abort(new Error("stop"));
    await expect(p).rejects.toThrow("stop");
    expect(clock.pending).toBe(0);
  });
});

describe("durations", () => {
  it.each([
    ["90s", 90_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["250ms", 250],
    ["0", 0],
  ])("parses %s", (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(["", "5", "m5", "1x", "-5s", "5 m"])("rejects %j", (text) =>
    expect(parseDuration(text)).toBeUndefined(),
  );

  it("formats compactly", () => {
    expect(formatDuration(5_400_000)).toBe("1h30m");
    expect(formatDuration(90_000)).toBe("1m30s");
  });
});

describe("sizes", () => {
  it("parses counts, percents and per-AZ sizes", () => {
    expect(parseSize("3")).toEqual({ kind: "count", count: 3 });
    expect(parseSize(3)).toEqual({ kind: "count", count: 3 });
    expect(parseSize("12.5%")).toEqual({ kind: "percent", percent: 12.5 });
    expect(parseSize("1/az")).toEqual({ kind: "perAz", count: 1 });
    expect(parseSize("101%")).toBeUndefined();
    expect(parseSize("-1")).toBeUndefined();
  });

  it("resolves against a fleet, never above the total and at least the minimum", () => {
    expect(resolveSize({ kind: "percent", percent: 10 }, 25, 3)).toBe(2);
    expect(resolveSize({ kind: "percent", percent: 1 }, 25, 3)).toBe(1);
    expect(resolveSize({ kind: "perAz", count: 1 }, 1000, 3)).toBe(3);
    expect(resolveSize({ kind: "count", count: 150 }, 100, 3)).toBe(100);
  });
});

describe("shellQuote", () => {
  it("leaves plain words alone and makes hostile values one literal word", () => {
    expect(shellQuote("v1.2.3")).toBe("v1.2.3");
    expect(shellQuote("a b")).toBe("'a b'");
    expect(shellQuote("x'; rm -rf / #")).toBe(`'x'\\''; rm -rf / #'`);
    expect(shellQuote("")).toBe("''");
  });
});
