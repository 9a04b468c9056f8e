/** `--output` names across commands, `validate --output json`, and resuming a simulated rollout. */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SNAPSHOT_FILE } from "../../src/cli/sim-snapshot.js";
import { cli, fakeIo } from "./harness.js";
import { SMALL_FLEET, SMALL_PLAN } from "./sim-env.js";

describe("--output names", () => {
  it("validate takes tty, plain and json; json is one document with the warnings", async () => {
    for (const mode of ["tty", "plain"]) {
      const r = await cli(["validate", "plans/camera-relay.yaml", "--output", mode]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/plan camera-relay is valid/);
    }
    const r = await cli(["validate", "plans/camera-relay.yaml", "--output", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { file: string; valid: boolean; name: string; warnings: unknown[] };
    expect(doc).toMatchObject({ file: "plans/camera-relay.yaml", valid: true, name: "camera-relay" });
    expect(Array.isArray(doc.warnings)).toBe(true);
  });

  it("plan takes the same names (and still table); a wrong one is a usage error naming them", async () => {
    const args = [
      "plan",
      "plans/camera-relay.yaml",
      "--inventory",
      "test/fixtures/inventory-1000.json",
      "--var",
      "release=v2.0.0",
    ];
    const plain = await cli([...args, "--output", "plain"]);
    const table = await cli([...args, "--output", "table"]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toBe(table.stdout);
    expect(plain.stdout).toMatch(/WAVE +KIND/);
    const json = await cli([...args, "--output", "json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ name: "camera-relay" });
    const bad = await cli([...args, "--output", "yaml"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--output must be tty, plain or json, got 'yaml'/);
  });
});

describe("resume --simulate", () => {
  const ARGS = [
    "--simulate",
    SMALL_FLEET,
    "--time-scale",
    "400",
    "--var",
    "release=v2.0.0",
    "--yes",
    "--output",
    "plain",
  ];

  it("restores the simulated fleet from the snapshot beside the journal, and refuses a missing or broken one", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollwave-sim-resume-"));
    try {
      // No --auto-approve and no terminal: the run pauses at the canary's approval gate.
      const first = await cli(["deploy", SMALL_PLAN, ...ARGS, "--journal-dir", dir]);
      expect(first.code, first.stderr).toBe(3);
      const file = join(dir, "small-relay", SNAPSHOT_FILE);
      const text = await readFile(file, "utf8");
      const snap = JSON.parse(text) as { instances: { installedVersion: string }[] };
      // The canary (one per AZ) is on the new release in the snapshot.
      expect(snap.instances.filter((i) => i.installedVersion === "v2.0.0")).toHaveLength(2);

      await writeFile(file, "{ not json");
      const broken = await cli(["resume", SMALL_PLAN, ...ARGS, "--journal-dir", dir]);
      expect(broken.code).toBe(2);
      expect(broken.stderr).toMatch(
        /cannot resume this simulated rollout: the snapshot of its simulated fleet is unreadable/,
      );

      await rm(file);
      const missing = await cli(["resume", SMALL_PLAN, ...ARGS, "--journal-dir", dir]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/there is no snapshot of its simulated fleet/);
      expect(missing.stderr).toMatch(/hint: start it again with `rollwave deploy … --simulate`/);

      await writeFile(file, text);
      const other = await cli(["resume", SMALL_PLAN, ...ARGS, "--journal-dir", dir, "--seed", "99"]);
      expect(other.code).toBe(2);
      expect(other.stderr).toMatch(
        /cannot restore the simulated fleet: the snapshot was taken with --seed 1, not 99/,
      );

      const io = fakeIo({ env: { NO_COLOR: "1" } });
      const resumed = await cli(["resume", SMALL_PLAN, ...ARGS, "--journal-dir", dir], io);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stdout).toMatch(/rollout small-relay succeeded/);
      // The canary was not deployed again: it was already on the release in the restored fleet.
      expect(resumed.stdout).not.toMatch(/wave 0 \(canary\) started/);
      expect(resumed.stdout).toMatch(/instances {3}12 total · 12 succeeded/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
