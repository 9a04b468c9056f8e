#!/usr/bin/env node
// The capacity guard's scenario (issue 10 §7), guard off and guard on side by side: 1,000 relays
// behind a zonal NLB, AZ a holding 40% of the cameras on 30% of the servers at 85% of their limit,
// a +10% peak hour during an aggressive rollout (maxUnavailable 30%, 30% per AZ). Prints one JSON
// document: `rows` ({ scenario, metric, value, unit?, target?, pass? }), and per run the window
// over time (most instances out before, at and after the peak).
//
//   npm run build && node bench/guard.mjs [--quick] [--seed N]
//
// --quick: the same scenario on a fifth of the fleet (200 servers, 31,800 cameras).
import { parseArgs } from "node:util";
import { memoryJournal, runRollout } from "../dist/engine/index.js";
import { loadPlan } from "../dist/plan/load.js";
import { prepareRollout } from "../dist/rollout/prepare.js";
import { createWorld, loadFleetSpec, startSimulator } from "../dist/sim/index.js";
import { VirtualClock } from "../dist/util/clock.js";
import { guardRows, runGuardScenario } from "./lib/guard-scenario.mjs";

const { values } = parseArgs({
  options: { quick: { type: "boolean", default: false }, seed: { type: "string", default: "1" } },
});
const mods = {
  loadFleetSpec,
  createWorld,
  startSimulator,
  loadPlan,
  prepareRollout,
  runRollout,
  memoryJournal,
  VirtualClock,
};
const scale = values.quick ? 0.2 : 1;
const seed = Number(values.seed);
const off = await runGuardScenario(mods, { guard: false, scale, seed });
const on = await runGuardScenario(mods, { guard: true, scale, seed });
const strip = ({ windowLog, ...r }) => ({
  ...r,
  // The window over time, one point per 5 simulated minutes: [minute, most out, most out in the hot AZ].
  windowEvery5Min: every5(windowLog),
});
function every5(log) {
  const buckets = new Map();
  for (const [t, n, h] of log) {
    const k = Math.floor(t / 5) * 5;
    const b = buckets.get(k) ?? [k, 0, 0];
    buckets.set(k, [k, Math.max(b[1], n), Math.max(b[2], h)]);
  }
  return [...buckets.values()];
}
console.log(
  JSON.stringify(
    { bench: "guard", quick: values.quick, seed, rows: guardRows(off, on), runs: [strip(off), strip(on)] },
    null,
    1,
  ),
);
