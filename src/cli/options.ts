/** Flag definitions shared by several commands, with value parsers that fail as usage errors (exit 2). */
import { type Command, InvalidArgumentError, Option } from "commander";
import type { JournalLocation } from "../engine/journal-store.js";
import { shown } from "../util/quote.js";
import { parseS3Url } from "../util/s3-url.js";
import { collect } from "./plan-input.js";

export function parseInteger(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        `${name} must be a whole number from ${min} to ${max}, got '${shown(value)}'`,
      );
    }
    return n;
  };
}

/**
 * Above this, a simulated rollout gains nothing (it is bound by CPU, not by waiting) and every
 * simulated deadline shrinks below a millisecond of real time; at 1e9 the run never ends.
 */
const MAX_TIME_SCALE = 3600;

/** `--time-scale`: simulated seconds per real second, > 0 and at most MAX_TIME_SCALE. */
export function parseTimeScale(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0 || n > MAX_TIME_SCALE) {
    throw new InvalidArgumentError(
      `--time-scale must be a number above 0 and at most ${MAX_TIME_SCALE} (one simulated hour per real second), got '${shown(value)}'`,
    );
  }
  return n;
}

/** `--account`: a 12-digit AWS account ID. */
export function parseAccount(value: string): string {
  if (!/^\d{12}$/.test(value)) {
    throw new InvalidArgumentError(`--account must be a 12-digit AWS account ID, got '${shown(value)}'`);
  }
  return value;
}

/**
 * `--journal <location>`: `s3://bucket/prefix` (the journal in S3) or a local directory (as
 * `--journal-dir`). A malformed s3:// URL is refused with the flag's name (exit 2).
 */
export function parseJournalFlag(value: string): JournalLocation {
  if (!value.startsWith("s3://")) {
    if (value.trim() === "")
      throw new InvalidArgumentError("--journal needs s3://<bucket>/<prefix> or a directory");
    return { kind: "dir", dir: value };
  }
  const parsed = parseS3Url(value);
  if ("error" in parsed) throw new InvalidArgumentError(`--journal: ${parsed.error}; ${parsed.hint}`);
  return { kind: "s3", ...parsed };
}

export function addVarOptions(cmd: Command): Command {
  return cmd
    .option("--var <name=value>", "set a plan variable (repeatable)", collect)
    .option("--var-file <file>", "read variables from a YAML/JSON map (repeatable; --var wins)", collect);
}

export function addAwsOptions(cmd: Command): Command {
  return cmd
    .option(
      "--simulate [fleet]",
      "run against a simulator started in-process (default fleet: plans/sim/camera-fleet.yaml)",
    )
    .option("--region <region>", "AWS Region (default: the plan's `region`, then AWS_REGION)")
    .option("--profile <name>", "named AWS profile for credentials")
    .option(
      "--endpoint-url <url>",
      "send every AWS call to this endpoint (e.g. a `rollwave sim` started elsewhere)",
    )
    .option(
      "--sim-clock",
      "wait on the scaled clock of the `rollwave sim` at --endpoint-url / AWS_ENDPOINT_URL (env: ROLLWAVE_SIM_CLOCK=1)",
    )
    .option("--seed <n>", "simulator seed (with --simulate)", parseInteger("--seed", 0, 2 ** 32 - 1));
}

export function outputOption(choices: string[], description: string): Option {
  return new Option("--output <mode>", description).choices(choices);
}
