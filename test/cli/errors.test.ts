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
