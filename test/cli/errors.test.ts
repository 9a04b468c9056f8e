import { describe, expect, it } from "vitest";
import { AwsCallError } from "../../src/aws/types.js";
import { reportError } from "../../src/cli/errors.js";
import { ExitCode } from "../../src/cli/exit-codes.js";
import { StringOutput } from "../report/string-output.js";

describe("reporting AWS failures", () => {
  it("tells the user what to do next when no credentials were found, and exits 1", () => {
    const err = new StringOutput(false);
    const code = reportError(
      new AwsCallError("EC2.DescribeInstances", "CredentialsProviderError", "Could not load credentials"),
      err,
    );
    expect(code).toBe(ExitCode.failed);
    expect(err.text).toContain("error: AWS EC2.DescribeInstances: CredentialsProviderError");
    expect(err.text).toMatch(/hint: no AWS credentials: set AWS_PROFILE or pass --profile .*--simulate/);
  });

  it("keeps the request id and gives no hint for an error it has no advice for", () => {
    const err = new StringOutput(false);
    reportError(new AwsCallError("ELBv2.RegisterTargets", "InvalidTarget", "not running", "req-123"), err);
    expect(err.text).toContain("(request req-123)");
    expect(err.text).not.toContain("hint:");
  });
});

describe("recognising rollwave's errors", () => {
  // A second copy of each module (as two installs or a bundle would load), where `instanceof` fails.
  const secondCopy = (path: string): Promise<unknown> => import(/* @vite-ignore */ `${path}?second-copy`);
  const copies = async () => ({
    aws: (await secondCopy("../../src/aws/types.js")) as typeof import("../../src/aws/types.js"),
    plan: (await secondCopy("../../src/plan/types.js")) as typeof import("../../src/plan/types.js"),
    lock: (await secondCopy("../../src/cli/lock.js")) as typeof import("../../src/cli/lock.js"),
    errors: (await secondCopy("../../src/cli/errors.js")) as typeof import("../../src/cli/errors.js"),
  });

  it("maps each error from a second copy of its module to its exit code and message", async () => {
    const c = await copies();
    const lockHeld = new c.lock.LockHeldError("/tmp/x/lock", "pid 42");
    expect(lockHeld instanceof (await import("../../src/cli/lock.js")).LockHeldError).toBe(false);
    const cases: [Error, number, string][] = [
      [lockHeld, ExitCode.lockHeld, "error: another rollwave process (pid 42) holds /tmp/x/lock"],
      [new c.errors.UsageError("bad flag", "drop it"), ExitCode.badInput, "hint: drop it"],
      [
        new c.plan.InputError([{ severity: "error", source: "p.yaml", line: 3, column: 1, message: "nope" }]),
        ExitCode.badInput,
        "1 error, 0 warnings: nothing was changed",
      ],
      [
        new c.aws.AwsCallError("EC2.DescribeInstances", "ExpiredToken", "old"),
        ExitCode.failed,
        "aws sso login",
      ],
    ];
    for (const [error, code, text] of cases) {
      const err = new StringOutput(false);
      expect(reportError(error, err), error.name).toBe(code);
      expect(err.text).toContain(text);
    }
  });

  it("does not take a look-alike for one of them", () => {
    const fake = Object.assign(new Error("another rollwave process holds it"), {
      name: "LockHeldError",
      code: "E_LOCK_HELD",
    });
    expect(reportError(fake, new StringOutput(false))).toBe(ExitCode.failed);
  });
});
