#!/usr/bin/env node
// Scale (rollout-speed issue §3): the 10,000-server, 1,000,000-camera fleet
// (plans/sim/camera-fleet-10k.yaml) with plans/camera-relay.yaml.
//
// 1. Preview from an inventory: the fleet written as an inventory file (bench/lib/world-inventory.mjs),
//    then `rollwave plan --inventory` as a user runs it, a fresh process each time (median wall, its
//    CPU and peak RSS, measured inside that process by bench/lib/rusage.mjs). Target < 0.5 s.
// 2. Preview from the simulator (full run only): `rollwave sim` standalone, then `rollwave plan
//    --sim-clock` discovering the fleet over the real SDK. Target < 0.5 s.
// 3. Full rollout (full run only): `rollwave deploy --sim-clock --yes --auto-approve` against the
//    standalone simulator in its own process, with the displacement limit scaled with the fleet
//    (30,000/min for 10× the cameras of the 3,000/min plan). The orchestrator process alone is
//    measured: peak RSS (< 200 MB), CPU seconds, calls per instance (≤ 3), makespan; the simulator
//    gives cameras refused (0) and p99 disconnect (≤ 10 s).
//
//   npm run build && node bench/scale.mjs [--quick] [--time-scale 20] [--skip-rollout]
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { inventoryOfFleetSpec } from "./lib/world-inventory.mjs";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    "time-scale": { type: "string", default: "20" },
    "skip-rollout": { type: "boolean", default: false },
  },
});
const quick = values.quick;
const FLEET = "plans/sim/camera-fleet-10k.yaml";
const PLAN = "plans/camera-relay.yaml";
const BIN = "bin/rollwave.js";
const RUSAGE = new URL("./lib/rusage.mjs", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "rollwave-bench-scale-"));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const env = (extra = {}) => {
  const e = {
    ...process.env,
    AWS_ACCESS_KEY_ID: "simulator",
    AWS_SECRET_ACCESS_KEY: "simulator",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    CI: "true",
    ...extra,
  };
  delete e.AWS_PROFILE;
  return e;
};

/** Run the CLI once in its own process; its own figures come back from bench/lib/rusage.mjs. */
function cli(args, extraEnv = {}) {
  const file = join(dir, `rusage-${Math.random().toString(36).slice(2)}.json`);
  const r = spawnSync(process.execPath, ["--import", RUSAGE, BIN, ...args], {
    encoding: "utf8",
    env: env({ ROLLWAVE_BENCH_RUSAGE: file, ...extraEnv }),
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`rollwave ${args.join(" ")}: exit ${r.status}\n${r.stderr}`);
  return { stdout: r.stdout, usage: JSON.parse(readFileSync(file, "utf8")) };
}

/** `rollwave sim` in the background until stop(). */
async function startSim(scale) {
  const child = spawn(
    process.execPath,
    [BIN, "sim", "--fleet", FLEET, "--port", "0", "--time-scale", String(scale), "--seed", "1"],
    { env: env(), stdio: ["ignore", "pipe", "pipe"] },
  );
  const t0 = performance.now();
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => {
    err += d;
  });
  const endpoint = await new Promise((resolve, reject) => {
    const onData = (d) => {
      out += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        child.stdout.off("data", onData);
        child.stdout.resume();
        resolve(m[1]);
      }
    };
    child.stdout.on("data", onData);
    child.once("exit", (code) => reject(new Error(`rollwave sim exited ${code}: ${err}${out}`)));
  });
  const startSeconds = Math.round((performance.now() - t0) / 100) / 10;
  const get = async (path) => (await fetch(`${endpoint}${path}`)).json();
  return {
    endpoint,
    startSeconds,
    get,
    post: (path, body) => fetch(`${endpoint}${path}`, { method: "POST", body: JSON.stringify(body) }),
    async stop() {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await gone;
    },
  };
}

const rows = [];
const scenario = "scale (10,000 servers, 1,000,000 cameras)";
const row = (metric, value, unit, target, pass) =>
  rows.push({
    scenario,
    metric,
    value,
    ...(unit ? { unit } : {}),
    ...(target ? { target } : {}),
    ...(pass !== undefined ? { pass } : {}),
  });
const result = { bench: "scale", quick, fleet: FLEET, plan: PLAN };

