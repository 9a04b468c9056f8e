/**
 * `rollwave plan <plan>`: the dry-run preview. Discovers the fleet through a read-only AWS
 * connection (no mutating method exists on it) or reads `--inventory`, plans the waves and prints
 * the table, or one JSON document with `--output json`.
 *
 * The AWS SDK, the simulator and the engine are imported on first use, so `validate`, `schema`
 * and `--help` start fast and never load them.
 */
import type { Command } from "commander";
import type { Fleet } from "../../fleet/types.js";
import type { Plan } from "../../plan/types.js";
import { colorEnabled, makeChalk } from "../../report/output.js";
import { buildPlanPreview, formatPlanPreview } from "../../report/preview.js";
import { summarizeFleet } from "../../waves/summary.js";
import { UsageError } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import type { CliIo } from "../io.js";
import { addAwsOptions, addVarOptions, outputOption } from "../options.js";
import { loadPlanFromFlags, planWavesAt, type VarFlags } from "../plan-input.js";
import { discoverTargetFleet, openTarget, type TargetFlags } from "../target.js";
import type { CommandResult } from "./result.js";

export interface FleetFlags extends TargetFlags {
  inventory?: string;
}

/** The fleet from an inventory file, or discovered read-only from AWS / the simulator. */
export async function readFleet(
  io: CliIo,
  plan: Plan,
  flags: FleetFlags,
): Promise<{ fleet: Fleet; label: string; close: () => Promise<void> }> {
  if (flags.inventory) {
    if (flags.simulate || flags.endpointUrl) {
      throw new UsageError(
        "--inventory plans offline; it cannot be combined with --simulate or --endpoint-url",
      );
    }
    const { loadInventory } = await import("../../fleet/inventory.js");
    const fleet = await loadInventory(flags.inventory, plan.fleet);
    return { fleet, label: `inventory ${flags.inventory}`, close: async () => {} };
  }
  const { createReadOnlyAws } = await import("../../aws/connect.js");
  const target = await openTarget(io, plan, flags);
  const aws = createReadOnlyAws(target.aws);
  try {
    const fleet = await discoverTargetFleet(io, target, plan, aws.reader);
    return {
      fleet,
      label: target.label,
      close: async () => {
        aws.close();
        await target.close();
      },
    };
  } catch (err) {
    aws.close();
    await target.close();
    throw err;
  }
}

export function registerPlan(program: Command, io: CliIo, done: CommandResult): void {
  const cmd = program
    .command("plan")
    .description("preview the waves a deploy would run: discovers the fleet read-only, changes nothing")
    .argument("<plan>", "plan file (YAML or JSON)")
    .option(
      "--inventory <file>",
      "plan offline from a JSON or YAML inventory (docs/inventory.md) instead of discovering the fleet",
    );
  addVarOptions(cmd);
  addAwsOptions(cmd);
  cmd
    .addOption(outputOption(["table", "json"], "table (default) or one JSON document").default("table"))
    .action(async (file: string, flags: VarFlags & FleetFlags & { output: "table" | "json" }) => {
      const loaded = await loadPlanFromFlags(io, file, flags, { requireVars: true });
      const { plan } = loaded;
      const source = await readFleet(io, plan, flags);
      try {
        const wavePlan = planWavesAt(source.fleet, loaded);
        const summary = summarizeFleet(source.fleet, wavePlan, plan.rollout.strategy);
        const preview = buildPlanPreview(plan, source.fleet, wavePlan, summary);
        if (flags.output === "json") io.stdout.write(`${JSON.stringify(preview, null, 2)}\n`);
        else
          io.stdout.write(
            formatPlanPreview(preview, makeChalk(colorEnabled(io.stdout, io.env)), source.label),
          );
      } finally {
        await source.close();
      }
      done(ExitCode.ok);
    });
}
