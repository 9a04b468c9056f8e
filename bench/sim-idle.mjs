#!/usr/bin/env node
// The simulator's idle cost: the default 1,000-server, 180,000-camera world on a ScaledClock at
// scale 60, advanced as often as the server's ticker does (tickIntervalMs: 20 ms real at 60x), for ~20 s real
// (20 simulated minutes). Nothing is rolling out: this is what a parked simulator costs.
// Target (issue 3): under 5% of one core and under 300 MB.
// Then, for contrast, the same time with rollout-like load: every 6 simulated minutes a wave of 100
// servers is drained (shed 50/s), deregistered, deployed after the 300 s delay, and re-registered.
// `--quick`: 3 s of each instead of 20.
// Usage: npm run build && node --expose-gc bench/sim-idle.mjs [--quick] [seconds] [scale]
import { defaultFleetSpecPath, loadFleetSpec } from "../dist/sim/model/fleet-spec.js";
import { createWorld } from "../dist/sim/model/world.js";
import { tickIntervalMs } from "../dist/sim/wire/http-server.js";
import { ScaledClock } from "../dist/util/clock.js";

const quick = process.argv.includes("--quick");
const args = process.argv.slice(2).filter((a) => a !== "--quick");
const seconds = Number(args[0] ?? (quick ? 3 : 20));
const scale = Number(args[1] ?? 60);
const mb = (b) => Math.round((b / 1024 / 1024) * 10) / 10;

const buildStart = performance.now();
const spec = await loadFleetSpec(defaultFleetSpecPath);
const clock = new ScaledClock(scale);
const world = createWorld(spec, { clock, seed: 1 });
const tickMs = tickIntervalMs(clock);
world.advanceTo(clock.now());
const buildMs = performance.now() - buildStart;
globalThis.gc?.();
const afterBuild = process.memoryUsage();

// Let start-up garbage settle before measuring the steady state.
await new Promise((r) => setTimeout(r, 1000));
/** Tick like the server does for `seconds` real seconds; `onTick` may drive the world. */
async function measure(onTick) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let ticks = 0;
  let worstTickMs = 0;
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const s = performance.now();
      world.advanceTo(clock.now());
      onTick?.();
      worstTickMs = Math.max(worstTickMs, performance.now() - s);
      ticks++;
      if (performance.now() - t0 >= seconds * 1000) {
        clearInterval(timer);
        resolve();
      }
    }, tickMs);
  });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    realSeconds: Math.round(wallMs / 100) / 10,
    simulatedMinutes: Math.round((wallMs * scale) / 6000) / 10,
    ticks,
    worstTickMs: Math.round(worstTickMs * 100) / 100,
    cpuPercentOfOneCore: Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 10000) / 100,
  };
}

const idle = await measure();
const mem = process.memoryUsage();
const m = world.metrics();

// Busy phase: rolling waves of 100 servers.
const ids = world.describeInstances({}).items.map((i) => i.instanceId);
const tgs = world.describeTargetGroups({}).items.map((t) => t.arn);
const run = (batch, commands) => {
  for (let k = 0; k < batch.length; k += 50) {
    world.sendCommand({
      documentName: "AWS-RunShellScript",
      instanceIds: batch.slice(k, k + 50),
      parameters: { commands },
    });
  }
};
const busyStart = clock.now();
const plan = [];
for (let w = 0; w < 10; w++) {
  const batch = ids.slice(w * 100, w * 100 + 100);
  const targets = batch.map((id) => ({ id }));
  const at = busyStart + w * 360_000;
  plan.push({ at, go: () => run(batch, ["/opt/relay/bin/relayctl drain --rate 50/s"]) });
  plan.push({
    at: at + 30_000,
    go: () => {
      for (const arn of tgs) world.deregisterTargets(arn, targets);
    },
  });
  plan.push({
    at: at + 335_000,
    go: () => run(batch, ["/opt/relay/bin/install v2.0.0", "systemctl restart relay"]),
  });
  plan.push({
    at: at + 420_000,
    go: () => {
      for (const arn of tgs) world.registerTargets(arn, targets);
    },
  });
}
plan.sort((a, b) => a.at - b.at);
const busy = await measure(() => {
  while (plan.length > 0 && plan[0].at <= clock.now()) plan.shift().go();
});
const busyMem = process.memoryUsage();
const bm = world.metrics();

const scenario = "simulator model alone (1,000 servers, 180,000 cameras, 60×)";
const rows = [
  {
    scenario,
    metric: "idle: CPU",
    value: idle.cpuPercentOfOneCore,
    unit: "% of a core",
    target: "< 5",
    pass: idle.cpuPercentOfOneCore < 5,
  },
  { scenario, metric: "idle: RSS", value: mb(mem.rss), unit: "MB", target: "< 300", pass: mb(mem.rss) < 300 },
  { scenario, metric: "idle: worst tick", value: idle.worstTickMs, unit: "ms" },
  { scenario, metric: "busy: CPU", value: busy.cpuPercentOfOneCore, unit: "% of a core" },
  {
    scenario,
    metric: "busy: RSS",
    value: mb(busyMem.rss),
    unit: "MB",
    target: "< 300",
    pass: mb(busyMem.rss) < 300,
  },
  { scenario, metric: "busy: worst tick", value: busy.worstTickMs, unit: "ms" },
  {
    scenario,
    metric: "invariant violations",
    value: bm.invariantViolations.length,
    target: "0",
    pass: bm.invariantViolations.length === 0,
  },
];
console.log(
  JSON.stringify(
    {
      bench: "sim-idle",
      quick,
      rows,
      servers: world.state().instances.length,
      cameras: m.cameras.total,
      connected: m.cameras.connected,
      timeScale: scale,
      buildMs: Math.round(buildMs),
      ...idle,
      rssMB: mb(mem.rss),
      heapUsedMB: mb(mem.heapUsed),
      heapAfterBuildMB: mb(afterBuild.heapUsed),
      arrayBuffersMB: mb(mem.arrayBuffers),
      seriesSamples: m.series.length,
      invariantViolations: m.invariantViolations.length,
      targets: { cpuPercentOfOneCore: 5, rssMB: 300 },
      busy: {
        ...busy,
        rssMB: mb(busyMem.rss),
        heapUsedMB: mb(busyMem.heapUsed),
        minConnected: bm.cameras.minConnected,
        connected: bm.cameras.connected,
        reconnectsPerCamera: bm.cameras.reconnectsPerCamera,
        disconnectSeconds: bm.cameras.disconnectSeconds,
        maxLoadRatio: bm.maxLoadRatio,
        invariantViolations: bm.invariantViolations.length,
      },
    },
    null,
    2,
  ),
);
