/** `rollwave validate <plan>`: check a plan without touching AWS. */
import type { Command } from "commander";
import { issueCountLine } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import type { CliIo } from "../io.js";
import { addVarOptions } from "../options.js";
import { loadPlanFromFlags, type VarFlags } from "../plan-input.js";
import type { CommandResult } from "./result.js";

export function registerValidate(program: Command, io: CliIo, done: CommandResult): void {
  addVarOptions(
    program
      .command("validate")
      .description(
        "check a plan (shape, sizes, durations, variables, cross-field rules) without touching AWS",
      )
      .argument("<plan>", "plan file (YAML or JSON)"),
  ).action(async (file: string, flags: VarFlags) => {
    // Without values, a plan can still be checked: required variables are only enforced once
    // the caller supplies some, so `validate` works on a plan meant for CI to fill in.
    const requireVars = (flags.var ?? []).length > 0 || (flags.varFile ?? []).length > 0;
    const loaded = await loadPlanFromFlags(io, file, flags, { requireVars });
    io.stdout.write(`${file}: plan ${loaded.plan.name} is valid (${issueCountLine(loaded.warnings)})\n`);
    done(ExitCode.ok);
  });
}
