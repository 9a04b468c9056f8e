import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { formatIssue } from "../../src/plan/load.js";
import { issuesOf, MINIMAL, WITH_RELEASE } from "./helpers.js";

/** Every place a plan holds a string the user wrote, as a key or a value. */
const PATHS = [
  ["name"],
  ["region"],
  ["guard", "account"],
  ["fleet", "select", "tags", "Service"],
  ["fleet", "targetGroups"],
  ["fleet", "notReady"],
  ["rollout", "maxUnavailable"],
  ["rollout", "strategy"],
  ["rollout", "waves"],
  ["rollout", "canary", "size"],
  ["rollout", "canary", "bake"],
  ["rollout", "failures", "action"],
  ["drain", "timeout"],
  ["capacity", "connections", "headroom"],
  ["steps", "deploy", "commands"],
  ["steps", "deploy", "timeout"],
  ["vars", "release", "pattern"],
  ["vars", "release", "default"],
  ["health", "alarms"],
] as const;

const HUGE = `\u202e${"z".repeat(200_000)}\u001b[2J`;

function withValue(path: readonly string[], value: unknown): string {
  const doc = parse(MINIMAL) as Record<string, unknown>;
  let at = doc;
  for (const seg of path.slice(0, -1)) {
    if (typeof at[seg] !== "object" || at[seg] === null) at[seg] = {};
    at = at[seg] as Record<string, unknown>;
  }
  const last = path[path.length - 1] as string;
  at[last] = ["targetGroups", "waves", "alarms", "commands"].includes(last) ? [value] : value;
  return stringify(doc, { lineWidth: 0 });
}

describe("a 200,000-character value anywhere", () => {
  for (const path of PATHS) {
    it(`at ${path.join(".")} is never echoed whole, nor its control characters raw`, () => {
      for (const text of [withValue(path, HUGE), withValue([...path.slice(0, -1), HUGE], "x")]) {
        const issues = issuesOf(text, { ...WITH_RELEASE, vars: ["release=v1.2.3"] });
        for (const i of issues) {
          const line = formatIssue(i);
          expect(line.length, line.slice(0, 300)).toBeLessThan(1200);
          expect(line).not.toContain("\u001b");
          expect(line).not.toContain("\u202e");
        }
      }
    });
  }

  it("in a --var value is cut and escaped", () => {
    const issues = issuesOf(MINIMAL, { vars: [`release=${HUGE}`] });
    expect(issues).toHaveLength(1);
    expect(formatIssue(issues[0] as (typeof issues)[0]).length).toBeLessThan(400);
  });
});
