#!/usr/bin/env node
// Runs every benchmark in bench/ against the built code (dist/) and writes bench/results/latest.json.
// Benchmarks are separate processes so one's memory and CPU never colour another's numbers.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const only = process.argv.slice(2);

const build = spawnSync("npm", ["run", "-s", "build"], { cwd: root, stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);

const scripts = readdirSync(here)
  .filter((f) => f.endsWith(".mjs") && f !== "run.mjs")
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

const results = {
  at: new Date().toISOString(),
  node: process.version,
  cpus: (await import("node:os")).cpus().length,
  benches: {},
};
let failed = false;
for (const script of scripts) {
  console.error(`── ${script}`);
  const r = spawnSync(process.execPath, ["--expose-gc", join(here, script)], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 * 1024 * 1024,
    // The SDK warns on every run that Node 20 support ends; the CLI silences it the same way.
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  });
  const out = r.stdout.trim();
  process.stdout.write(`${out}\n`);
  if (r.status !== 0) {
    failed = true;
    results.benches[script] = { error: `exit ${r.status}` };
    continue;
  }
  results.benches[script] = parseResult(out);
}
mkdirSync(join(here, "results"), { recursive: true });
writeFileSync(join(here, "results", "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
console.error(`wrote bench/results/latest.json`);
process.exit(failed ? 1 : 0);

/** A bench prints one JSON document: pretty-printed, or as the last of several lines. */
function parseResult(out) {
  for (const candidate of [out, out.split("\n").filter(Boolean).at(-1)]) {
    try {
      return JSON.parse(candidate);
    } catch {}
  }
  return { raw: out };
}
