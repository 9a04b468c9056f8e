/**
 * The installed binary, as a shell or CI sees it: exit codes through bin/rollwave.js and dist/.
 * Builds dist/ first when it is missing (CI builds it in `npm ci`).
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";

function rollwave(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ["bin/rollwave.js", ...args],
      { env: { ...process.env, CI: "true", ...env } },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}

describe("bin/rollwave.js", () => {
  beforeAll(() => {
    if (!existsSync("dist/cli/main.js")) {
      try {
        execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], {
          stdio: "ignore",
        });
      } catch {
        // Type errors elsewhere do not stop emitting; the existence check below is what matters.
      }
    }
    expect(existsSync("dist/cli/main.js")).toBe(true);
  }, 120_000);

  it("exits 0 for a valid plan", async () => {
    const r = await rollwave(["validate", "plans/camera-relay.yaml"]);
    expect(r.code).toBe(0);
  });

  it("exits 2 for a plan with mistakes, printing them on stderr", async () => {
    const r = await rollwave(["validate", "test/fixtures/plans/five-mistakes.yaml"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/five-mistakes\.yaml:\d+:\d+/);
    expect(r.stdout).toBe("");
  });

  it("exits 2 when deploy has no --yes and stdin is not a terminal", async () => {
    const r = await rollwave(["deploy", "plans/camera-relay.yaml", "--var", "release=v2.0.0", "--simulate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--yes");
  });

  it("exits 2 for an unknown flag", async () => {
    const r = await rollwave(["plan", "plans/camera-relay.yaml", "--no-such-flag"]);
    expect(r.code).toBe(2);
  });
});
