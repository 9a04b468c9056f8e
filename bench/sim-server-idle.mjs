#!/usr/bin/env node
// The whole simulator as `rollwave sim` runs it — HTTP server, ticker and the default 1,000-server,
// 180,000-camera world — parked for `seconds` real seconds at `scale`, with one DescribeInstances
// through the real SDK first so the server is warm. Measures this process's CPU as % of one core,
// and RSS/heap. Target (issue 3): under 5% of one core and under 300 MB.
// `--quick`: parked 3 s instead of 20.
// Usage: npm run build && node --expose-gc bench/sim-server-idle.mjs [--quick] [seconds] [scale]
import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { startSimulator } from "../dist/sim/index.js";

const quick = process.argv.includes("--quick");
const args = process.argv.slice(2).filter((a) => a !== "--quick");
const seconds = Number(args[0] ?? (quick ? 3 : 20));
const scale = Number(args[1] ?? 60);
const mb = (b) => Math.round((b / 1024 / 1024) * 10) / 10;

const t0 = performance.now();
const sim = await startSimulator({ timeScale: scale, port: 0, seed: 1 });
const startMs = performance.now() - t0;
const ec2 = new EC2Client({
  region: sim.region,
  endpoint: sim.endpoint,
  credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
});
let instances = 0;
for (let token; ; ) {
  const page = await ec2.send(new DescribeInstancesCommand({ MaxResults: 1000, NextToken: token }));
  instances += (page.Reservations ?? []).reduce((n, r) => n + (r.Instances?.length ?? 0), 0);
  token = page.NextToken;
  if (!token) break;
}
ec2.destroy();
globalThis.gc?.();
await new Promise((r) => setTimeout(r, 1000));

const cpu0 = process.cpuUsage();
const wall0 = performance.now();
let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 250);
await new Promise((r) => setTimeout(r, seconds * 1000));
clearInterval(sampler);
const cpu = process.cpuUsage(cpu0);
const wallMs = performance.now() - wall0;
const mem = process.memoryUsage();
const m = sim.metrics();
await sim.close();

const scenario = "rollwave sim, parked (1,000 servers, 180,000 cameras, 60×)";
const cpuPct = Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 1000) / 10;
const peak = mb(Math.max(peakRss, mem.rss));
const rows = [
  { scenario, metric: "server start", value: Math.round(startMs), unit: "ms" },
  { scenario, metric: "CPU", value: cpuPct, unit: "% of a core", target: "< 5", pass: cpuPct < 5 },
  { scenario, metric: "peak RSS", value: peak, unit: "MB", target: "< 300", pass: peak < 300 },
];
console.log(
  JSON.stringify({
    bench: "sim-server-idle",
    quick,
    rows,
    instances,
    cameras: m.cameras.total,
    connected: m.cameras.connected,
    scale,
    startMs: Math.round(startMs),
    idleSeconds: seconds,
    cpuPercentOfOneCore: Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 1000) / 10,
    rssMb: mb(mem.rss),
    peakRssMb: mb(Math.max(peakRss, mem.rss)),
    heapUsedMb: mb(mem.heapUsed),
    targets: { cpuPercentOfOneCore: 5, rssMb: 300 },
  }),
);
