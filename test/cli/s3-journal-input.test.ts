/**
 * The journal in S3 as input, through the real CLI: a bad `journal:` in the plan is reported at its
 * line and column, a bad `--journal` by the flag, conflicting choices are refused before any AWS
 * call (exit 2); `iam-policy` adds the S3 actions scoped to the journal's prefix.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { IamPolicy } from "../../src/plan/iam.js";
import { cli, fakeIo } from "./harness.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rollwave-s3-input-"));
});

const plan = (journal?: string) => `version: 1
name: mini
region: eu-west-1
${journal === undefined ? "" : `journal: ${journal}\n`}fleet:
  select: { tags: { Service: relay } }
rollout:
  maxUnavailable: 10%
steps:
  deploy: { commands: ["install v2"] }
`;

async function planFile(name: string, journal?: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, plan(journal));
  return path;
}

describe("journal: in the plan", () => {
  it("a malformed S3 location is an error at its line and column, with a hint (exit 2)", async () => {
    const f = await planFile("bad-bucket.yaml", "s3://Bad_Bucket/journals");
    const r = await cli(["validate", f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${f}:4:10  journal  'Bad_Bucket' is not a valid S3 bucket name`);
    expect(r.stderr).toMatch(/hint: bucket names are 3-63 lowercase letters/);

    const d = await planFile("dir.yaml", "./state");
    const r2 = await cli(["validate", d]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain(`${d}:4:10  journal  './state' is not an s3:// URL`);
    expect(r2.stderr).toMatch(
      /hint: journal: takes s3:\/\/<bucket>\/<prefix>; a local directory is the default/,
    );
  });

  it("a well-formed one validates", async () => {
    const f = await planFile("good.yaml", "s3://ops-rollwave/journals/");
    const r = await cli(["validate", f]);
    expect(r.stderr).not.toMatch(/journal/);
    expect(r.code).toBe(0);
  });
});

describe("--journal", () => {
  it("a malformed s3:// URL names the flag (exit 2)", async () => {
    const f = await planFile("p1.yaml");
    const r = await cli(["deploy", f, "--journal", "s3://x", "--yes"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--journal: 'x' is not a valid S3 bucket name/);
  });

  it("with --journal-dir, or as S3 with --simulate, is refused before anything runs (exit 2)", async () => {
    const f = await planFile("p2.yaml");
    const both = await cli(
      ["deploy", f, "--simulate", "--journal", "s3://ops-rollwave/j", "--journal-dir", dir, "--yes"],
      fakeIo(),
    );
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--journal and --journal-dir both choose where the journal lives/);
    const sim = await cli(["deploy", f, "--simulate", "--journal", "s3://ops-rollwave/j", "--yes"]);
    expect(sim.code).toBe(2);
    expect(sim.stderr).toMatch(/--journal s3:\/\/… with --simulate/);
    expect(sim.stderr).toMatch(/hint: start a standalone `rollwave sim`/);
  }, 60_000);
});

describe("iam-policy with the journal in S3", () => {
  const s3Statements = (stdout: string) =>
    (JSON.parse(stdout) as IamPolicy).Statement.filter((s) => s.Action.some((a) => a.startsWith("s3:")));

  it("scopes object access to <prefix>/<plan>/* and listing to that prefix; none without an S3 journal", async () => {
    const f = await planFile("iam.yaml", "s3://ops-rollwave/journals");
    const r = await cli(["iam-policy", f]);
    expect(r.code).toBe(0);
    expect(s3Statements(r.stdout)).toEqual([
      {
        Sid: "JournalObjects",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject"],
        Resource: "arn:aws:s3:::ops-rollwave/journals/mini/*",
      },
      {
        Sid: "ListJournal",
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: "arn:aws:s3:::ops-rollwave",
        Condition: { StringLike: { "s3:prefix": "journals/mini/*" } },
      },
    ]);
    // --journal overrides the plan: another bucket, or a directory (no S3 at all).
    const other = await cli(["iam-policy", f, "--journal", "s3://other-bucket"]);
    expect(s3Statements(other.stdout).map((s) => s.Resource)).toEqual([
      "arn:aws:s3:::other-bucket/mini/*",
      "arn:aws:s3:::other-bucket",
    ]);
    const local = await cli(["iam-policy", f, "--journal", dir]);
    expect(s3Statements(local.stdout)).toEqual([]);
    // plan (discovery) never touches the journal.
    const discovery = await cli(["iam-policy", f, "--for", "plan"]);
    expect(s3Statements(discovery.stdout)).toEqual([]);
  });
});
