// biome-ignore-all lint/suspicious/noTemplateCurlyInString: plans write variables as ${name}
/**
 * The inputs people get wrong (issue 11 §6), through the real CLI: every one is a short, located
 * message on stderr, exit 2, and nothing echoed back in bulk.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cli, fakeIo } from "./harness.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rollwave-bad-input-"));
});

async function file(name: string, content: string | Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

const PLAN = `version: 1
name: mini
vars:
  release: { pattern: '^v\\d+\\.\\d+\\.\\d+$' }
fleet:
  select: { tags: { Service: relay } }
rollout:
  maxUnavailable: 10%
steps:
  deploy: { commands: ["install \${release}"] }
`;

/** Every stderr line, and a check that it is a short report (no wall of text). */
function lines(stderr: string): string[] {
  const out = stderr.split("\n").filter((l) => l !== "");
  for (const l of out) expect(l.length).toBeLessThan(400);
  return out;
}

describe("files that are not YAML text", () => {
  it("names a UTF-16 file (with a byte-order mark) instead of echoing it", async () => {
    const f = await file("utf16.yaml", Buffer.from(`\ufeff${PLAN}`, "utf16le"));
    const r = await cli(["validate", f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("the plan looks like UTF-16 text");
    expect(r.stderr).toContain("save it as UTF-8");
    expect(r.stderr).not.toContain("\\u0000");
    expect(lines(r.stderr)).toHaveLength(3); // message, hint, count
  });

  it("names UTF-16 without a byte-order mark too", async () => {
    const f = await file("utf16-nobom.yaml", Buffer.from(PLAN, "utf16le"));
    const r = await cli(["validate", f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("looks like UTF-16 text (every other byte is 0)");
  });

  it("names a binary file", async () => {
    const bytes = new Uint8Array(20_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 256;
    const f = await file("binary.yaml", bytes);
    const r = await cli(["validate", f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("the plan looks like a binary file, not YAML or JSON text");
    expect(r.stderr.length).toBeLessThan(400);
  });

  it("locates the first byte that is not UTF-8 (a Latin-1 file)", async () => {
    const f = await file("latin1.yaml", Buffer.from(`${PLAN}# caf\xe9\n`, "latin1"));
    const r = await cli(["validate", f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${f}:11:6  the plan is not UTF-8 text: byte 0xe9`);
  });

  it("says the same for --var-file and --inventory", async () => {
    const plan = await file("ok.yaml", PLAN);
    const vars = await file("vars-utf16.yaml", Buffer.from("\ufeffrelease: v1.2.3\n", "utf16le"));
    const inv = await file("inv-utf16.json", Buffer.from('\ufeff{"region":"eu-west-1"}', "utf16le"));
    const a = await cli(["validate", plan, "--var-file", vars]);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain(`${vars}  the var file looks like UTF-16 text`);
    const b = await cli(["plan", plan, "--var", "release=v1.2.3", "--inventory", inv]);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain(`${inv}  the inventory looks like UTF-16 text`);
  });
});

describe("YAML that breaks parsers", () => {
  it("reports 2,000 levels of nesting as one located 'nesting too deep'", async () => {
    const f = await file("deep.yaml", `name: x\nk: ${"[".repeat(2000)}${"]".repeat(2000)}\n`);
    const r = await cli(["validate", f]);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([
      `${f}:2:103  nesting too deep: more than 100 levels of maps and lists inside each other`,
      "  hint: a rollwave file needs only a few levels; look for unclosed [ or { before this point",
      "1 error, 0 warnings: nothing was changed",
    ]);
    expect(r.stderr).not.toContain("call stack");
  });

  it("reports deep block nesting the same way", async () => {
    const text = Array.from({ length: 1200 }, (_, i) => `${"  ".repeat(i)}k${i}:`).join("\n");
    const f = await file("deep-block.yaml", text);
    const r = await cli(["validate", f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${f}:101:201  nesting too deep`);
    expect(lines(r.stderr)).toHaveLength(3);
  });

  it("prints one message, not hundreds, for 100,000 unclosed [", async () => {
    const f = await file("unclosed.yaml", `name: ${"[".repeat(100_000)}\n`);
    const r = await cli(["validate", f]);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toHaveLength(3);
    expect(r.stderr).toContain(`${f}:1:106  nesting too deep`);
  }, 20_000);

  it("says only one document is allowed", async () => {
    const f = await file("two-docs.yaml", `${PLAN}---\nname: other\n`);
    const r = await cli(["validate", f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `${f}:11:1  a second YAML document starts here; a rollwave file holds exactly one`,
    );
    expect(r.stderr).not.toContain("parseAllDocuments");
  });

  it("names a duplicate key, its path and where it first appears", async () => {
    const f = await file(
      "dup.yaml",
      PLAN.replace("maxUnavailable: 10%", "maxUnavailable: 10%\n  maxUnavailable: 2"),
    );
    const r = await cli(["validate", f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `${f}:9:3  rollout.maxUnavailable  duplicate key 'maxUnavailable' in rollout (first at line 8)`,
    );
    expect(r.stderr).not.toContain("Map keys must be unique");
  });

  it("names a duplicate key in a var file", async () => {
    const plan = await file("ok2.yaml", PLAN);
    const vars = await file("dup-vars.yaml", "release: v1.2.3\nrelease: v1.2.4\n");
    const r = await cli(["validate", plan, "--var-file", vars]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${vars}:2:1  release  duplicate key 'release' (first at line 1)`);
  });

  it("cuts a cascade of syntax errors to the first ten", async () => {
    const text = Array.from({ length: 40 }, (_, i) => `k${i}: "unclosed\n  - x: : y`).join("\n");
    const f = await file("cascade.yaml", text);
    const r = await cli(["validate", f]);
    expect(r.code).toBe(2);
    expect(lines(r.stderr).length).toBeLessThanOrEqual(10 + 2 + 1);
  });
});

describe("long values are cut, never echoed whole", () => {
  it("a 1 MB value in an enum field is shown as its first 80 characters and its length", async () => {
    const f = await file(
      "long.yaml",
      PLAN.replace("maxUnavailable: 10%", `maxUnavailable: 10%\n  strategy: ${"w".repeat(1_000_000)}`),
    );
    const r = await cli(["validate", f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`"${"w".repeat(80)}…" (1,000,000 characters) is not one of: window, waves`);
    expect(r.stderr.length).toBeLessThan(1000);
  });

  it("a 1 MB unknown key", async () => {
    const f = await file("long-key.yaml", `${PLAN}${"k".repeat(1_000_000)}: 1\n`);
    const r = await cli(["validate", f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${f}:11:1  a key longer than 1,024 characters`);
    expect(r.stderr.length).toBeLessThan(400);
  });

  it("a 1 MB --var value that fails its pattern, with control characters escaped", async () => {
    const plan = await file("ok3.yaml", PLAN);
    const r = await cli(["validate", plan, "--var", `release=\u001b[31m\u202e${"x".repeat(1_000_000)}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `value "\\u001b[31m\\u202e${"x".repeat(74)}…" (1,000,006 characters) for 'release'`,
    );
    expect(r.stderr).not.toContain("\u001b");
    expect(r.stderr).not.toContain("\u202e");
  });
});

describe("flags and credentials", () => {
  const SMALL_PLAN = "test/cli/fixtures/small-relay.yaml";
  const SMALL_FLEET = "plans/sim/small-fleet.yaml";

  it("bounds --time-scale with a clear error", async () => {
    for (const v of ["1e9", "0", "-5", "fast", "3601"]) {
      const r = await cli([
        "deploy",
        SMALL_PLAN,
        "--simulate",
        "--var",
        "release=v2.0.0",
        "--yes",
        "--time-scale",
        v,
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        `--time-scale must be a number above 0 and at most 3600 (one simulated hour per real second), got '${v}'`,
      );
    }
    const sim = await cli(["sim", "--time-scale", "1e9"]);
    expect(sim.code).toBe(2);
    expect(sim.stderr).toContain("--time-scale must be a number above 0 and at most 3600");
  });

  it("says the --simulate fleet file does not exist, not ENOENT", async () => {
    const r = await cli(["plan", SMALL_PLAN, "--var", "release=v2.0.0", "--simulate", "missing.yaml"]);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([
      "missing.yaml  cannot read the simulated fleet (--simulate): no such file",
      "  hint: --simulate takes a simulator fleet spec such as plans/sim/small-fleet.yaml; alone it uses plans/sim/camera-fleet.yaml",
      "1 error, 0 warnings: nothing was changed",
    ]);
  });

  it("says a misspelled Region looks wrong and lists the valid ones, with no network call", async () => {
    const r = await cli(["plan", SMALL_PLAN, "--var", "release=v2.0.0", "--region", "eu-wset-1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "error: the Region 'eu-wset-1' (from --region) looks wrong: it is not an AWS Region",
    );
    expect(r.stderr).toMatch(/hint: did you mean 'eu-west-1'\? AWS Regions: af-south-1, .*us-west-2/);
    expect(r.stderr).not.toContain("getaddrinfo");
    const env = await cli(
      ["plan", "plans/web-api.yaml", "--var", "release=v2.0.0"],
      fakeIo({ env: { AWS_REGION: "us-esat-1" } }),
    );
    // web-api.yaml names its own region (us-east-1), which wins over AWS_REGION: no error from it.
    expect(env.stderr).not.toContain("looks wrong");
  });

  it("says a --profile that is in neither shared file does not exist, and lists those that do", async () => {
    const home = await mkdtemp(join(tmpdir(), "rollwave-home-"));
    await writeFile(
      join(home, "config"),
      "[default]\nregion = eu-west-1\n[profile prod]\nregion = eu-west-1\n",
    );
    await writeFile(join(home, "credentials"), "[staging]\naws_access_key_id = x\n");
    const env = {
      AWS_CONFIG_FILE: join(home, "config"),
      AWS_SHARED_CREDENTIALS_FILE: join(home, "credentials"),
    };
    const r = await cli(["plan", SMALL_PLAN, "--var", "release=v2.0.0", "--profile", "prd"], fakeIo({ env }));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `error: the profile 'prd' (from --profile) does not exist in ${env.AWS_CONFIG_FILE} or ${env.AWS_SHARED_CREDENTIALS_FILE}`,
    );
    expect(r.stderr).toContain("hint: did you mean 'prod'? profiles there: default, prod, staging;");
    expect(r.stderr).not.toContain("pass --profile");

    const fromEnv = await cli(
      ["plan", SMALL_PLAN, "--var", "release=v2.0.0"],
      fakeIo({ env: { ...env, AWS_PROFILE: "nosuch" } }),
    );
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain("the profile 'nosuch' (from AWS_PROFILE) does not exist");

    const none = await cli(
      ["plan", SMALL_PLAN, "--var", "release=v2.0.0", "--profile", "nosuch"],
      fakeIo({
        env: { AWS_CONFIG_FILE: join(home, "nope"), AWS_SHARED_CREDENTIALS_FILE: join(home, "nope2") },
      }),
    );
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(
      `the profile 'nosuch' (from --profile) does not exist: there is no ${join(home, "nope")}`,
    );
  });

  it("refuses a guard-account mismatch on stderr, exit 2, before asking or changing anything", async () => {
    const plan = await file(
      "other-account.yaml",
      (await import("node:fs"))
        .readFileSync(SMALL_PLAN, "utf8")
        .replace('account: "123456789012"', 'account: "999999999999"'),
    );
    const r = await cli([
      "deploy",
      plan,
      "--simulate",
      SMALL_FLEET,
      "--time-scale",
      "400",
      "--var",
      "release=v2.0.0",
      "--yes",
      "--output",
      "plain",
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "error: account guard: the credentials are for account 123456789012, the plan (guard.account) is for 999999999999; nothing was changed",
    );
    expect(r.stdout).not.toContain("account guard");
  });

  it("prints variable values in the dry run quoted, with control and bidi characters escaped", async () => {
    const plan = await file(
      "any-release.yaml",
      PLAN.replace("{ pattern: '^v\\d+\\.\\d+\\.\\d+$' }", "{}")
        .replace("name: mini", "name: mini\nregion: ap-northeast-1")
        .replace("Service: relay", "Service: camera-relay"),
    );
    const r = await cli([
      "deploy",
      plan,
      "--simulate",
      SMALL_FLEET,
      "--var",
      "release=v2\u001b[2J\u202eevil",
      "--dry-run",
      "--output",
      "plain",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('vars release="v2\\u001b[2J\\u202eevil"');
    expect(r.stdout).toContain("install 'v2\\u001b[2J\\u202eevil'");
    expect(r.stdout).not.toContain("\u001b");
    expect(r.stdout).not.toContain("\u202e");
  });

  it("locates wave-planner errors at the field they blame", async () => {
    // Valid for the loader; only the planner, which sees the fleet, finds nothing selected.
    const plan = await file("selects-nothing.yaml", PLAN);
    const r = await cli(["plan", plan, "--var", "release=v1.2.3", "--simulate", SMALL_FLEET]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${plan}:6:11  fleet.select  the fleet selection matched no instances`);
  });
});

describe("the Region list", () => {
  it("is the installed AWS SDK's partition data, so an SDK update cannot leave it stale", async () => {
    const { readFileSync } = await import("node:fs");
    const { PARTITION_REGIONS } = await import("../../src/cli/regions.js");
    const text = readFileSync(
      "node_modules/@aws-sdk/core/dist-es/submodules/client/util-endpoints/lib/aws/partitions.js",
      "utf8",
    );
    const data = JSON.parse(text.slice(text.indexOf("{"), text.lastIndexOf("}") + 1)) as {
      partitions: { id: string; regions: Record<string, unknown> }[];
    };
    const sdk = Object.fromEntries(
      data.partitions.map((p) => [p.id, Object.keys(p.regions).filter((r) => !r.startsWith("aws-"))]),
    );
    expect(PARTITION_REGIONS).toEqual(sdk);
  });
});
