/** `rollwave schema [--out file]`: the plan's JSON Schema, for yaml-language-server and editors. */
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { planJsonSchema } from "../../plan/schema.js";
import { ExitCode } from "../exit-codes.js";
import type { CliIo } from "../io.js";
import type { CommandResult } from "./result.js";

/** The exact text of `schema/plan.schema.json`; a test keeps the committed file equal to it. */
export function planSchemaText(): string {
  return `${JSON.stringify(planJsonSchema(), null, 2)}\n`;
}

export function registerSchema(program: Command, io: CliIo, done: CommandResult): void {
  program
    .command("schema")
    .description("print the JSON Schema of the plan format")
    .option("--out <file>", "write it to a file instead of stdout")
    .action(async (flags: { out?: string }) => {
      const text = planSchemaText();
      if (flags.out) {
        await writeFile(resolve(io.cwd, flags.out), text);
        io.stderr.write(`wrote ${flags.out}\n`);
      } else io.stdout.write(text);
      done(ExitCode.ok);
    });
}
