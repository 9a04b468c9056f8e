import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { planSchemaText } from "../../src/cli/commands/schema.js";
import { planJsonSchema } from "../../src/plan/schema.js";
import { cli } from "./harness.js";

const SHIPPED = ["plans/camera-relay.yaml", "plans/web-api.yaml"];

async function tempFile(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "rollwave-cli-"));
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

// Five different mistakes, each on its own line: an unknown key (typo), a bad size, a bad strategy,
// a percent over 100 and a bad duration.
const FIVE_MISTAKES = `version: 1
name: broken
region: eu-west-1
fleet:
  select: { tags: { Service: web } }
  exlude: { tags: { Skip: "true" } }
rollout:
  canary: { size: 1/zone }
  waves: [10%]
  strategy: sliding
  maxUnavailable: 150%
drain:
  timeout: 5 minutes
steps:
  deploy: { commands: ["true"], timeout: 1m }
`;

describe("rollwave validate", () => {
  for (const plan of SHIPPED) {
    it(`accepts the shipped plan ${plan}`, async () => {
      const r = await cli(["validate", plan]);
      expect(r.stderr).not.toMatch(/^.*error/im);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("is valid");
    });
  }

  it("accepts the camera-relay plan with its release variable set", async () => {
    const r = await cli(["validate", "plans/camera-relay.yaml", "--var", "release=v1.2.3"]);
    expect(r.code).toBe(0);
  });

  it("prints five located errors for a plan with five mistakes and exits 2", async () => {
    const file = await tempFile("broken.yaml", FIVE_MISTAKES);
    const r = await cli(["validate", file]);
    expect(r.code).toBe(2);
    const located = r.stderr.split("\n").filter((l) => l.startsWith(`${file}:`) && !l.includes("warning:"));
    expect(located).toHaveLength(5);
    for (const line of located)
      expect(line).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+:\\d+  \\S+  `));
    expect(located.map((l) => Number(l.split(":")[1]))).toEqual([6, 8, 10, 11, 13]);
    expect(r.stderr).toMatch(/5 errors, \d+ warnings?: nothing was changed/);
  });

  it("refuses a step timeout SSM would refuse mid-rollout, at its line and column, and exits 2", async () => {
    const file = await tempFile(
      "long.yaml",
      `version: 1\nname: long\nregion: eu-west-1\nfleet:\n  select: { tags: { Service: web } }\nsteps:\n  deploy: { commands: ["true"], timeout: 3d }\n`,
    );
    const r = await cli(["validate", file]);
    expect(r.code).toBe(2);
    const line = r.stderr.split("\n").find((l) => l.startsWith(`${file}:7:`));
    expect(line).toContain("steps.deploy.timeout");
    expect(line).toContain("outside what SSM Run Command accepts");
    expect(r.stderr).toContain("use 30s to 48h");
  });

  it("reads variables from --var-file, and lets --var override them", async () => {
    const vars = await tempFile("vars.yaml", "release: v1.10.0\n");
    expect((await cli(["validate", "plans/camera-relay.yaml", "--var-file", vars])).code).toBe(0);
    const bad = await tempFile("bad-vars.yaml", "release: latest\n");
    const r = await cli(["validate", "plans/camera-relay.yaml", "--var-file", bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(bad);
    const fixed = await cli([
      "validate",
      "plans/camera-relay.yaml",
      "--var-file",
      bad,
      "--var",
      "release=v1.2.3",
    ]);
    expect(fixed.code).toBe(0);
  });

  it("rejects a --var without '=' naming the flag, with exit 2", async () => {
    const r = await cli(["validate", "plans/camera-relay.yaml", "--var", "release"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--var");
  });

  it("rejects a variable that breaks its pattern", async () => {
    const r = await cli(["validate", "plans/camera-relay.yaml", "--var", "release=latest; reboot"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/release/);
  });

  it("reports a missing plan file as bad input", async () => {
    const r = await cli(["validate", "plans/does-not-exist.yaml"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("plans/does-not-exist.yaml");
  });
});

describe("rollwave schema", () => {
  it("prints exactly the committed schema/plan.schema.json", async () => {
    const r = await cli(["schema"]);
    expect(r.code).toBe(0);
    const committed = await readFile("schema/plan.schema.json", "utf8");
    expect(r.stdout).toBe(committed);
    expect(JSON.parse(committed)).toEqual(JSON.parse(JSON.stringify(planJsonSchema())));
  });

  it("writes the schema to --out", async () => {
    const out = await tempFile("schema.json", "");
    const r = await cli(["schema", "--out", out]);
    expect(r.code).toBe(0);
    expect(await readFile(out, "utf8")).toBe(planSchemaText());
  });
});

describe("usage errors", () => {
  it("maps an unknown flag to exit 2 with a hint", async () => {
    const r = await cli(["validate", "plans/web-api.yaml", "--frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option '--frobnicate'");
    expect(r.stderr).toContain("--help");
  });

  it("maps an unknown command to exit 2", async () => {
    const r = await cli(["deplyo", "plans/web-api.yaml"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command/);
  });

  it("exits 0 for --help and --version", async () => {
    expect((await cli(["--help"])).code).toBe(0);
    const v = await cli(["--version"]);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
