import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { parsePlanText } from "../../src/plan/load.js";
import { InputError } from "../../src/plan/types.js";
import { MINIMAL, WITH_RELEASE } from "./helpers.js";

/** Either a plan or an InputError with at least one located error: never a crash, never a half-plan. */
function outcome(text: string): "plan" | "rejected" {
  try {
    parsePlanText(text, "p.yaml", WITH_RELEASE);
    return "plan";
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    const errors = e.issues.filter((i) => i.severity === "error");
    expect(errors.length).toBeGreaterThan(0);
    for (const i of errors) expect(i.source === "p.yaml" ? i.line : 1).toBeGreaterThan(0);
    return "rejected";
  }
}

const PATHS = [
  ["name"],
  ["region"],
  ["fleet"],
  ["fleet", "select"],
  ["fleet", "select", "tags"],
  ["rollout"],
  ["rollout", "maxUnavailable"],
  ["rollout", "waves"],
  ["rollout", "canary"],
  ["steps", "deploy"],
  ["steps", "deploy", "commands"],
  ["vars", "release"],
  ["vars"],
  ["health"],
] as const;

describe("robustness", () => {
  it("rejects, never crashes on, any value put anywhere in a valid plan", () => {
    fc.assert(
      fc.property(fc.constantFrom(...PATHS), fc.jsonValue(), (path, value) => {
        const doc = parse(MINIMAL) as Record<string, unknown>;
        let at = doc;
        for (const seg of path.slice(0, -1)) {
          if (typeof at[seg] !== "object" || at[seg] === null) at[seg] = {};
          at = at[seg] as Record<string, unknown>;
        }
        at[path[path.length - 1] as string] = value;
        outcome(stringify(doc));
      }),
      { numRuns: 120 },
    );
  });

  it("rejects, never crashes on, arbitrary text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        expect(outcome(text)).toBe("rejected");
      }),
      { numRuns: 200 },
    );
  });
});
