/** Loading the plan from the flags every plan-consuming command shares (--var, --var-file). */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { type LoadedPlan, loadPlan } from "../plan/load.js";
import { printIssues } from "./errors.js";
import type { CliIo } from "./io.js";

export interface VarFlags {
  var?: string[];
  varFile?: string[];
}

/** commander's accumulator for repeatable flags: `--var a=1 --var b=2` → ["a=1", "b=2"]. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export async function loadPlanFromFlags(
  io: CliIo,
  file: string,
  flags: VarFlags,
  o: { requireVars: boolean; forRollout?: boolean },
): Promise<LoadedPlan> {
  const loaded = await loadPlan(file, {
    vars: flags.var ?? [],
    varFiles: flags.varFile ?? [],
    requireVars: o.requireVars,
    forRollout: o.forRollout ?? false,
  });
  // Warnings never stop a run, but they go to stderr so JSON on stdout stays parseable.
  printIssues(loaded.warnings, io.stderr);
  return loaded;
}

/** `sha256:…` of the plan file's bytes (the journal and a saved plan compare it); undefined if unreadable. */
export async function planFileHash(io: CliIo, file: string): Promise<string | undefined> {
  try {
    return `sha256:${createHash("sha256")
      .update(await readFile(resolve(io.cwd, file)))
      .digest("hex")}`;
  } catch {
    return undefined;
  }
}
