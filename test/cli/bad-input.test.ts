// biome-ignore-all lint/suspicious/noTemplateCurlyInString: plans write variables as ${name}
/**
 * The inputs people get wrong (issue 11 §6), through the real CLI: every one is a short, located
 * message on stderr, exit 2, and nothing echoed back in bulk.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cli } from "./harness.js";

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
