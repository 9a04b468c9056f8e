/**
 * Load a plan: parse YAML or JSON with positions, validate shape (zod), variables and cross-field
 * rules, collect EVERY problem, then normalize into `Plan`. A plan with any error never leaves
 * here: it throws `InputError` holding all issues (errors and warnings), exit code 2 in the CLI.
 */

import { shown } from "../util/quote.js";
import { commandPaths, crossFieldChecks } from "./checks.js";
import { type Located, Locator, type PathSegment } from "./locate.js";
import { declaredVars, normalizePlan } from "./normalize.js";
import { get } from "./raw.js";
import { planInputSchema } from "./schema.js";
import { InputError, type InputIssue, type Plan } from "./types.js";
import { checkVarDecls, interpolate, parseVarFlags, readVarFiles, resolveVars } from "./vars.js";
import { parseYamlText, readTextFile } from "./yaml-text.js";
import { fromZodIssues } from "./zod-issues.js";

export interface LoadPlanOptions {
  /** Raw `--var` flags, `name=value`. */
  vars?: string[];
  /** `--var-file` paths (YAML or JSON maps), applied in order; --var flags win over them. */
  varFiles?: string[];
  /** Default true. `rollwave validate` passes false when no --var/--var-file was given. */
  requireVars?: boolean;
  /** Loading for a real rollout (deploy/resume without --dry-run): what only a run would trip on is an error. */
  forRollout?: boolean;
}

export interface LoadedPlan {
  plan: Plan;
  /** Warnings only (a plan with errors throws). */
  warnings: InputIssue[];
  file: string;
  /**
   * Where a field is written: `rollout.waves[1]` → its line and column. A field the plan leaves
   * out (a default) points at its parent; a path outside the plan (`instances`) is undefined.
   */
  locate(path: string): Located | undefined;
}

/**
 * Problems found after loading (the wave planner's, which only know a field's path) located in
 * the plan file, so they read `plan.yaml:12:5  rollout.canary.size  …` like the loader's own.
 */
export function locatePlanIssues(err: unknown, loaded: Pick<LoadedPlan, "file" | "locate">): unknown {
  if (!InputError.isInputError(err)) return err;
  return new InputError(
    err.issues.map((i) => {
      if (i.source !== loaded.file || i.line !== undefined || !i.path) return i;
      const at = loaded.locate(i.path);
      return at ? { ...i, line: at.line, column: at.column } : i;
    }),
  );
}

/** `rollout.waves[1]` → ["rollout", "waves", 1]. */
function parsePath(path: string): PathSegment[] {
  const out: PathSegment[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(m[1] as string);
  }
  return out;
}

export async function loadPlan(file: string, opts: LoadPlanOptions = {}): Promise<LoadedPlan> {
  return parsePlanText(await readTextFile(file, "the plan"), file, opts);
}

