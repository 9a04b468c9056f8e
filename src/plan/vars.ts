/**
 * Plan variables: declarations (`vars:`), values from `--var k=v` and `--var-file`, and
 * interpolation of `${name}` into commands as ONE shell-quoted word.
 *
 * Worked example: with `release` = `v1; reboot`, the command `install ${release}` becomes
 * `install 'v1; reboot'` — the shell sees one argument, never a second command.
 * `$${` writes a literal `${` (for shell parameter expansion: `echo $${HOME}` runs `echo ${HOME}`).
 */
import { isMap, isScalar } from "yaml";
import { quote, shown } from "../util/quote.js";
import { shellQuote } from "../util/shell.js";
import { Locator } from "./locate.js";
import { VAR_NAME_RE } from "./schema.js";
import { suggestionHint } from "./suggest.js";
import type { InputIssue, VarSpec } from "./types.js";
import { parseYamlText, readTextFileSync } from "./yaml-text.js";

/** One variable value and where it came from, so a bad value is reported at its origin. */
interface VarValue {
  name: string;
  value: string;
  /** `--var name` for a flag, or the var file's path. */
  source: string;
  line?: number;
  column?: number;
}

interface Collected<T> {
  values: T;
  issues: InputIssue[];
}

/** `["release=v1.2.3", "note=a=b"]` → values (split at the first `=`; the value may be empty). */
export function parseVarFlags(flags: readonly string[]): Collected<VarValue[]> {
  const values: VarValue[] = [];
  const issues: InputIssue[] = [];
  for (const flag of flags) {
    const eq = flag.indexOf("=");
    const name = eq < 0 ? flag : flag.slice(0, eq);
    if (eq < 0 || !VAR_NAME_RE.test(name)) {
      issues.push({
        severity: "error",
        source: "--var",
        message:
          eq < 0
            ? `'${shown(flag)}' has no '=': expected name=value`
            : `'${shown(name)}' is not a variable name`,
        hint: "write --var name=value, e.g. --var release=v1.2.3",
      });
      continue;
    }
    values.push({ name, value: flag.slice(eq + 1), source: `--var ${name}` });
  }
  return { values, issues };
}

/**
 * A var file is a YAML or JSON map of names to scalar values. Read with the failsafe schema so
 * every scalar stays the text the user wrote (`1.10` stays `1.10`, not the number 1.1).
 */
function parseVarFileText(text: string, file: string): Collected<VarValue[]> {
  const parsed = parseYamlText(text, file, { schema: "failsafe" });
  const issues = parsed.issues.filter((i) => i.severity === "error");
  const { doc, lines } = parsed;
  if (!doc || issues.length) return { values: [], issues };
  const loc = new Locator(file, doc, lines, text);
  const values: VarValue[] = [];
  if (doc.contents === null) return { values, issues };
  if (!isMap(doc.contents)) {
    issues.push(loc.issue("error", [], "a var file must be a map of name: value", "e.g. release: v1.2.3"));
    return { values, issues };
  }
  for (const pair of doc.contents.items) {
    const name = isScalar(pair.key) ? String(pair.key.value) : "";
    if (!VAR_NAME_RE.test(name)) {
      issues.push(
        loc.issue("error", [name], `'${shown(name)}' is not a variable name`, undefined, { key: true }),
      );
      continue;
    }
    const v = pair.value;
    if (!isScalar(v) || v.value === null) {
      issues.push(loc.issue("error", [name], `'${name}' must be a single value, not a map or a list`));
      continue;
    }
    const at = loc.locate([name]);
    values.push({ name, value: String(v.value), source: file, line: at.line, column: at.column });
  }
  return { values, issues };
}

/** Var files are small and read before anything else happens, so a sync read keeps callers simple. */
export function readVarFiles(files: readonly string[]): Collected<VarValue[]> {
  const values: VarValue[] = [];
  const issues: InputIssue[] = [];
  for (const file of files) {
    const read = readTextFileSync(file, "the var file");
    if ("issue" in read) {
      issues.push({ ...read.issue, hint: read.issue.hint ?? "check the --var-file path" });
      continue;
    }
    const r = parseVarFileText(read.text, file);
    values.push(...r.values);
    issues.push(...r.issues);
  }
  return { values, issues };
}

/** Reports a problem at a place in the plan file (vars.<name>…). */
type PlanIssueAt = (path: (string | number)[], message: string, hint?: string, key?: boolean) => InputIssue;

/**
 * Resolve every declared variable. Later values win: defaults, then var files in order, then
 * flags (pass `given` in that order). Missing required values are errors only when
 * `requireVars` (validate without any --var skips them).
 */
