/**
 * The flags of `deploy` / `resume`, in their own module so the command (which parses them) and
 * `runDeploy` (which acts on them) both depend on it and never on each other.
 */
import type { JournalLocation } from "../../engine/journal-store.js";
import type { OutputMode } from "../../report/renderer.js";
import { shellQuote } from "../../util/shell.js";
import type { VarFlags } from "../plan-input.js";
import type { TargetFlags } from "../target.js";

export interface DeployFlags extends VarFlags, TargetFlags {
  yes?: boolean;
  autoApprove?: boolean;
  dryRun?: boolean;
  output?: OutputMode;
  journalDir?: string;
  /** `--journal s3://bucket/prefix` (or a directory): overrides the plan's `journal:`. */
  journal?: JournalLocation;
  verbose?: boolean;
  report?: string;
  /** --stop-grace in ms: how long a fast stop waits for in-flight instances before it exits. */
  stopGrace?: number;
  /** deploy only: apply this saved plan (`rollwave plan … --out`) instead of a plan file and --var. */
  plan?: string;
  /** --wait-approval in ms: wait this long at an approval gate for `rollwave approve` from elsewhere. */
  waitApproval?: number;
  /** resume only: continue although the plan file or variables changed since the journal began. */
  force?: boolean;
}

/**
 * The `rollwave resume` command that continues this run: the same plan and flags, and the journal
 * directory when it is not the default one (a temp dir under --simulate).
 * Worked example: ("p.yaml", { var: ["release=v2"], yes: true }) → "rollwave resume p.yaml --var release=v2 --yes".
 */
export function resumeCommandLine(file: string, flags: DeployFlags, journalDir?: string): string {
  const args = ["rollwave", "resume", file];
  for (const v of flags.var ?? []) args.push("--var", v);
  for (const f of flags.varFile ?? []) args.push("--var-file", f);
  if (flags.simulate === true) args.push("--simulate");
  else if (typeof flags.simulate === "string") args.push("--simulate", flags.simulate);
  if (flags.seed !== undefined) args.push("--seed", String(flags.seed));
  if (flags.timeScale !== undefined) args.push("--time-scale", String(flags.timeScale));
  if (flags.region) args.push("--region", flags.region);
  if (flags.profile) args.push("--profile", flags.profile);
  if (flags.endpointUrl) args.push("--endpoint-url", flags.endpointUrl);
  const dir = journalDir ?? flags.journalDir;
  if (dir) args.push("--journal-dir", dir);
  else if (flags.journal?.kind === "s3")
    args.push(
      "--journal",
      `s3://${flags.journal.bucket}${flags.journal.prefix ? `/${flags.journal.prefix}` : ""}`,
    );
  else if (flags.journal) args.push("--journal", flags.journal.dir);
  if (flags.simClock) args.push("--sim-clock");
  if (flags.yes) args.push("--yes");
  if (flags.autoApprove) args.push("--auto-approve");
  if (flags.waitApproval !== undefined) args.push("--wait-approval", `${flags.waitApproval}ms`);
  if (flags.output) args.push("--output", flags.output);
  if (flags.verbose) args.push("--verbose");
  if (flags.report) args.push("--report", flags.report);
  if (flags.stopGrace !== undefined) args.push("--stop-grace", `${flags.stopGrace}ms`);
  return args.map(shellQuote).join(" ");
}
