// biome-ignore-all lint/suspicious/noTemplateCurlyInString: plans write variables as ${name}
import { type LoadedPlan, type LoadPlanOptions, parsePlanText } from "../../src/plan/load.js";
import { InputError, type InputIssue } from "../../src/plan/types.js";

/** A small valid plan; tests change one thing at a time. */
export const MINIMAL = `version: 1
name: mini
vars:
  release: { pattern: '^v\\d+\\.\\d+\\.\\d+$' }
fleet:
  select: { tags: { Service: relay } }
rollout:
  maxUnavailable: 10%
steps:
  deploy: { commands: ["install \${release}"] }
`;

export const WITH_RELEASE: LoadPlanOptions = { vars: ["release=v1.2.3"] };

/** Every issue the loader reports for this text (errors and warnings), or [] when it loads clean. */
export function issuesOf(
  text: string,
  opts: LoadPlanOptions = WITH_RELEASE,
  file = "plan.yaml",
): InputIssue[] {
  try {
    return parsePlanText(text, file, opts).warnings;
  } catch (e) {
    if (e instanceof InputError) return e.issues;
    throw e;
  }
}

export function errorsOf(text: string, opts: LoadPlanOptions = WITH_RELEASE): InputIssue[] {
  return issuesOf(text, opts).filter((i) => i.severity === "error");
}

export function warningsOf(text: string, opts: LoadPlanOptions = WITH_RELEASE): InputIssue[] {
  return issuesOf(text, opts).filter((i) => i.severity === "warning");
}

export function load(text: string, opts: LoadPlanOptions = WITH_RELEASE): LoadedPlan {
  return parsePlanText(text, "plan.yaml", opts);
}

/** MINIMAL with a line replaced or extra YAML appended under a top-level key. */
export function edit(from: string, to: string, base = MINIMAL): string {
  if (!base.includes(from)) throw new Error(`test setup: '${from}' not in plan`);
  return base.replace(from, () => to);
}