export function resolveVars(
  decls: Record<string, VarSpec>,
  given: readonly VarValue[],
  requireVars: boolean,
  at: PlanIssueAt,
): Collected<Record<string, string>> {
  const issues: InputIssue[] = [];
  // No prototype: a variable may be called `valueOf` or `constructor`.
  const values: Record<string, string> = Object.create(null);
  const origin: Record<string, VarValue> = Object.create(null);
  const names = Object.keys(decls);
  const declared = (name: string) => Object.hasOwn(decls, name);
  for (const [name, d] of Object.entries(decls)) if (d.default !== undefined) values[name] = d.default;
  for (const v of given) {
    if (!declared(v.name)) continue;
    values[v.name] = v.value;
    origin[v.name] = v;
  }
  for (const v of given) {
    if (declared(v.name)) continue;
    issues.push({
      severity: "error",
      source: v.source,
      ...(v.line !== undefined ? { line: v.line, column: v.column } : {}),
      message: `unknown variable '${shown(v.name)}': the plan does not declare it`,
      hint: names.length ? suggestionHint(v.name, names, "declared variables") : "the plan declares no vars",
    });
  }
  for (const [name, d] of Object.entries(decls)) {
    const value = values[name];
    if (value === undefined) {
      if (d.required && requireVars) {
        issues.push(
          at(
            ["vars", name],
            `required variable '${name}' has no value`,
            `pass --var ${name}=… or set it in a --var-file`,
            true,
          ),
        );
      }
      continue;
    }
    if (value.includes("\0")) {
      // No shell word (and no SSM parameter) can carry a NUL byte.
      const from = origin[name];
      issues.push({
        severity: "error",
        source: from?.source ?? "--var",
        ...(from?.line !== undefined ? { line: from.line, column: from.column } : {}),
        message: `the value for '${name}' contains a NUL byte`,
      });
      continue;
    }
    if (d.pattern === undefined) continue;
    const re = compilePattern(d.pattern);
    if (!re || re.test(value)) continue;
    const from = origin[name];
    const message = `value ${quote(value)} for '${name}' does not match its pattern ${shown(d.pattern)}`;
    if (from) {
      issues.push({
        severity: "error",
        source: from.source,
        ...(from.line !== undefined ? { line: from.line, column: from.column } : {}),
        message,
        ...(d.description ? { hint: d.description } : {}),
      });
    } else issues.push(at(["vars", name, "default"], message));
  }
  return { values: { ...values }, issues };
}

/** The pattern must match the whole value: `^v\d+$` and `v\d+` mean the same. */
function compilePattern(pattern: string): RegExp | undefined {
  try {
    return new RegExp(`^(?:${pattern})$`, "u");
  } catch {
    return undefined;
  }
}

interface Interpolated {
  text: string;
  /** `index`: where the bad reference starts in the command, for a precise column. */
  problems: { message: string; hint?: string; index: number }[];
}

/**
 * Replace `${name}` with the shell-quoted value. A reference to an undeclared name is a problem;
 * a declared name with no value (validate without --var) is left as written.
 */
export function interpolate(
  command: string,
  declared: readonly string[],
  values: Record<string, string>,
): Interpolated {
  const problems: Interpolated["problems"] = [];
  let out = "";
  let i = 0;
  while (i < command.length) {
    const dollar = command.indexOf("$", i);
    if (dollar < 0) {
      out += command.slice(i);
      break;
    }
    out += command.slice(i, dollar);
    if (command.startsWith("$${", dollar)) {
      out += "${";
      i = dollar + 3;
      continue;
    }
    if (!command.startsWith("${", dollar)) {
      out += "$";
      i = dollar + 1;
      continue;
    }
    const close = command.indexOf("}", dollar + 2);
    const name = close < 0 ? "" : command.slice(dollar + 2, close);
    if (close < 0 || !VAR_NAME_RE.test(name)) {
      const ref = close < 0 ? command.slice(dollar) : command.slice(dollar, close + 1);
      problems.push({
        index: dollar,
        message: `'${shown(ref)}' is not a plan variable reference`,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the plan syntax ${name}, shown to users
        hint: "plan variables look like ${name}; write $${ for a literal ${ (shell expansion)",
      });
      out += ref;
      i = close < 0 ? command.length : close + 1;
      continue;
    }
    i = close + 1;
    if (!declared.includes(name)) {
      problems.push({
        index: dollar,
        message: `\${${name}} names an undeclared variable`,
        hint: declared.length
          ? `${suggestionHint(name, [...declared], "declared variables")} (or write $\${${name}} for the shell's own \${${name}})`
          : `declare it under vars:, or write $\${${name}} for the shell's own \${${name}}`,
      });
      out += `\${${name}}`;
      continue;
    }
    const value = Object.hasOwn(values, name) ? values[name] : undefined;
    out += value === undefined ? `\${${name}}` : shellQuote(value);
  }
  return { text: out, problems };
}

/**
 * Checks on the `vars:` declarations themselves: names usable as `${name}`, patterns that
 * compile, and a default that would never be used.
 */
export function checkVarDecls(raw: unknown, at: PlanIssueAt, warnAt: PlanIssueAt): InputIssue[] {
  const issues: InputIssue[] = [];
  const decls = raw !== null && typeof raw === "object" ? (raw as { vars?: unknown }).vars : undefined;
  if (decls === null || typeof decls !== "object" || Array.isArray(decls)) return issues;
  for (const [name, d] of Object.entries(decls as Record<string, unknown>)) {
    if (!VAR_NAME_RE.test(name)) {
      issues.push(
        at(
          ["vars", name],
          `'${shown(name)}' is not a variable name`,
          "use letters, digits and _ (not first): release, build_id",
          true,
        ),
      );
    }
    if (d === null || typeof d !== "object") continue;
    const {
      pattern,
      required,
      default: def,
    } = d as { pattern?: unknown; required?: unknown; default?: unknown };
    if (typeof pattern === "string" && !compilePattern(pattern)) {
      issues.push(
        at(
          ["vars", name, "pattern"],
          `pattern ${shown(pattern)} is not a valid regular expression`,
          "JavaScript syntax, e.g. '^v\\d+\\.\\d+\\.\\d+$' (single-quoted in YAML)",
        ),
      );
    }
    if (required === true && def !== undefined) {
      issues.push(
        warnAt(
          ["vars", name, "default"],
          `'${name}' is required, so its default is never used`,
          "drop required: true to let the default apply",
        ),
      );
    }
  }
  return issues;
}
