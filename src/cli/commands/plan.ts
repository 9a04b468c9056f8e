/**
 * `rollwave plan <plan>`: the preview of the waves (`deploy --dry-run` is the other thing: every
 * call, engine/dry-run.ts). Discovers the fleet through a read-only AWS
 * connection (no mutating method exists on it) or reads `--inventory`, plans the waves and prints
 * the table, or one JSON document with `--output json`.
 *
 * The AWS SDK, the simulator and the engine are imported on first use, so `validate`, `schema`
 * and `--help` start fast and never load them.
 */
import type { Command } from "commander";
import type { AwsReader } from "../../aws/types.js";
import type { CapacityPreview } from "../../engine/capacity-preview.js";
import type { Fleet } from "../../fleet/types.js";
import type { LoadedPlan } from "../../plan/load.js";
import type { Plan } from "../../plan/types.js";
import { colorEnabled, makeChalk } from "../../report/output.js";
import { buildPlanPreview, formatPlanPreview } from "../../report/preview.js";
import type { PlannedRollout } from "../../rollout/prepare.js";
import { summarizeFleet } from "../../waves/summary.js";
import type { WavePlan } from "../../waves/types.js";
import { ACCOUNT_HINT, accountMismatch } from "../account-guard.js";
import { UsageError } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import { type CliIo, note } from "../io.js";
import { addAwsOptions, addVarOptions, outputOption } from "../options.js";
import { loadPlanFromFlags, type VarFlags } from "../plan-input.js";
import { openTarget, type TargetFlags } from "../target.js";
import type { CommandResult } from "./result.js";

interface FleetFlags extends TargetFlags {
  inventory?: string;
}

/**
 * The planned rollout over the fleet from an inventory file, or discovered read-only from AWS or
 * the simulator (the connection has no mutating method), and a label for the preview's header.
 */
async function planFromFleet(
  io: CliIo,
  { plan, file, locate }: LoadedPlan,
  flags: FleetFlags,
): Promise<{ planned: PlannedRollout; label: string; capacity?: CapacityPreview }> {
  const { planRollout, prepareRollout } = await import("../../rollout/prepare.js");
  if (flags.inventory) {
    if (flags.simulate || flags.endpointUrl) {
      throw new UsageError(
        "--inventory plans offline; it cannot be combined with --simulate or --endpoint-url",
      );
    }
    const { loadInventory } = await import("../../fleet/inventory.js");
    const fleet = await loadInventory(flags.inventory, plan.fleet);
    const planned = planRollout(plan, fleet, file, locate);
    const capacity = await previewCapacity(plan, fleet, planned.wavePlan, undefined, undefined);
    return { planned, label: `inventory ${flags.inventory}`, ...(capacity ? { capacity } : {}) };
  }
  const target = await openTarget(io, plan, flags);
  try {
    note(io, `discovering the fleet (${target.label})…`);
    const { aws, ...planned } = await prepareRollout({
      plan,
      aws: target.aws,
      readOnly: true,
      source: file,
      locate,
      ...(target.sim ? { simulator: target.sim.world } : {}),
    });
    try {
      // The capacity guard's math reads the connections once, through the same read-only connection.
      const capacity = await previewCapacity(plan, planned.fleet, planned.wavePlan, aws.reader, () =>
        target.clock.now(),
      );
      return { planned, label: target.label, ...(capacity ? { capacity } : {}) };
    } finally {
      aws.close();
    }
  } finally {
    await target.close();
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
    )
    .option(
      "--out <file>",
      "also save the resolved plan (fleet, waves, vars, account, Region, hashes) for `rollwave deploy --plan <file>`",
    );
  addVarOptions(cmd);
  addAwsOptions(cmd);
  cmd
    .addOption(outputOption(["table", "json"], "table (default) or one JSON document").default("table"))
    .action(
      async (file: string, flags: VarFlags & FleetFlags & { output: "table" | "json"; out?: string }) => {
        const loaded = await loadPlanFromFlags(io, file, flags, { requireVars: true });
        const { plan } = loaded;
        const { planned, label, capacity } = await planFromFleet(io, loaded, flags);
        const { fleet, wavePlan } = planned;
        const mismatch = accountMismatch(plan, fleet);
        if (mismatch && flags.out) {
          throw new UsageError(
            `${mismatch}; \`deploy --plan\` would refuse it, so ${flags.out} was not written`,
            ACCOUNT_HINT,
          );
        }
        if (mismatch)
          io.stderr.write(
            `warning: ${mismatch}; \`rollwave deploy\` will refuse to start\nhint: ${ACCOUNT_HINT}\n`,
          );
        const summary = summarizeFleet(fleet, wavePlan, plan.rollout.strategy);
        const preview = buildPlanPreview(plan, fleet, wavePlan, summary);
        if (capacity) preview.capacity = capacity;
        if (flags.output === "json") io.stdout.write(`${JSON.stringify(preview, null, 2)}\n`);
        else io.stdout.write(formatPlanPreview(preview, makeChalk(colorEnabled(io.stdout, io.env)), label));
        if (flags.out) {
          const { planSnapshot, writeSavedPlan } = await import("../saved-plan.js");
          await writeSavedPlan(io, flags.out, await planSnapshot(io, loaded, fleet, wavePlan));
        }
        done(ExitCode.ok);
      },
    );
}

/** The capacity guard's math for the preview: one batched connection read when AWS is at hand. */
export async function previewCapacity(
  plan: Plan,
  fleet: Fleet,
  wavePlan: WavePlan,
  reader: AwsReader | undefined,
  now: (() => number) | undefined,
): Promise<CapacityPreview | undefined> {
  const src = plan.capacity.connections?.source;
  if (!src) return undefined;
  const { capacityPreview, readFleetConnections } = await import("../../engine/capacity-preview.js");
  const ids = wavePlan.waves.flatMap((w) => w.instances.map((i) => i.id));
  // A probe runs commands on the instances: deploy does that, a preview stays read-only.
  const reading =
    src.kind === "probe"
      ? {
          ok: false as const,
          reason: "the probe runs on the instances (SSM) during deploy, not in a preview",
        }
      : reader
        ? await readFleetConnections(reader, plan, ids, (now ?? Date.now)())
        : undefined;
  return capacityPreview(plan, fleet, wavePlan, reading);
}
