#!/usr/bin/env node
// `npm run bench [-- --quick] [-- name…]`: builds dist/, runs every bench/*.mjs in its own Node
// process (so one bench's heap and CPU never colour another's), prints each script's `rows` as one
// table per scenario with its target and a ✔/✘ mark, and writes everything to bench/results.json
// with the machine and the date. The contract every script follows is in bench/README.md.
//
//   node bench/run.mjs [--quick] [--no-build] [--out file] [--dir dir] [name-fragment…]
//
// Exit code: 0 when every script ran (a missed target is reported, not an error), 1 when a script
// failed or printed no JSON document.
import { spawnSync } from "node:child_process";
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
  },
});
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
for (const script of scripts) {
  const name = basename(script, ".mjs");
  process.stderr.write(`── ${script}${values.quick ? " --quick" : ""}\n`);
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    ["--expose-gc", join(dir, script), ...(values.quick ? ["--quick"] : [])],
    {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 256 * 1024 * 1024,
      // The SDK warns on every run that Node 20 support ends; the CLI silences it the same way.
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    },
  );
  const wallSeconds = Math.round((performance.now() - t0) / 100) / 10;
  const doc = parseResult(r.stdout ?? "");
  if (r.status !== 0 || doc === undefined) {
    failed = true;
    const why = r.status !== 0 ? `exit ${r.status ?? r.signal}` : "printed no JSON document";
    process.stderr.write(`   ✘ ${script}: ${why}\n`);
    results.benches[name] = { error: why, wallSeconds, ...(doc ? { result: doc } : {}) };
    continue;
  }
  results.benches[name] = { wallSeconds, ...doc };
  process.stdout.write(formatRows(Array.isArray(doc.rows) ? doc.rows : [], script));
}
results.wallSeconds = Math.round((performance.now() - started) / 100) / 10;
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
process.stderr.write(`wrote ${out} (${results.wallSeconds} s)\n`);
process.exit(failed ? 1 : 0);

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
