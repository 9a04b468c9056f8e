// biome-ignore-all lint/suspicious/noTemplateCurlyInString: plans write variables as ${name}
import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { interpolate, parseVarFlags } from "../../src/plan/vars.js";
import { edit, errorsOf, issuesOf, load, MINIMAL } from "./helpers.js";

const TWO_VARS = edit(
  "vars:\n  release: { pattern: '^v\\d+\\.\\d+\\.\\d+$' }",
  "vars:\n  release: { pattern: '^v\\d+\\.\\d+\\.\\d+$' }\n  channel: { default: stable, pattern: 'stable|beta' }",
).replace('["install ${release}"]', '["install ${release} --channel ${channel}"]');

/** What `/bin/sh` receives as arguments after interpolation: printf prints each one, NUL-terminated. */
function shellWords(command: string): string[] {
  const out = execFileSync("/bin/sh", ["-c", command], { encoding: "utf8" });
  return out.split("\0").slice(0, -1);
}

function planWithCommand(command: string): string {
  return edit(
    '["install ${release}"]',
    JSON.stringify([command]),
    edit("vars:\n  release:", "vars:\n  v: {}\n  release:"),
  );
}

describe("variables", () => {
  it("interpolates a value as a single shell word", () => {
    const plan = load(MINIMAL, { vars: ["release=v1.2.3"] }).plan;
    expect(plan.steps.deploy.commands).toEqual(["install v1.2.3"]);
    expect(plan.values).toEqual({ release: "v1.2.3" });
  });

  it.each([
    ["'; echo INJECTED #"],
    ["$(echo INJECTED)"],
    ["`echo INJECTED`"],
    ['"'],
    ["it's"],
    ["line1\nline2"],
    ["*"],
    ["-n"],
    ["--help"],
    ["$HOME ${HOME}"],
    ["a b\tc"],
    ["\\"],
    [""],
    ["; rm -rf /tmp/rollwave-never-here"],
    ["ütf-8 ✓"],
  ])("passes the hostile value %j through /bin/sh unchanged", (value) => {
    const plan = load(planWithCommand("printf '%s\\0' ${v}"), {
      vars: ["release=v1.2.3", `v=${value}`],
    }).plan;
    expect(shellWords(plan.steps.deploy.commands[0]!)).toEqual([value]);
  });

  it("keeps any string one word through /bin/sh (property)", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 30 }).filter((s) => !s.includes("\0")),
        (value) => {
          const cmd = interpolate("printf '%s\\0' ${v}", ["v"], { v: value }).text;
          expect(shellWords(cmd)).toEqual([value]);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("writes a literal ${ as $${ and leaves plain $VARS to the shell", () => {
    const plan = load(planWithCommand("echo $${HOME} $HOME ${v}"), { vars: ["release=v1.2.3", "v=x"] }).plan;
    expect(plan.steps.deploy.commands[0]).toBe("echo ${HOME} $HOME x");
  });

  it("rejects a reference to an undeclared variable, suggesting the declared one", () => {
    const errors = errorsOf(edit("install ${release}", "install ${relase}"));
    expect(errors).toHaveLength(1);
    // Points at the `$` of the bad reference inside the quoted command.
    expect(errors[0]).toMatchObject({ path: "steps.deploy.commands[0]", line: 10, column: 33 });
    expect(errors[0]?.hint).toMatch(/^did you mean 'release'\?/);
  });

  it("rejects shell expansion syntax that looks like a variable, pointing to $${", () => {
    const errors = errorsOf(edit("install ${release}", "install ${release} ${HOME:-/root}"));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toBe("'${HOME:-/root}' is not a plan variable reference");
    expect(errors[0]?.hint).toContain("$${");
  });

  it("rejects a value that fails its pattern, showing the pattern and the flag", () => {
    const errors = errorsOf(MINIMAL, { vars: ["release=1.2.3"] });
    expect(errors).toEqual([
      expect.objectContaining({
        source: "--var release",
        message: expect.stringContaining("^v\\d+\\.\\d+\\.\\d+$"),
      }),
    ]);
  });

  it("matches patterns against the whole value", () => {
    expect(errorsOf(TWO_VARS, { vars: ["release=v1.2.3", "channel=stable-ish"] })).toHaveLength(1);
    expect(errorsOf(TWO_VARS, { vars: ["release=v1.2.3", "channel=beta"] })).toHaveLength(0);
  });

  it("requires a variable without a default, at its declaration", () => {
    const errors = errorsOf(MINIMAL, {});
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ path: "vars.release", line: 4, column: 3 });
    expect(errors[0]?.hint).toContain("--var release=");
  });

  it("does not require values when asked not to (validate without --var)", () => {
    const plan = load(MINIMAL, { requireVars: false }).plan;
    expect(plan.steps.deploy.commands).toEqual(["install ${release}"]);
  });

  it("uses a default when no value is given and lets explicit required: false go unset", () => {
    const plan = load(TWO_VARS, { vars: ["release=v1.2.3"] }).plan;
    expect(plan.steps.deploy.commands).toEqual(["install v1.2.3 --channel stable"]);
    expect(plan.vars.channel).toMatchObject({ required: false, default: "stable" });
  });

  it("rejects an unknown variable given on the command line, suggesting the declared one", () => {
    const errors = errorsOf(MINIMAL, { vars: ["release=v1.2.3", "relese=v2.0.0"] });
    expect(errors).toEqual([
      expect.objectContaining({ source: "--var relese", hint: "did you mean 'release'?" }),
    ]);
  });

  it("rejects a malformed --var naming the flag", () => {
    const r = parseVarFlags(["release", "=x", "ok=a=b", "empty="]);
    expect(r.issues.map((i) => i.source)).toEqual(["--var", "--var"]);
    expect(r.issues[0]?.message).toBe("'release' has no '=': expected name=value");
    expect(r.values).toEqual([
      { name: "ok", value: "a=b", source: "--var ok" },
      { name: "empty", value: "", source: "--var empty" },
    ]);
  });

  it("reads var files, later files and then flags winning", () => {
    const files = ["test/fixtures/plans/vars-good.yaml"];
    expect(load(TWO_VARS, { varFiles: files }).plan.steps.deploy.commands[0]).toBe(
      "install v1.10.0 --channel beta",
    );
    expect(load(TWO_VARS, { varFiles: files, vars: ["channel=stable"] }).plan.values).toEqual({
      release: "v1.10.0",
      channel: "stable",
    });
  });

  it("locates every problem inside a var file", () => {
    const issues = issuesOf(TWO_VARS, { varFiles: ["test/fixtures/plans/vars-bad.yaml"] });
    const fromFile = issues.filter((i) => i.source === "test/fixtures/plans/vars-bad.yaml");
    expect(fromFile.map((i) => [i.line, i.column])).toEqual([
      [2, 10],
      [3, 9],
      [4, 10],
    ]);
    expect(fromFile[0]?.message).toContain("does not match");
    expect(fromFile[1]?.hint).toBe("did you mean 'release'?");
    expect(fromFile[2]?.message).toContain("single value");
  });

  it("rejects a value holding a NUL byte, which no shell word can carry", () => {
    const errors = errorsOf(MINIMAL, { vars: ["release=v1.2.3\0"] });
    expect(errors.map((e) => e.message)).toEqual(["the value for 'release' contains a NUL byte"]);
  });

  it("reports a var file that cannot be read", () => {
    const errors = errorsOf(MINIMAL, {
      varFiles: ["test/fixtures/plans/nope.yaml"],
      vars: ["release=v1.2.3"],
    });
    expect(errors[0]).toMatchObject({
      source: "test/fixtures/plans/nope.yaml",
      message: "cannot read the var file: no such file",
      hint: "check the --var-file path",
    });
  });

  it("rejects a declared name that cannot be referenced and a pattern that does not compile", () => {
    const text = edit("vars:\n", "vars:\n  build-id: {}\n  tag: { pattern: '(' }\n");
    const errors = errorsOf(text, { vars: ["release=v1.2.3"], requireVars: false });
    expect(errors.map((e) => e.path)).toEqual(["vars.build-id", "vars.tag.pattern"]);
  });
});
