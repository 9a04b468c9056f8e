/**
 * `rollwave unlock <plan> [--force] [--yes]`: remove the plan's fleet lock (an SSM parameter, see
 * cli/fleet-lock.ts) that a rollout left behind: its process was killed, its CI runner vanished.
 * Only a stale lock (heartbeat older than `lock.staleAfter`) unless --force; after confirmation
 * (--yes when stdin is not a terminal). The parameter is re-read just before the delete, and a
 * lock renewed in the meantime (its holder is alive) is kept.
 *
 * Exit codes: 0 removed, no lock, or the answer was no (nothing removed, as a refused `deploy`);
 * 2 bad input (a `local` lock, --simulate, no --yes without a terminal); 4 the lock is held (fresh
 * heartbeat without --force, or renewed while asking); 1 an AWS error.
 */
import type { Command } from "commander";
import { formatDuration } from "../../util/duration.js";
import { UsageError } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import { describeOwner, FleetLockHeldError, heartbeatAge, parseFleetLock } from "../fleet-lock.js";
import type { CliIo } from "../io.js";
import { addAwsOptions, addVarOptions } from "../options.js";
import { loadPlanFromFlags, type VarFlags } from "../plan-input.js";
import { ask } from "../prompt.js";
import { openTarget, type TargetFlags } from "../target.js";
import type { CommandResult } from "./result.js";

interface UnlockFlags extends VarFlags, TargetFlags {
  force?: boolean;
  yes?: boolean;
}

export function registerUnlock(program: Command, io: CliIo, done: CommandResult): void {
  const cmd = program
    .command("unlock")
    .description(
      "remove a plan's fleet lock (SSM) left by a rollout that is gone; only when stale unless --force",
    )
    .argument("<plan>", "plan file (YAML or JSON)")
    .option("--force", "remove it even though its heartbeat is fresh (its rollout may still be running)")
    .option("-y, --yes", "do not ask for confirmation (required when stdin is not a terminal)");
  addVarOptions(cmd);
  addAwsOptions(cmd);
  cmd.addHelpText(
    "after",
    `
Exit codes: 0 removed (or no lock, or answered no); 2 bad input; 4 the lock is held (fresh
heartbeat without --force, or renewed while asking); 1 an AWS error.`,
  );
  cmd.action(async (file: string, flags: UnlockFlags) => {
    done(await runUnlock(io, file, flags));
  });
}

async function runUnlock(io: CliIo, file: string, flags: UnlockFlags) {
  const requireVars = (flags.var ?? []).length > 0 || (flags.varFile ?? []).length > 0;
  const { plan } = await loadPlanFromFlags(io, file, flags, { requireVars });
  if (flags.simulate) {
    throw new UsageError(
      "--simulate runs its own simulator in-process and uses the local lock: there is no fleet lock to remove",
      "point --endpoint-url at a running `rollwave sim`, or drop --simulate for AWS",
    );
  }
  if (plan.lock.store !== "ssm") {
    throw new UsageError(
      `${plan.name} uses a local lock (lock.store: local), not a fleet lock`,
      "a local lock is a file beside the journal (.rollwave/<plan>/lock); rollwave takes it over by itself when its process is gone",
    );
  }
  const interactive = io.stdin.isTTY === true;
  if (!flags.yes && !interactive) {
    throw new UsageError(
      "unlock removes a lock and stdin is not a terminal, so rollwave cannot ask for confirmation",
      "add --yes",
    );
  }
  const target = await openTarget(io, plan, flags);
  const { createAws } = await import("../../aws/connect.js");
  const aws = createAws(target.aws);
  try {
    const name = plan.lock.parameter;
    const current = await aws.reader.getParameter(name);
    if (!current) {
      io.stderr.write(`no fleet lock ${name}: nothing to remove\n`);
      return ExitCode.ok;
    }
    const holder = parseFleetLock(current.value);
    const age = holder && heartbeatAge(holder, target.clock.now(), plan.lock.staleAfterMs);
    const who = holder
      ? `rollout ${holder.rolloutId} (${describeOwner(holder)}), last heartbeat ${age?.text} ago`
      : "a value that is not a rollwave lock";
    if (holder && !age?.stale && !flags.force) {
      throw new FleetLockHeldError(
        `the fleet lock ${name} is held by ${who}: not stale (stale after ${formatDuration(plan.lock.staleAfterMs)})`,
        `if that rollout's process is gone, wait until the lock is stale or add --force`,
        holder,
      );
    }
    if (!flags.yes) {
      const answer = await ask(
        io,
        `Remove the fleet lock ${name} of ${who}? [y/N] `,
        ["yes", "no"] as const,
        {
          fallback: "no",
        },
      );
      if (answer !== "yes") {
        io.stderr.write("not removed\n");
        return ExitCode.ok;
      }
    }
    // Its holder may have renewed it while we asked: then it is alive, and the lock stays.
    const again = await aws.reader.getParameter(name);
    if (again && again.version !== current.version) {
      throw new FleetLockHeldError(
        `the fleet lock ${name} was renewed (version ${current.version} → ${again.version}) while rollwave asked: its rollout is alive; not removed`,
        "check that rollout (its owner is named above); run unlock again if it really is gone",
      );
    }
    if (again) await aws.writer.deleteParameter(name);
    io.stderr.write(`removed the fleet lock ${name} (${who})\n`);
    return ExitCode.ok;
  } finally {
    aws.close();
    await target.close();
  }
}
