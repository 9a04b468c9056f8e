/** `rollwave validate <plan>`: check a plan without touching AWS. */
import type { Command } from "commander";
import { issueCountLine } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import type { CliIo } from "../io.js";
import { addVarOptions, type OutputName, textOutputOption } from "../options.js";
import { loadPlanFromFlags, type VarFlags } from "../plan-input.js";
import type { CommandResult } from "./result.js";

export function registerValidate(program: Command, io: CliIo, done: CommandResult): void {
  addVarOptions(
    program
      .command("validate")
      .description(
        "check a plan (shape, sizes, durations, variables, cross-field rules) without touching AWS",
      )
      .argument("<plan>", "plan file (YAML or JSON)")
      .addOption(
        textOutputOption('{"file","valid":true,"name","warnings":[…]}; errors stay on stderr, exit 2'),
      ),
  ).action(async (file: string, flags: VarFlags & { output?: OutputName }) => {
    // Without values, a plan can still be checked: required variables are only enforced once
    // the caller supplies some, so `validate` works on a plan meant for CI to fill in.
    const requireVars = (flags.var ?? []).length > 0 || (flags.varFile ?? []).length > 0;
    const loaded = await loadPlanFromFlags(io, file, flags, { requireVars });
    if (flags.output === "json") {
      const warnings = loaded.warnings.map((w) => ({
        source: w.source,
        ...(w.path ? { path: w.path } : {}),
        ...(w.line !== undefined ? { line: w.line, column: w.column } : {}),
        message: w.message,
        ...(w.hint ? { hint: w.hint } : {}),
      }));
      io.stdout.write(`${JSON.stringify({ file, valid: true, name: loaded.plan.name, warnings })}\n`);
    } else
      io.stdout.write(`${file}: plan ${loaded.plan.name} is valid (${issueCountLine(loaded.warnings)})\n`);
    done(ExitCode.ok);
  });
}
