import { describe, expect, it } from "vitest";
import { edit, errorsOf, load } from "./helpers.js";

const withWindow = (w: string) => edit("  maxUnavailable: 10%", `  maxUnavailable: ${w}`);
const withBake = (b: string) =>
  edit("  maxUnavailable: 10%", `  maxUnavailable: 10%\n  canary: { size: 1, bake: ${b} }`);

describe("sizes", () => {
  it.each([
    ["3", { kind: "count", count: 3 }],
    ['"3"', { kind: "count", count: 3 }],
    ["10%", { kind: "percent", percent: 10 }],
    ["2.5%", { kind: "percent", percent: 2.5 }],
    ["100%", { kind: "percent", percent: 100 }],
    ["1/az", { kind: "perAz", count: 1 }],
    ["2/AZ", { kind: "perAz", count: 2 }],
  ])("accepts %s", (text, size) => {
    expect(load(withWindow(text)).plan.rollout.maxUnavailable).toEqual(size);
  });

  it.each([
    ["101%", "'101%' is more than 100%"],
    ["ten", "'ten' is not a size"],
    ["-1", "'-1' is not a size"],
    ["1.5", "'1.5' is not a size"],
    ["1/zone", "'1/zone' is not a size"],
  ])("rejects %s with the accepted forms as a hint", (text, message) => {
    const errors = errorsOf(withWindow(text));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ path: "rollout.maxUnavailable", message, line: 8, column: 19 });
    expect(errors[0]?.hint).toBe(
      "write a count (3), a percent of the fleet (10%, at most 100) or a count per AZ (1/az)",
    );
  });
});

describe("durations", () => {
  it.each([
    ["500ms", 500],
    ["90s", 90_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["2h", 7_200_000],
    ["1d", 86_400_000],
    ["1.5m", 90_000],
    ["0", 0],
  ])("accepts %s", (text, ms) => {
    expect(load(withBake(text)).plan.rollout.canary?.bakeMs).toBe(ms);
  });

  it.each([
    ["10", "'10' has no unit"],
    ['"90"', "'90' has no unit"],
    ["5 minutes", "'5 minutes' is not a duration"],
    ["1h 30m", "'1h 30m' is not a duration"],
    ["-5m", "'-5m' is not a duration"],
  ])("rejects %s with the accepted forms as a hint", (text, message) => {
    const errors = errorsOf(withBake(text));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ path: "rollout.canary.bake", message });
    expect(errors[0]?.hint).toBe("write a number with a unit: 500ms, 90s, 5m, 1h30m, 2h, 1d");
  });
});