/** Same as `loadPlan`, from text already in memory (var files are still read from disk). */
export function parsePlanText(text: string, file: string, opts: LoadPlanOptions = {}): LoadedPlan {
  const { doc, lines, issues } = parseYamlText(text, file);
  if (!doc || issues.some((i) => i.severity === "error")) throw new InputError(sortIssues(issues, file));

  const loc = new Locator(file, doc, lines, text);
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (e) {
    // e.g. an alias to an anchor that does not exist, an alias bomb past the alias limit, or
    // aliases nesting each other too deep to expand.
    const message =
      e instanceof RangeError
        ? "nesting too deep: aliases expand into too many levels of maps and lists"
        : shown((e as Error).message, 200);
    throw new InputError([{ ...loc.issue("error", [], message), severity: "error" }]);
  }
  const at =
    (sev: InputIssue["severity"]) => (path: PathSegment[], message: string, hint?: string, key?: boolean) =>
      loc.issue(sev, path, message, hint, { key: key ?? false });

  const parsed = planInputSchema.safeParse(raw);
  if (!parsed.success) issues.push(...fromZodIssues(parsed.error.issues, raw, loc));
  issues.push(...checkVarDecls(raw, at("error"), at("warning")));
  issues.push(...crossFieldChecks(raw, loc, opts));

  // Variables: defaults < var files (in order) < --var flags.
  const decls = declaredVars(safeVarsInput(raw));
  const files = readVarFiles(opts.varFiles ?? []);
  const flags = parseVarFlags(opts.vars ?? []);
  issues.push(...files.issues, ...flags.issues);
  const resolved = resolveVars(
    decls,
    [...files.values, ...flags.values],
    opts.requireVars ?? true,
    at("error"),
  );
  issues.push(...resolved.issues);
  const names = Object.keys(decls);
  for (const c of commandPaths(raw)) {
    for (const p of interpolate(c.text, names, resolved.values).problems)
      issues.push(loc.issue("error", c.path, p.message, p.hint, { index: p.index }));
  }

  const sorted = sortIssues(issues, file);
  if (!parsed.success || sorted.some((i) => i.severity === "error")) throw new InputError(sorted);
  const locate = (path: string): Located | undefined => {
    const segs = parsePath(path);
    if (segs.length === 0 || get(raw, segs.slice(0, 1)) === undefined) return undefined;
    return loc.locate(segs);
  };
  return {
    plan: normalizePlan(parsed.data, resolved.values),
    warnings: sorted,
    file,
    locate,
  };
}

/**
 * `plans/x.yaml:12:5  rollout.canary.size  '1/zone' is not a size`
 * `  hint: write a count (3), a percent of the fleet (10%, at most 100) or a count per AZ (1/az)`
 */
export function formatIssue(issue: InputIssue): string {
  const where =
    issue.line === undefined ? issue.source : `${issue.source}:${issue.line}:${issue.column ?? 1}`;
  const parts = [where];
  if (issue.path) parts.push(capped(issue.path));
  const message = capped(issue.message);
  parts.push(issue.severity === "warning" ? `warning: ${message}` : message);
  const head = parts.join("  ");
  return issue.hint ? `${head}\n  hint: ${capped(issue.hint)}` : head;
}

/**
 * A last guard for terminals and CI logs: every value a message quotes is already cut to
 * MAX_SHOWN (util/quote.ts), so only a message built without that could be this long.
 */
function capped(text: string, max = 1000): string {
  return text.length > max ? `${text.slice(0, max)}… (cut at ${max} characters)` : text;
}

/**
 * The plan file's problems first, then each var file's and the flags', in the order the sources
 * were given; inside a file, in reading order.
 */
function sortIssues(issues: InputIssue[], file: string): InputIssue[] {
  const order = new Map<string, number>([[file, 0]]);
  for (const i of issues) if (!order.has(i.source)) order.set(i.source, order.size);
  return issues
    .map((issue, n) => ({ issue, n }))
    .sort((a, b) => {
      const r = (order.get(a.issue.source) ?? 0) - (order.get(b.issue.source) ?? 0);
      if (r) return r;
      const d = (a.issue.line ?? 0) - (b.issue.line ?? 0) || (a.issue.column ?? 0) - (b.issue.column ?? 0);
      return d || a.n - b.n;
    })
    .map((x) => x.issue);
}

/** The `vars:` part read leniently, so variables still resolve when some other part is broken. */
function safeVarsInput(raw: unknown): {
  vars?: Record<string, { required?: boolean; default?: string } | null>;
} {
  const vars = raw !== null && typeof raw === "object" ? (raw as { vars?: unknown }).vars : undefined;
  if (vars === null || typeof vars !== "object" || Array.isArray(vars)) return {};
  const out: Record<string, { required?: boolean; pattern?: string; default?: string } | null> = {};
  for (const [k, v] of Object.entries(vars as Record<string, unknown>)) {
    if (v === null || typeof v !== "object") {
      out[k] = null;
      continue;
    }
    const d = v as Record<string, unknown>;
    out[k] = {
      ...(typeof d.required === "boolean" ? { required: d.required } : {}),
      ...(typeof d.pattern === "string" ? { pattern: d.pattern } : {}),
      ...(typeof d.default === "string" ? { default: d.default } : {}),
    };
  }
  return { vars: out };
}
