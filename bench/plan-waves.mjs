#!/usr/bin/env node
// The pure planner on large generated fleets: inventory load (JSON parse + validation) and wave
// planning time for 1,000 and 12,000 instances (the upper end of the property tests), median of
// several runs so one GC pause does not decide the number.
// Usage: npm run build && node bench/plan-waves.mjs
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadInventory } from "../dist/fleet/inventory.js";
import { parsePlanText } from "../dist/plan/load.js";
import { planWaves } from "../dist/waves/plan-waves.js";

const plan = parsePlanText(readFileSync("plans/camera-relay.yaml", "utf8"), "plans/camera-relay.yaml", {
  vars: ["release=v2.0.0"],
}).plan;
const dir = mkdtempSync(join(tmpdir(), "rollwave-bench-"));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {};
for (const n of [1_000, 12_000]) {
  const file = join(dir, `inventory-${n}.json`);
  execFileSync(process.execPath, [
    "test/fixtures/make-inventory.mjs",
    "--instances",
    String(n),
    "--out",
    file,
  ]);
  const loads = [];
  const plans = [];
  let waves = 0;
  for (let i = 0; i < 7; i++) {
    let t = performance.now();
    const fleet = await loadInventory(file, plan.fleet);
    loads.push(performance.now() - t);
    t = performance.now();
    waves = planWaves(fleet, plan).waves.length;
    plans.push(performance.now() - t);
  }
  results[n] = {
    loadInventoryMs: Math.round(median(loads)),
    planWavesMs: Math.round(median(plans) * 10) / 10,
    waves,
  };
}
console.log(JSON.stringify({ bench: "plan-waves", plan: "plans/camera-relay.yaml", results }));
