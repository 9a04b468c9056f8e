/**
 * The flags of `deploy` / `resume`, in their own module so the command (which parses them) and
 * `runDeploy` (which acts on them) both depend on it and never on each other.
 */
import type { OutputMode } from "../../report/renderer.js";
import type { VarFlags } from "../plan-input.js";
import type { TargetFlags } from "../target.js";

export interface DeployFlags extends VarFlags, TargetFlags {
  yes?: boolean;
  autoApprove?: boolean;
  dryRun?: boolean;
  output?: OutputMode;
  journalDir?: string;
}
