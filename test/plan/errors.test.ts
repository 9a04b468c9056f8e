import { describe, expect, it } from "vitest";
import { formatIssue, loadPlan, parsePlanText } from "../../src/plan/load.js";
import { InputError } from "../../src/plan/types.js";
import { edit, errorsOf, issuesOf, MINIMAL } from "./helpers.js";

async function failure(file: string, opts = {}): Promise<InputError> {
  try {
    await loadPlan(file, opts);
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error("expected the plan to be rejected");
}

describe("located errors", () => {
  it("reports each of five different mistakes once, at its line and column", async () => {
    const err = await failure("test/fixtures/plans/five-mistakes.yaml", { vars: ["release=v1"] });
    const errors = err.issues.filter((i) => i.severity === "error");
    expect(errors.map((i) => [i.line, i.column, i.path])).toEqual([
      [9, 25, "rollout.canary.bak"],
      [10, 13, "rollout.strategy"],
      [12, 24, "rollout.maxUnavailablePerAz"],
      [13, 23, "rollout.failures.action"],
      [17, 14, "steps.deploy.timeout"],
    ]);
    expect(errors[0]?.hint).toBe("did you mean 'bake'?");
    expect(errors[1]?.hint).toBe("did you mean 'window'?");
    expect(errors[2]?.message).toContain("more than 100%");
    expect(errors[3]?.message).toContain("steps.rollback");
    expect(errors[4]?.message).toContain("no unit");
    expect(err.message).toBe("5 problem(s) in input");
  });

  it("prints file:line:col, the field path, the message and an indented hint", async () => {
    const err = await failure("test/fixtures/plans/five-mistakes.yaml", { vars: ["release=v1"] });
    expect(formatIssue(err.issues[0]!)).toBe(
      "test/fixtures/plans/five-mistakes.yaml:9:25  rollout.canary.bak  unknown key 'bak'\n  hint: did you mean 'bake'?",
    );
  });

  it("suggests the nearest allowed key for a misspelled top-level key", () => {
    const errors = errorsOf(`${MINIMAL}helth: { stableFor: 60s }\n`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ path: "helth", line: 11, column: 1, hint: "did you mean 'health'?" });
  });

  it("lists the allowed keys when nothing is close to the unknown one", () => {
    const errors = errorsOf(edit("  maxUnavailable: 10%", "  maxUnavailable: 10%\n  colour: blue"));
    expect(errors[0]?.message).toBe("unknown key 'colour'");
    expect(errors[0]?.hint).toMatch(/^allowed keys: canary, waves, strategy, maxUnavailable/);
  });

  it("points a missing required field at the map that lacks it", () => {
    const errors = errorsOf(edit("  maxUnavailable: 10%\n", "  strategy: waves\n"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ path: "rollout.maxUnavailable", line: 8, column: 3 });
    expect(errors[0]?.message).toBe("missing required field 'maxUnavailable'");
  });

  it("locates YAML syntax errors instead of validating a half-read plan", () => {
    const issues = issuesOf(edit("  maxUnavailable: 10%", "  maxUnavailable: [10%"));
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]).toMatchObject({ severity: "error", source: "plan.yaml" });
    // The parser notices the unclosed list where the next key starts.
    expect(issues[0]?.line).toBe(9);
    expect(issues.every((i) => !i.path)).toBe(true);
  });

  it("rejects a duplicated key with its location", () => {
    const errors = errorsOf(edit("  maxUnavailable: 10%", "  maxUnavailable: 10%\n  maxUnavailable: 5%"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ line: 9 });
    expect(errors[0]?.message).toBe("duplicate key 'maxUnavailable' in rollout (first at line 8)");
    expect(errors[0]?.path).toBe("rollout.maxUnavailable");
  });

  it("tells the user to quote a tag value YAML read as a boolean", () => {
    const errors = errorsOf(edit("Service: relay", "Service: relay, Canary: true"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      path: "fleet.select.tags.Canary",
      hint: 'quote it: "true" (YAML reads it as a boolean)',
    });
  });

  it("says what a size looks like when given the wrong type", () => {
    const errors = errorsOf(edit("  maxUnavailable: 10%", "  maxUnavailable: true"));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toBe("expected a size, got a boolean (true)");
    expect(errors[0]?.hint).toContain("1/az");
  });

  it("suggests the closest enum value", () => {
    const errors = errorsOf(
      edit("  maxUnavailable: 10%", "  maxUnavailable: 10%\n  failures: { action: rolback }"),
    );
    expect(errors[0]?.message).toBe('"rolback" is not one of: rollback, pause, abort');
    expect(errors[0]?.hint).toBe("did you mean 'rollback'?");
  });

  it("rejects an empty file and a file that is not a map", () => {
    expect(errorsOf("")[0]?.message).toBe("expected a map, got nothing (null)");
    expect(errorsOf("- a\n- b\n")[0]?.message).toBe("expected a map, got a list");
  });

  it("reports a missing plan file as an input error, not a crash", async () => {
    const err = await failure("test/fixtures/plans/does-not-exist.yaml");
    expect(err.issues[0]?.message).toBe("cannot read the plan: no such file");
  });

  it("keeps every issue in reading order", () => {
    const text = edit("  maxUnavailable: 10%", "  maxUnavailable: 0\n  waves: [nope]\n  strategy: strict");
    const lines = errorsOf(text).map((i) => i.line);
    expect(lines).toEqual([...lines].sort((a, b) => (a ?? 0) - (b ?? 0)));
    expect(lines).toHaveLength(3);
  });

  it("returns warnings alongside a plan that loads", () => {
    const r = parsePlanText(
      edit("  maxUnavailable: 10%", "  maxUnavailable: 10%\n  waves: [5%, 2%]"),
      "p.yaml",
      {
        vars: ["release=v1.0.0"],
      },
    );
    expect(r.plan.name).toBe("mini");
    expect(r.warnings.map((w) => w.path)).toEqual(["rollout.waves[1]"]);
  });
});

describe("document shape", () => {
  it("rejects a file holding more than one YAML document", () => {
    const issues = issuesOf(`${MINIMAL}---\nversion: 1\n`);
    expect(issues.filter((i) => i.severity === "error")).toHaveLength(1);
    expect(issues[0]?.line).toBe(11);
  });

  it("locates an alias to an anchor that does not exist", () => {
    const errors = errorsOf("*nowhere\n");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ line: 1, column: 1 });
  });

  it("refuses an alias bomb instead of expanding it", () => {
    const levels = Array.from(
      { length: 9 },
      (_, i) => `l${i + 1}: &l${i + 1} [${Array(9).fill(`*l${i}`).join(",")}]`,
    );
    const bomb = `l0: &l0 [x]\n${levels.join("\n")}\n`;
    expect(errorsOf(bomb).length).toBeGreaterThan(0);
  });

  it("treats a bare variable declaration as required", () => {
    const text = edit("vars:\n", "vars:\n  build:\n");
    expect(errorsOf(text).map((e) => e.message)).toEqual(["required variable 'build' has no value"]);
  });
});
