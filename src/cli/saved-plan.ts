/**
 * The saved plan on the command line: `plan --out plan.json` writes it, `deploy --plan plan.json`
 * reads it back, loads the plan file it names with its variables, and, once the fleet is discovered
 * again, refuses (exit 2, before any mutating call) when anything differs. The format and the
 * comparison are src/rollout/saved-plan.ts; docs/saved-plan.md describes both.
 */
import { readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Fleet } from "../fleet/types.js";
import type { LoadedPlan } from "../plan/load.js";
import {
  type PlanSnapshot,
  parseSavedPlan,
  type SavedPlan,
  savedPlanChanges,
  savePlan,
} from "../rollout/saved-plan.js";
import { shown } from "../util/quote.js";
import type { WavePlan } from "../waves/types.js";
import type { DeployFlags } from "./commands/deploy-flags.js";
import { printIssues, UsageError } from "./errors.js";
import type { CliIo } from "./io.js";
import { loadPlanFromFlags, planFileHash } from "./plan-input.js";
import { rollwaveVersion } from "./version.js";

/** What `deploy` rolls: a plan file with `--var`s, or a saved plan and the plan file it names. */
export interface DeployInput {
  loaded: LoadedPlan;
  /** The plan file: the positional argument, or the one the saved plan names. */
  file: string;
  /** The flags, with a saved plan's variables as `--var` (so the printed resume command has them). */
  flags: DeployFlags;
  saved?: { file: string; plan: SavedPlan };
}

/** The snapshot `plan --out` saves and `deploy --plan` compares against. */
export async function planSnapshot(
  io: CliIo,
  loaded: LoadedPlan,
  fleet: Fleet,
  wavePlan: WavePlan,
): Promise<PlanSnapshot> {
  const hash = await planFileHash(io, loaded.file);
  if (!hash) {
    throw new UsageError(
      `cannot read the plan file ${loaded.file} to hash it`,
      "a saved plan names a plan file on disk",
    );
  }
  return {
    planFile: loaded.file,
    planHash: hash,
    planName: loaded.plan.name,
    vars: loaded.plan.values,
    fleet,
    wavePlan,
  };
}

export async function writeSavedPlan(io: CliIo, out: string, snapshot: PlanSnapshot): Promise<void> {
  const saved = savePlan(snapshot, { version: rollwaveVersion(), now: Date.now() });
  await writeFile(resolve(io.cwd, out), `${JSON.stringify(saved, null, 2)}\n`);
  io.stderr.write(`saved the plan to ${out}: apply exactly this with \`rollwave deploy --plan ${out}\`\n`);
}

/**
 * The plan a deploy rolls. `--plan` replaces the plan file argument and `--var`/`--var-file`: the
 * saved plan names its plan file and holds the variables it was reviewed with; giving them again
 * is a usage error (exit 2) rather than a silent choice between two sources.
 */
export async function loadDeployInput(
  io: CliIo,
  file: string | undefined,
  flags: DeployFlags,
  o: { interactive: boolean },
): Promise<DeployInput> {
  const load = (f: string, fl: DeployFlags) =>
    loadPlanFromFlags(io, f, fl, { requireVars: true, forRollout: !flags.dryRun });
  let input: DeployInput;
  if (flags.plan === undefined) {
    if (file === undefined) {
      throw new UsageError(
        "deploy needs a plan: a plan file, or a saved plan with --plan",
        "rollwave deploy plans/x.yaml --var release=v2, or rollwave deploy --plan plan.json (from `rollwave plan … --out plan.json`)",
      );
    }
    input = { loaded: await load(file, flags), file, flags };
  } else {
    const mixed = [
      file !== undefined ? `the plan file ${file}` : "",
      flags.var?.length ? "--var" : "",
      flags.varFile?.length ? "--var-file" : "",
    ].filter(Boolean);
    if (mixed.length > 0) {
      throw new UsageError(
        `--plan applies a saved plan as it was reviewed: it names its plan file and variables, so ${mixed.join(" and ")} cannot be given with it`,
        `drop ${mixed.join(" and ")}, or drop --plan and plan afresh (\`rollwave plan … --out ${flags.plan}\` to save a new one)`,
      );
    }
    const saved = await readSavedPlan(io, flags.plan);
    if (saved.target.source === "simulator" && !flags.simulate) {
      throw new UsageError(
        `${flags.plan} was saved against a simulated fleet`,
        "pass --simulate with the same fleet file and --seed as `rollwave plan` had",
      );
    }
    const withVars: DeployFlags = { ...flags, var: Object.entries(saved.vars).map(([k, v]) => `${k}=${v}`) };
    input = {
      loaded: await load(saved.plan.file, withVars),
      file: saved.plan.file,
      flags: withVars,
      saved: { file: flags.plan, plan: saved },
    };
  }
  warnUnapprovable(io, input.loaded, flags, o.interactive);
  return input;
}

async function readSavedPlan(io: CliIo, file: string): Promise<SavedPlan> {
  let text: string;
  try {
    text = await readFile(resolve(io.cwd, file), "utf8");
  } catch (e) {
    throw new UsageError(
      `--plan: cannot read ${shown(file)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      "write one with `rollwave plan <plan> --out <file>`",
    );
  }
  return parseSavedPlan(text, file);
}

/**
 * A run-context rule, so it lives here rather than in the plan validator: an approval gate with no
 * one to answer it (stdin not a terminal, no --auto-approve) pauses the rollout after the canary.
 */
function warnUnapprovable(io: CliIo, loaded: LoadedPlan, flags: DeployFlags, interactive: boolean): void {
  if (!loaded.plan.rollout.canary?.approve || interactive || flags.autoApprove || flags.dryRun) return;
  // --wait-approval: the gate waits for `rollwave approve` from elsewhere instead of pausing.
  if (flags.waitApproval !== undefined) return;
  const at = loaded.locate("rollout.canary.approve");
  printIssues(
    [
      {
        severity: "warning",
        source: loaded.file,
        ...(at ? { line: at.line, column: at.column } : {}),
        path: "rollout.canary.approve",
        message:
          "this run cannot be approved interactively: it will pause after the canary and exit with code 3",
        hint: "continue with `rollwave resume <plan>` once the canary looks good, or pass --auto-approve",
      },
    ],
    io.stderr,
  );
}

/**
 * `deploy --plan`: the fleet and plan as they are now against the saved ones. Any difference is a
 * refusal listing each one (exit 2); called before the journal, the fleet lock or any mutating call.
 */
export async function checkSavedPlan(
  io: CliIo,
  input: DeployInput,
  fleet: Fleet,
  wavePlan: WavePlan,
): Promise<void> {
  if (!input.saved) return;
  const changes = savedPlanChanges(input.saved.plan, await planSnapshot(io, input.loaded, fleet, wavePlan));
  if (changes.length === 0) return;
  throw new UsageError(
    `the fleet or the plan changed since ${input.saved.file} was saved; nothing was changed:\n${changes.map((c) => `  ${c}`).join("\n")}`,
    `review the rollout again: \`rollwave plan ${input.file} … --out ${input.saved.file}\`, then deploy that`,
  );
}
