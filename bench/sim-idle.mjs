#!/usr/bin/env node
// The simulator's idle cost: the default 1,000-server, 180,000-camera world on a ScaledClock at
// scale 60, advanced every ~50 ms real the way the server's ticker drives it, for ~20 s real
// (20 simulated minutes). Nothing is rolling out: this is what a parked simulator costs.
// Target (issue 3): under 5% of one core and under 300 MB.
// Usage: npm run build && node --expose-gc bench/sim-idle.mjs [seconds] [scale]
import { defaultFleetSpecPath, loadFleetSpec } from "../dist/sim/model/fleet-spec.js";
import { createWorld } from "../dist/sim/model/world.js";
import { ScaledClock } from "../dist/util/clock.js";

const seconds = Number(process.argv[2] ?? 20);
const scale = Number(process.argv[3] ?? 60);
const mb = (b) => Math.round((b / 1024 / 1024) * 10) / 10;

const buildStart = performance.now();
const spec = await loadFleetSpec(defaultFleetSpecPath);
const clock = new ScaledClock(scale);
const world = createWorld(spec, { clock, seed: 1 });
world.advanceTo(clock.now());
const buildMs = performance.now() - buildStart;
globalThis.gc?.();
const afterBuild = process.memoryUsage();

// Let start-up garbage settle before measuring the steady state.
await new Promise((r) => setTimeout(r, 1000));
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let ticks = 0;
let worstTickMs = 0;
await new Promise((resolve) => {
  const timer = setInterval(() => {
    const s = performance.now();
    world.advanceTo(clock.now());
    worstTickMs = Math.max(worstTickMs, performance.now() - s);
    ticks++;
    if (performance.now() - t0 >= seconds * 1000) {
      clearInterval(timer);
      resolve();
    }
  }, 50);
});
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const mem = process.memoryUsage();
const m = world.metrics();

console.log(
  JSON.stringify(
    {
      bench: "sim-idle",
      servers: world.state().instances.length,
      cameras: m.cameras.total,
      connected: m.cameras.connected,
      timeScale: scale,
      realSeconds: Math.round(wallMs / 100) / 10,
      simulatedMinutes: Math.round((wallMs * scale) / 6000) / 10,
      ticks,
      worstTickMs: Math.round(worstTickMs * 100) / 100,
      buildMs: Math.round(buildMs),
      cpuPercentOfOneCore: Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 10000) / 100,
      rssMB: mb(mem.rss),
      heapUsedMB: mb(mem.heapUsed),
      heapAfterBuildMB: mb(afterBuild.heapUsed),
      arrayBuffersMB: mb(mem.arrayBuffers),
      seriesSamples: m.series.length,
      invariantViolations: m.invariantViolations.length,
      targets: { cpuPercentOfOneCore: 5, rssMB: 300 },
    },
    null,
    2,
  ),
);
