#!/usr/bin/env node
// `npm run bench [-- --quick] [-- name…]`: builds dist/, runs every bench/*.mjs in its own Node
// process (so one bench's heap and CPU never colour another's), prints each script's `rows` as one
// table per scenario with its target and a ✔/✘ mark, and writes everything to bench/results.json
// with the machine and the date. The contract every script follows is in bench/README.md.
//
//   node bench/run.mjs [--quick] [--no-build] [--jobs N] [--out file] [--dir dir] [name-fragment…]
//
// `--jobs N` runs N scripts at a time (default 1). Only for checking that the suite runs (the CI
// test): scripts running side by side colour each other's wall, CPU and memory figures; the
// simulated makespans and call counts of the virtual-clock benches are unaffected.
//
// Exit code: 0 when every script ran (a missed target is reported, not an error), 1 when a script
// failed or printed no JSON document.
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: "boolean", default: false },
    "no-build": { type: "boolean", default: false },
    out: { type: "string" },
    dir: { type: "string" },
    jobs: { type: "string", default: "1" },
  },
});
const jobs = Math.max(1, Number.parseInt(values.jobs, 10) || 1);
const dir = values.dir ? resolve(values.dir) : here;
const out = values.out ? resolve(values.out) : join(here, "results.json");

/**
 * Scripts that are tools rather than suite members: `rollout.mjs` is one rollout with experiment
 * flags (--strategy, --scale, --no-displacement-limit); efficiency.mjs runs the same rollout for both
 * strategies in the suite.
 */
const TOOLS = new Set(["run.mjs", "rollout.mjs"]);

if (!values["no-build"]) {
  const build = spawnSync("npm", ["run", "-s", "build"], { cwd: root, stdio: "inherit" });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const scripts = readdirSync(dir)
  .filter((f) => f.endsWith(".mjs") && !TOOLS.has(f))
  .filter((f) => positionals.length === 0 || positionals.some((o) => f.includes(o)))
  .sort();

const results = {
  date: new Date().toISOString(),
  quick: values.quick,
  machine: machine(),
  benches: {},
};
let failed = false;
const started = performance.now();
// Scripts run `jobs` at a time; their tables are printed in name order as soon as all before are done.
const done = new Array(scripts.length);
let printed = 0;
let next = 0;
const flush = () => {
  while (printed < scripts.length && done[printed]) {
    const { script, doc, error, stderr } = done[printed++];
    if (jobs > 1) process.stderr.write(`── ${header(script)}\n${stderr}`);
    if (error) process.stderr.write(`   ✘ ${script}: ${error}\n`);
    else process.stdout.write(formatRows(Array.isArray(doc.rows) ? doc.rows : [], script));
  }
};
await Promise.all(
  Array.from({ length: Math.min(jobs, scripts.length) }, async () => {
    while (next < scripts.length) {
      const k = next++;
      const script = scripts[k];
      const name = basename(script, ".mjs");
      if (jobs === 1) process.stderr.write(`── ${header(script)}\n`);
      const t0 = performance.now();
      const r = await runScript(join(dir, script));
      const wallSeconds = Math.round((performance.now() - t0) / 100) / 10;
      const doc = parseResult(r.stdout);
      let error;
      if (r.code !== 0 || doc === undefined) {
        failed = true;
        error = r.code !== 0 ? `exit ${r.code ?? r.signal}` : "printed no JSON document";
        results.benches[name] = { error, wallSeconds, ...(doc ? { result: doc } : {}) };
      } else {
        results.benches[name] = { wallSeconds, ...doc };
      }
      done[k] = { script, doc, error, stderr: r.stderr };
      flush();
    }
  }),
);
results.benches = Object.fromEntries(Object.entries(results.benches).sort(([a], [b]) => a.localeCompare(b)));
results.wallSeconds = Math.round((performance.now() - started) / 100) / 10;
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
process.stderr.write(`wrote ${out} (${results.wallSeconds} s)\n`);
process.exit(failed ? 1 : 0);

function header(script) {
  return `${script}${values.quick ? " --quick" : ""}`;
}

/** One script in its own Node process; its stdout is the JSON document, its stderr its progress. */
function runScript(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--expose-gc", file, ...(values.quick ? ["--quick"] : [])], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      // The SDK warns on every run that Node 20 support ends; the CLI silences it the same way.
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    });
    const out = [];
    const err = [];
    child.stdout.on("data", (d) => out.push(d));
    child.stderr.on("data", (d) => {
      // Progress shows live when scripts run one at a time; side by side it is kept for the flush.
      if (jobs === 1) process.stderr.write(d);
      else err.push(d);
    });
    child.once("close", (code, signal) =>
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
  });
}

/** CPU model, cores, memory, Node version and platform: numbers belong to a machine. */
function machine() {
  const c = cpus();
  return {
    cpu: c[0]?.model?.trim() ?? "unknown",
    cores: c.length,
    memoryGB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** A script prints one JSON document: pretty-printed, or as the last of several lines. */
function parseResult(text) {
  const trimmed = text.trim();
  for (const candidate of [trimmed, trimmed.split("\n").filter(Boolean).at(-1)]) {
    if (!candidate) continue;
    try {
      const doc = JSON.parse(candidate);
      if (doc !== null && typeof doc === "object" && !Array.isArray(doc)) return doc;
    } catch {}
  }
  return undefined;
}

/**
 * One table per scenario, in the order the scenarios first appear:
 *
 *   efficiency (plans/camera-relay.yaml, 1,000 servers)
 *     metric                        value      target
 *     window: bound ÷ makespan      0.84       ≥ 0.95   ✘
 */
function formatRows(rows, script) {
  const byScenario = new Map();
  for (const r of rows) {
    const key = String(r.scenario ?? script);
    if (!byScenario.has(key)) byScenario.set(key, []);
    byScenario.get(key).push(r);
  }
  let text = "";
  for (const [scenario, list] of byScenario) {
    const cells = list.map((r) => [
      String(r.metric),
      `${formatValue(r.value)}${r.unit ? ` ${r.unit}` : ""}`,
      r.target === undefined ? "" : String(r.target),
      r.pass === undefined ? "" : r.pass ? "✔" : "✘",
    ]);
    const head = ["metric", "value", "target", ""];
    const width = head.map((h, k) => Math.max(h.length, ...cells.map((c) => c[k].length)));
    const line = (c) =>
      `  ${c[0].padEnd(width[0])}  ${c[1].padStart(width[1])}  ${c[2].padEnd(width[2])}  ${c[3]}`.trimEnd();
    text += `\n${scenario}\n${line(head)}\n${cells.map(line).join("\n")}\n`;
  }
  return text;
}

function formatValue(v) {
  if (typeof v === "number") return Number.isInteger(v) ? v.toLocaleString("en-US") : String(v);
  return String(v);
}