try {
  // 1. Preview from the inventory.
  const inventory = join(dir, "inventory-10k.json");
  writeFileSync(inventory, JSON.stringify(await inventoryOfFleetSpec(FLEET)));
  const runs = [];
  for (let i = 0; i < (quick ? 3 : 7); i++) {
    runs.push(cli(["plan", PLAN, "--var", "release=v2.0.0", "--inventory", inventory, "--output", "json"]));
  }
  const preview = JSON.parse(runs[0].stdout);
  const wall = median(runs.map((r) => r.usage.wallMs));
  const cpu = median(runs.map((r) => r.usage.cpuUserMs + r.usage.cpuSystemMs));
  const rss = Math.max(...runs.map((r) => r.usage.maxRssMB));
  result.previewFromInventory = { runs: runs.map((r) => r.usage), waves: preview.waves?.length };
  row(`plan --inventory: instances planned`, preview.fleet?.instances ?? 0);
  row("plan --inventory: wall (median, whole process)", wall, "ms", "< 500", wall < 500);
  row("plan --inventory: CPU (median)", cpu, "ms");
  row("plan --inventory: peak RSS", rss, "MB");

  if (!quick) {
    // 2. Preview from the simulator, and 3. the rollout, against one standalone simulator each.
    const sim = await startSim(Number(values["time-scale"]));
    try {
      row("rollwave sim: start (10,000 servers, 1,000,000 cameras)", sim.startSeconds, "s");
      const viaSim = cli(["plan", PLAN, "--var", "release=v2.0.0", "--output", "json", "--sim-clock"], {
        AWS_ENDPOINT_URL: sim.endpoint,
        AWS_REGION: "ap-northeast-1",
      });
      const api = (await sim.get("/_sim/metrics")).api;
      result.previewFromSimulator = { usage: viaSim.usage, apiCalls: api };
      const w = viaSim.usage.wallMs;
      row("plan (simulator, --sim-clock): wall", w, "ms", "< 500", w < 500);
      row("plan (simulator): CPU", viaSim.usage.cpuUserMs + viaSim.usage.cpuSystemMs, "ms");
      row("plan (simulator): discovery calls", api.total);
      row("plan (simulator): peak RSS", viaSim.usage.maxRssMB, "MB");
    } finally {
      await sim.stop();
    }
    if (!values["skip-rollout"]) result.rollout = await rollout();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

async function rollout() {
  const scale = Number(values["time-scale"]);
  const plan = join(dir, "camera-relay-10k.yaml");
  const text = readFileSync(PLAN, "utf8");
  const scaled = text.replace(/maxDisplacedPerMinute: 3000\b/, "maxDisplacedPerMinute: 30000");
  if (scaled === text) throw new Error(`${PLAN}: maxDisplacedPerMinute: 3000 not found`);
  writeFileSync(plan, scaled);
  const sim = await startSim(scale);
  try {
    const journal = join(dir, "journal");
    const file = join(dir, "rusage-deploy.json");
    const t0 = performance.now();
    const child = spawn(
      process.execPath,
      [
        "--import",
        RUSAGE,
        BIN,
        "deploy",
        plan,
        "--var",
        "release=v2.0.0",
        "--yes",
        "--auto-approve",
        "--sim-clock",
        "--output",
        "json",
        "--journal-dir",
        journal,
      ],
      {
        env: env({
          ROLLWAVE_BENCH_RUSAGE: file,
          AWS_ENDPOINT_URL: sim.endpoint,
          AWS_REGION: "ap-northeast-1",
        }),
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    // Keep only the last event line: a 10k rollout prints hundreds of thousands.
    let last = "";
    let tail = "";
    let err = "";
    child.stdout.on("data", (d) => {
      tail += d;
      const cut = tail.lastIndexOf("\n");
      if (cut >= 0) {
        const lines = tail.slice(0, cut).split("\n");
        last = lines.at(-1) || last;
        tail = tail.slice(cut + 1);
      }
    });
    child.stderr.on("data", (d) => {
      err = (err + d).slice(-4000);
    });
    const code = await new Promise((r) => child.once("exit", r));
    const wallSeconds = Math.round((performance.now() - t0) / 1000);
    const finished = JSON.parse(last || "{}");
    const usage = JSON.parse(readFileSync(file, "utf8"));
    const metrics = await sim.get("/_sim/metrics");
    const ended = finished.type === "rollout.finished";
    const cpuSeconds = Math.round((usage.cpuUserMs + usage.cpuSystemMs) / 100) / 10;
    row(
      `rollout: status (exit ${code})`,
      ended ? finished.status : "did not finish",
      undefined,
      "succeeded",
      finished.status === "succeeded",
    );
    if (ended) {
      const perInstance = Math.round((finished.apiCalls.total / finished.instances.total) * 100) / 100;
      row("rollout: makespan (simulated)", Math.round(finished.durationSeconds / 6) / 10, "min");
      row("rollout: calls per instance", perInstance, undefined, "≤ 3", perInstance <= 3);
    } else {
      // Stopped early (a signal, a pause): how far it got, from the simulator.
      const state = await sim.get("/_sim/state");
      const updated = state.instances.filter((i) => i.version === "v2.0.0").length;
      row("rollout: instances on the new release when it stopped", updated);
      row("rollout: simulator calls so far (discovery included)", metrics.api.total);
    }
    row(`rollout: wall at ${scale}×`, wallSeconds, "s");
    row("rollout: orchestrator peak RSS", usage.maxRssMB, "MB", "< 200", usage.maxRssMB < 200);
    row("rollout: orchestrator CPU", cpuSeconds, "s");
    row("rollout: cameras refused", metrics.cameras.refused, undefined, "0", metrics.cameras.refused === 0);
    const p99 = metrics.cameras.disconnectSeconds.p99;
    row("rollout: p99 disconnect", p99, "s", "≤ 10", p99 <= 10);
    row(
      "rollout: invariant violations",
      metrics.invariantViolations.length,
      undefined,
      "0",
      metrics.invariantViolations.length === 0,
    );
    return {
      exitCode: code,
      timeScale: scale,
      wallSeconds,
      usage,
      finished: { ...finished, connections: undefined },
      cameras: metrics.cameras,
      stderrTail: code === 0 ? undefined : err,
    };
  } finally {
    await sim.stop();
  }
}

console.log(JSON.stringify({ ...result, rows }, null, 2));
