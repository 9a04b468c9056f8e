/**
 * `rollwave plan --out` then `rollwave deploy --plan`: apply exactly what was reviewed, and refuse
 * (exit 2, nothing mutated, a readable diff) when the fleet, the plan file or the saved file changed.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RolloutEvent } from "../../src/engine/events.js";
import type { SavedPlan } from "../../src/rollout/saved-plan.js";
import { type RunningSimulator, startSimulator } from "../../src/sim/index.js";
import { cli } from "./harness.js";
import { mutatingCalls, SMALL_FLEET, SMALL_PLAN, standaloneSim } from "./sim-env.js";

const SIM = ["--simulate", SMALL_FLEET, "--seed", "7"];
const FAST = [...SIM, "--time-scale", "400"];

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "rollwave-saved-"));
}

/** `rollwave plan <plan> … --out <dir>/plan.json`, returning the file and the run. */
async function savePlan(dir: string, args: string[], plan = SMALL_PLAN) {
  const out = join(dir, "plan.json");
  const r = await cli(["plan", plan, "--var", "release=v2.0.0", ...args, "--output", "json", "--out", out]);
  return { out, r };
}

function events(stdout: string): RolloutEvent[] {
  return stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as RolloutEvent);
}

describe("plan --out / deploy --plan under --simulate", () => {
  it("saves a versioned, hashed plan and applies it when nothing changed", async () => {
    const dir = await tempDir();
    const { out, r } = await savePlan(dir, SIM);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`rollwave deploy --plan ${out}`);
    const saved = JSON.parse(await readFile(out, "utf8")) as SavedPlan;
    expect(saved.format).toBe("rollwave.plan/1");
    expect(saved.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(saved.plan.file).toBe(SMALL_PLAN);
    expect(saved.plan.hash).toMatch(/^sha256:/);
    expect(saved.vars).toEqual({ release: "v2.0.0" });
    expect(saved.target).toEqual({ source: "simulator", account: "123456789012", region: "ap-northeast-1" });
    expect(saved.fleet.instances).toHaveLength(12);
    expect(saved.fleet.instances[0]?.targetGroups.length).toBe(2);
    const planned = saved.waves.flatMap((w) => w.instances);
    expect(new Set(planned).size).toBe(12);

    const d = await cli(["deploy", "--plan", out, ...FAST, "--yes", "--auto-approve", "--output", "json"]);
    expect(d.stderr).not.toMatch(/error/);
    expect(d.code).toBe(0);
    const evs = events(d.stdout);
    const finished = evs.find((e) => e.type === "rollout.finished") as { status?: string } | undefined;
    expect(finished?.status).toBe("succeeded");
    // The same waves, in the same order, as were saved.
    const waves = evs
      .filter((e) => e.type === "wave.started")
      .map((e) => (e as Extract<RolloutEvent, { type: "wave.started" }>).instanceIds);
    expect(waves).toEqual(saved.waves.map((w) => w.instances));
  });

  it("refuses a saved plan edited after it was written (hash mismatch)", async () => {
    const dir = await tempDir();
    const { out } = await savePlan(dir, SIM);
    const saved = JSON.parse(await readFile(out, "utf8")) as SavedPlan;
    saved.vars.release = "v9.9.9";
    await writeFile(out, JSON.stringify(saved, null, 2));
    const d = await cli(["deploy", "--plan", out, ...FAST, "--yes", "--auto-approve"]);
    expect(d.code).toBe(2);
    expect(d.stderr).toContain("was changed after `rollwave plan` wrote it");
    expect(d.stdout).toBe("");
  });

  it("refuses when the plan file changed since (its hash), listing it", async () => {
    const dir = await tempDir();
    const plan = join(dir, "relay.yaml");
    await writeFile(plan, await readFile(SMALL_PLAN, "utf8"));
    const { out } = await savePlan(dir, SIM, plan);
    await writeFile(plan, `${await readFile(plan, "utf8")}# edited after review\n`);
    const d = await cli(["deploy", "--plan", out, ...FAST, "--yes", "--auto-approve"]);
    expect(d.code).toBe(2);
    expect(d.stderr).toContain(`the fleet or the plan changed since ${out} was saved; nothing was changed`);
    expect(d.stderr).toMatch(
      new RegExp(`~ plan file ${plan.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: edited since`),
    );
  });

  it("refuses a plan file argument or --var beside --plan, and a simulated plan without --simulate", async () => {
    const dir = await tempDir();
    const { out } = await savePlan(dir, SIM);
    const both = await cli(["deploy", SMALL_PLAN, "--plan", out, ...FAST, "--yes"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--plan applies a saved plan as it was reviewed/);
    const vars = await cli(["deploy", "--plan", out, "--var", "release=v3.0.0", ...FAST, "--yes"]);
    expect(vars.code).toBe(2);
    expect(vars.stderr).toMatch(/--var cannot be given with it/);
    const real = await cli(["deploy", "--plan", out, "--yes"]);
    expect(real.code).toBe(2);
    expect(real.stderr).toMatch(/saved against a simulated fleet/);
    const none = await cli(["deploy", "--yes"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/deploy needs a plan/);
    const missing = await cli(["deploy", "--plan", join(dir, "nope.json"), "--yes"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read .*nope\.json: ENOENT/);
  });

  it("dry-runs a saved plan: account and Region, capacity math, what a failure does, the ETA", async () => {
    const dir = await tempDir();
    const { out } = await savePlan(dir, SIM);
    const d = await cli(["deploy", "--plan", out, ...SIM, "--dry-run"]);
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(
      /^simulator http:\/\/127\.0\.0\.1:\d+ · region ap-northeast-1 · account 123456789012$/m,
    );
    expect(d.stdout).toMatch(/^Capacity \(CameraRelay\/ActiveConnections/m);
    expect(d.stdout).toContain("on failure (more than 0 failed): rollback");
    expect(d.stdout).toContain(
      "SSM.SendCommand rollback: /opt/relay/bin/install --previous; systemctl restart relay (timeout 300s)",
    );
    expect(d.stdout).toMatch(/^ETA \S+ to \S+ \(commands instant/m);
    // small-relay: drain ≤ 60 s (NLB delay), health 10 s × 3 + 1 s, stable 30 s; commands ≤ 6 m + 5 m + 1 m.
    expect(d.stdout).toContain("a cycle: drain 1m + health 31s + stable 30s, plus commands 0 to 12m");
    const json = await cli(["deploy", "--plan", out, ...SIM, "--dry-run", "--output", "json"]);
    const report = JSON.parse(json.stdout) as {
      account: string;
      region: string;
      eta: {
        lowMs: number;
        highMs: number;
        cycleMs: number;
        window: number;
        rounds: number;
        canaryRounds: number;
      };
    };
    expect(report.account).toBe("123456789012");
    expect(report.region).toBe("ap-northeast-1");
    const e = report.eta;
    expect(e.cycleMs).toBe(121_000);
    expect(e.lowMs).toBe((e.canaryRounds + e.rounds) * e.cycleMs + 60_000);
    expect(e.highMs).toBe((e.canaryRounds + e.rounds) * (e.cycleMs + 12 * 60_000) + 60_000);
  });
});

describe("plan checks the account guard", () => {
  it("warns on stderr (exit 0) for a plan whose guard.account is not the credentials', and refuses to save it", async () => {
    const dir = await tempDir();
    const plan = join(dir, "other-account.yaml");
    const text = (await readFile(SMALL_PLAN, "utf8")).replace(
      'account: "123456789012"',
      'account: "111111111111"',
    );
    expect(text).toContain("111111111111");
    await writeFile(plan, text);
    const r = await cli(["plan", plan, ...SIM, "--var", "release=v2.0.0", "--output", "json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveProperty("waves");
    expect(r.stderr).toContain(
      "warning: account guard: the credentials are for account 123456789012, the plan (guard.account) is for 111111111111",
    );
    const { out, r: saved } = await savePlan(dir, SIM, plan);
    expect(saved.code).toBe(2);
    expect(saved.stderr).toMatch(/`deploy --plan` would refuse it, so .*plan\.json was not written/);
    expect(existsSync(out)).toBe(false);
  });
});

describe("deploy --plan against a fleet that changed (a standalone simulator)", () => {
  let sim: RunningSimulator;
  let other: RunningSimulator;
  let dir: string;
  beforeAll(async () => {
    sim = await standaloneSim();
    dir = await tempDir();
    // The same fleet with one more server in ap-northeast-1c.
    const spec = join(dir, "fleet-13.yaml");
    const text = (await readFile(SMALL_FLEET, "utf8")).replace(
      "ap-northeast-1c: 5 }",
      "ap-northeast-1c: 6 }",
    );
    expect(text).toContain("ap-northeast-1c: 6 }");
    await writeFile(spec, text);
    other = await startSimulator({ fleet: spec, timeScale: 60, seed: 7 });
  });
  afterAll(async () => {
    await sim.close();
    await other.close();
  });
  const at = (s: RunningSimulator) => ["--endpoint-url", s.endpoint, "--region", s.region];

  it("refuses with a diff naming the added instance, before any mutating call (exit 2)", async () => {
    const { out, r } = await savePlan(dir, at(sim));
    expect(r.code).toBe(0);
    const saved = JSON.parse(await readFile(out, "utf8")) as SavedPlan;
    expect(saved.target.source).toBe("aws");
    const d = await cli(["deploy", "--plan", out, ...at(other), "--yes", "--auto-approve"]);
    expect(d.code).toBe(2);
    expect(d.stderr).toContain("the fleet or the plan changed since");
    const added = d.stderr
      .split("\n")
      .filter((l) => /^ {2}\+ i-\S+ {2}ap-northeast-1c {2}added to the fleet$/.test(l));
    const savedIds = new Set(saved.fleet.instances.map((i) => i.id));
    expect(added.length).toBeGreaterThanOrEqual(1);
    for (const l of added) expect(savedIds.has(l.trim().split(/\s+/)[1] ?? "")).toBe(false);
    expect(d.stdout).toBe("");
    expect(mutatingCalls(other)).toEqual([]);
  });

  it("refuses when an instance is gone, and the unchanged fleet still deploys its dry run", async () => {
    const { out } = await savePlan(dir, at(sim));
    const ok = await cli(["deploy", "--plan", out, ...at(sim), "--dry-run"]);
    expect(ok.code).toBe(0);
    const saved = JSON.parse(await readFile(out, "utf8")) as SavedPlan;
    const victim = saved.fleet.instances[3]?.id ?? "";
    const res = await fetch(`${sim.endpoint}/_sim/control`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ op: "terminateInstance", instanceId: victim }),
    });
    expect(res.ok).toBe(true);
    const d = await cli(["deploy", "--plan", out, ...at(sim), "--yes", "--auto-approve"]);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(new RegExp(`^ {2}- ${victim} {2}\\S+ {2}gone from the fleet$`, "m"));
    expect(mutatingCalls(sim)).toEqual([]);
  });
});

describe("deploy without a terminal or --auto-approve", () => {
  it("warns (a run-context rule, in the CLI) that the canary's approval gate will pause the run", async () => {
    const r = await cli([
      "deploy",
      SMALL_PLAN,
      ...FAST,
      "--var",
      "release=v2.0.0",
      "--yes",
      "--output",
      "json",
    ]);
    expect(r.stderr).toMatch(
      /small-relay\.yaml:\d+:\d+ {2}rollout\.canary\.approve {2}warning: this run cannot be approved interactively/,
    );
    expect(r.code).toBe(3);
  });
});
