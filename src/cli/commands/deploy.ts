/**
 * `rollwave deploy <plan>` and `rollwave resume <plan>`: discover, plan, confirm, then run the
 * engine with a renderer for the chosen output, an approval prompt on a terminal, and signals and a
 * closed stdout wired to the engine's AbortSignal with a bounded stop (cli/stop.ts).
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import { OUTPUT_MODES } from "../../report/output-mode.js";
import { parseDuration } from "../../util/duration.js";
import type { CliIo } from "../io.js";
import { addAwsOptions, addVarOptions, outputOption, parseJournalFlag, parseTimeScale } from "../options.js";
import type { DeployFlags } from "./deploy-flags.js";
import type { CommandResult } from "./result.js";

function parseStopGrace(value: string): number {
  const ms = /^\d+(?:\.\d+)?$/.test(value.trim()) ? Number(value) * 1_000 : parseDuration(value);
  if (ms === undefined || ms > 3_600_000)
    throw new InvalidArgumentError(
      `--stop-grace must be a duration such as 5s, 500ms or 30s (at most 1h), got '${value}'`,
    );
  return ms;
}

function parseWaitApproval(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0 || ms > 7 * 24 * 3_600_000)
    throw new InvalidArgumentError(
      `--wait-approval must be a duration such as 30m or 2h (at most 7d), got '${value}'`,
    );
  return ms;
}

function addDeployOptions(cmd: Command): Command {
  addVarOptions(cmd);
  addAwsOptions(cmd);
  return cmd
    .option(
      "--time-scale <n>",
      "with --simulate: simulated seconds per real second (default 60, at most 3600)",
      parseTimeScale,
    )
    .option("-y, --yes", "confirm the start (required when stdin is not a terminal)")
    .option("--auto-approve", "pass approval gates without asking (demos, pipelines that gate elsewhere)")
    .option(
      "--wait-approval <duration>",
      "at an approval gate, wait this long for `rollwave approve` (or abort) from any terminal or CI job instead of asking here, then pause (exit 3); e.g. 30m",
      parseWaitApproval,
    )
    .option("--dry-run", "print every call the rollout would make; changes nothing")
    .option(
      "--stop-grace <duration>",
      "on SIGTERM, SIGHUP, a closed stdout or a second Ctrl-C: how long in-flight instances get to come back before rollwave records what is still out and exits (default 5s)",
      parseStopGrace,
    )
    .option("-v, --verbose", "plain output: also print every instance's phase transitions")
    .option(
      "--report <file>",
      "write the HTML report (timeline, capacity, failures) when the run ends (default with --simulate: a temp file)",
    )
    .addOption(outputOption([...OUTPUT_MODES], "tty (live view), plain (CI lines) or json (NDJSON events)"))
    .addOption(
      new Option(
        "--journal-dir <dir>",
        "where the journal and lock live (default .rollwave; a temp dir with --simulate)",
      ),
    )
    .addOption(
      new Option(
        "--journal <location>",
        "s3://bucket/prefix: keep the journal in S3 so another machine can resume (overrides the plan's journal:); or a directory, as --journal-dir",
      ).argParser(parseJournalFlag),
    );
}

export function registerDeploy(program: Command, io: CliIo, done: CommandResult): void {
  const deploy = program
    .command("deploy")
    .description("roll the release across the fleet: canary, then waves, keeping capacity in service")
    .argument("[plan]", "plan file (YAML or JSON); not with --plan")
    .option(
      "--plan <saved.json>",
      "apply a plan saved by `rollwave plan … --out`: its plan file, variables and waves, refused if the fleet changed since (replaces <plan> and --var)",
    );
  addDeployOptions(deploy).action(async (file: string | undefined, flags: DeployFlags) => {
    const { runDeploy } = await import("../deploy-run.js");
    done(await runDeploy(io, file, flags, { resume: false }));
  });

  const resume = program
    .command("resume")
    .description("continue a paused or interrupted rollout from its journal")
    .argument("<plan>", "plan file (YAML or JSON)");
  addDeployOptions(resume).option(
    "--force",
    "continue even though the plan file or variables differ from the journal's (the change is journaled)",
  );
  resume.action(async (file: string, flags: DeployFlags) => {
    const { runDeploy } = await import("../deploy-run.js");
    done(await runDeploy(io, file, flags, { resume: true }));
  });
}
