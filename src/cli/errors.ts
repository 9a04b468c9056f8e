/**
 * One place turns a thrown error into what the user reads and the exit code CI sees.
 * Bad input (InputError) lists every issue, errors and warnings, then a one-line count.
 */
import { AwsCallError } from "../aws/types.js";
import { formatIssue } from "../plan/load.js";
import { InputError, type InputIssue } from "../plan/types.js";
import type { OutputStream } from "../report/output.js";
import { brand, hasBrand } from "../util/brand.js";
import { ExitCode, type ExitCodeValue } from "./exit-codes.js";
import { LockHeldError } from "./lock.js";

/** Thrown by CLI code for a usage problem found after commander parsed the flags. */
export class UsageError extends Error {
  static isUsageError(e: unknown): e is UsageError {
    return hasBrand(e, "UsageError");
  }
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "UsageError";
    brand(this, "UsageError");
  }
}

export function printIssues(issues: InputIssue[], err: OutputStream): void {
  for (const issue of issues) err.write(`${formatIssue(issue)}\n`);
}

export function issueCountLine(issues: InputIssue[]): string {
  const errors = issues.filter((i) => i.severity === "error").length;
  const warnings = issues.length - errors;
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
  return `${plural(errors, "error")}, ${plural(warnings, "warning")}`;
}

/** The engine refused a resume (ended/aborted rollout, or a plan that changed): bad input, exit 2. */
function isRefusedResume(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "E_RESUME_REFUSED" || code === "E_JOURNAL_MISMATCH";
}

/** What to try next for the AWS SDK errors people hit first (by the SDK's error name). */
const AWS_HINTS: Record<string, string> = {
  CredentialsProviderError:
    "no AWS credentials: set AWS_PROFILE or pass --profile (or run against the simulator with --simulate)",
  ExpiredTokenException: "the AWS session has expired: refresh your credentials (e.g. `aws sso login`)",
  ExpiredToken: "the AWS session has expired: refresh your credentials (e.g. `aws sso login`)",
  UnrecognizedClientException: "AWS does not recognise these credentials: check the profile and Region",
  AccessDeniedException: "the credentials lack a permission rollwave needs; the message names the action",
};

export function reportError(err: unknown, stderr: OutputStream, debug = false): ExitCodeValue {
  if (InputError.isInputError(err)) {
    printIssues(err.issues, stderr);
    stderr.write(`${issueCountLine(err.issues)}: nothing was changed\n`);
    return ExitCode.badInput;
  }
  if (UsageError.isUsageError(err)) {
    stderr.write(`error: ${err.message}\n`);
    if (err.hint) stderr.write(`hint: ${err.hint}\n`);
    return ExitCode.badInput;
  }
  if (isRefusedResume(err)) {
    const e = err as Error & { hint?: string };
    stderr.write(`error: ${e.message}\n`);
    if (e.hint) stderr.write(`hint: ${e.hint}\n`);
    return ExitCode.badInput;
  }
  if (LockHeldError.isLockHeldError(err)) {
    stderr.write(`error: ${err.message}\n`);
    const lockHint = (err as { hint?: unknown }).hint;
    if (typeof lockHint === "string") stderr.write(`hint: ${lockHint}\n`);
    return ExitCode.lockHeld;
  }
  if (AwsCallError.isAwsCallError(err)) {
    stderr.write(`error: AWS ${err.message}\n`);
    const awsHint = AWS_HINTS[err.code];
    if (awsHint) stderr.write(`hint: ${awsHint}\n`);
    return ExitCode.failed;
  }
  const e = err as Error | undefined;
  stderr.write(`error: ${e?.message ?? String(err)}\n`);
  const hint = AWS_HINTS[e?.name ?? ""];
  if (hint) stderr.write(`hint: ${hint}\n`);
  if (e?.stack && debug) stderr.write(`${e.stack}\n`);
  return ExitCode.failed;
}
