/**
 * `rollwave iam-policy <plan> [--for plan|deploy]`: the least-privilege IAM policy for this plan,
 * as JSON on stdout, ready for `aws iam create-policy --policy-document file://…`. Built from the
 * one table of the calls rollwave's AWS adapters make (src/plan/iam.ts); touches no AWS.
 */
import { type Command, Option } from "commander";
import type { JournalLocation } from "../../engine/journal-store.js";
import { buildIamPolicy } from "../../plan/iam.js";
import { shown } from "../../util/quote.js";
import { UsageError } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import type { CliIo } from "../io.js";
import { addVarOptions, parseAccount, parseJournalFlag } from "../options.js";
import { loadPlanFromFlags, type VarFlags } from "../plan-input.js";
import { isKnownRegion } from "../regions.js";
import type { CommandResult } from "./result.js";

interface IamFlags extends VarFlags {
  for: "plan" | "deploy";
  journal?: JournalLocation;
  region?: string;
  account?: string;
}

export function registerIamPolicy(program: Command, io: CliIo, done: CommandResult): void {
  const cmd = program
    .command("iam-policy")
    .description("print the least-privilege IAM policy (JSON) that `plan` or `deploy` needs for a plan")
    .argument("<plan>", "plan file (YAML or JSON)")
    .addOption(
      new Option("--for <command>", "plan: read-only discovery (plan, deploy --dry-run); deploy: everything")
        .choices(["plan", "deploy"])
        .default("deploy"),
    )
    .option("--region <region>", "Region for the ARNs (default: the plan's `region`, else *)")
    .option(
      "--account <id>",
      "account for the ARNs (default: the plan's guard.account, else *)",
      parseAccount,
    )
    .option(
      "--journal <location>",
      "the journal deploy will use: s3://bucket/prefix adds the S3 calls scoped to it (default: the plan's journal:)",
      parseJournalFlag,
    );
  addVarOptions(cmd);
  cmd.addHelpText(
    "after",
    `
Examples:
  rollwave iam-policy plans/camera-relay.yaml > rollwave-deploy.json
  rollwave iam-policy plans/camera-relay.yaml --for plan
  rollwave iam-policy plans/camera-relay.yaml --journal s3://ops-rollwave/journals
  aws iam create-policy --policy-name rollwave-camera-relay --policy-document file://rollwave-deploy.json`,
  );
  cmd.action(async (file: string, flags: IamFlags) => {
    const requireVars = (flags.var ?? []).length > 0 || (flags.varFile ?? []).length > 0;
    const loaded = await loadPlanFromFlags(io, file, flags, { requireVars });
    // As for deploy: --journal overrides the plan's journal: (a directory means no S3 calls).
    const plan = flags.journal
      ? {
          ...loaded.plan,
          journal:
            flags.journal.kind === "s3"
              ? { bucket: flags.journal.bucket, prefix: flags.journal.prefix }
              : null,
        }
      : loaded.plan;
    if (flags.region && !isKnownRegion(flags.region)) {
      throw new UsageError(
        `the Region '${shown(flags.region)}' (from --region) looks wrong: it is not an AWS Region`,
      );
    }
    const region = flags.region ?? plan.region;
    const account = flags.account ?? plan.guard.account;
    const unknown = [!region && "Region", !account && "account"].filter(Boolean);
    if (unknown.length > 0) {
      io.stderr.write(
        `note: the plan names no ${unknown.join(" and no ")}, so the ARNs use *; pass ${[!region && "--region", !account && "--account"].filter(Boolean).join(" and ")} to narrow them\n`,
      );
    }
    const policy = buildIamPolicy(plan, flags.for, { region: region ?? null, account: account ?? null });
    io.stdout.write(`${JSON.stringify(policy, null, 2)}\n`);
    done(ExitCode.ok);
  });
}
