#!/usr/bin/env node
// The pure planner on large generated fleets: inventory load (JSON parse + validation) and wave
// planning time for 1,000 and 12,000 instances (the upper end of the property tests), median of
// several runs so one GC pause does not decide the number.
// `--quick`: 1,000 and 12,000 instances, median of 3.
// Usage: npm run build && node bench/plan-waves.mjs [--quick]
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
const quick = process.argv.includes("--quick");
const reps = quick ? 3 : 7;
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
  for (let i = 0; i < reps; i++) {
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
const scenario = "plan-waves (plans/camera-relay.yaml, generated inventories)";
const rows = Object.entries(results).flatMap(([n, r]) => {
  const size = Number(n).toLocaleString("en-US");
  const total = r.loadInventoryMs + r.planWavesMs;
  return [
    { scenario, metric: `${size} instances: load the inventory`, value: r.loadInventoryMs, unit: "ms" },
    { scenario, metric: `${size} instances: plan the waves`, value: r.planWavesMs, unit: "ms" },
    {
      scenario,
      metric: `${size} instances: load + plan`,
      value: Math.round(total),
      unit: "ms",
      target: "< 1000",
      pass: total < 1000,
    },
  ];
});
console.log(JSON.stringify({ bench: "plan-waves", quick, plan: "plans/camera-relay.yaml", rows, results }));
