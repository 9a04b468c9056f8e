import { type Clock, ScaledClock } from "../util/clock.js";
import type { SimMetricsSnapshot, SimStateSnapshot, SimWorld } from "./model/api.js";
import { defaultFleetSpecPath, loadFleetSpec } from "./model/fleet-spec.js";
import { createWorld } from "./model/world.js";
import type { WireFaults } from "./wire/faults.js";
import { startWireServer } from "./wire/http-server.js";

export type { WireFaults } from "./wire/faults.js";
export { DEFAULT_BUCKETS } from "./wire/faults.js";

/** How to start the simulator. Everything is optional: `startSimulator()` serves the default fleet. */
interface SimulatorOptions {
  /** Fleet spec path; default plans/sim/camera-fleet.yaml. Ignored when `world` is given. */
  fleet?: string;
  /** A prebuilt world (tests). */
  world?: SimWorld;
  /** Shared with the engine when in-process; default `new ScaledClock(timeScale)`. */
  clock?: Clock;
  /** Simulated ms per real ms when no clock is given; default 60 (one real second = one simulated minute). */
  timeScale?: number;
  /** 0 = a free port (the default). */
  port?: number;
  /** Always a loopback address; default 127.0.0.1. */
  host?: string;
  /** Seeds the model and the wire faults' randomness; default 1. */
  seed?: number;
  faults?: Partial<WireFaults>;
  /** S3 buckets that exist from the start, e.g. for `--journal s3://<bucket>/…`; CreateBucket makes more. */
  buckets?: string[];
}

interface ApiCallCounts {
  total: number;
  byAction: Record<string, number>;
  throttled: number;
  errors5xx: number;
}

export interface RunningSimulator {
  /** e.g. "http://127.0.0.1:4566": pass as the SDK's `endpoint` or AWS_ENDPOINT_URL. */
  endpoint: string;
  region: string;
  accountId: string;
  clock: Clock;
  world: SimWorld;
  setFaults(f: Partial<WireFaults>): void;
  /** S3 keys by bucket, in S3's order. */
  objects(): Record<string, string[]>;
  apiCalls(): ApiCallCounts;
  state(): SimStateSnapshot;
  /** The model's metrics plus `api` (the same as GET /_sim/metrics). */
  metrics(): SimMetricsSnapshot;
  /** Ready-to-paste shell lines: AWS_ENDPOINT_URL, AWS_REGION, AWS_DEFAULT_REGION, credentials. */
  envLines(): string[];
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/**
 * Starts the AWS-compatible simulator on a loopback port.
 *
 *   const sim = await startSimulator({ timeScale: 600 });
 *   const ec2 = new EC2Client({ region: sim.region, endpoint: sim.endpoint,
 *                               credentials: { accessKeyId: "sim", secretAccessKey: "sim" } });
 *   …
 *   await sim.close();
 */
export async function startSimulator(o: SimulatorOptions = {}): Promise<RunningSimulator> {
  const host = o.host ?? "127.0.0.1";
  if (!LOOPBACK.test(host)) {
    throw new RangeError(`the simulator listens on loopback only (127.0.0.1, ::1, localhost), not '${host}'`);
  }
  const seed = o.seed ?? 1;
  const clock = o.clock ?? new ScaledClock(o.timeScale ?? 60);
  const world = o.world ?? createWorld(await loadFleetSpec(o.fleet ?? defaultFleetSpecPath), { clock, seed });
  const wire = await startWireServer({
    world,
    clock,
    host,
    port: o.port ?? 0,
    seed,
    faults: o.faults,
    ...(o.buckets ? { buckets: o.buckets } : {}),
  });

  return {
    endpoint: wire.endpoint,
    region: world.region,
    accountId: world.accountId,
    clock,
    world,
    setFaults: (f) => wire.faults.set(f),
    objects: () => wire.objects.snapshot(),
    apiCalls: () => wire.counter.snapshot(),
    state() {
      world.advanceTo(clock.now());
      return world.state();
    },
    metrics() {
      world.advanceTo(clock.now());
      return { ...world.metrics(), api: wire.counter.snapshot() };
    },
    envLines: () => [
      `export AWS_ENDPOINT_URL=${wire.endpoint}`,
      `export AWS_REGION=${world.region}`,
      `export AWS_DEFAULT_REGION=${world.region}`,
      "export AWS_ACCESS_KEY_ID=simulator",
      "export AWS_SECRET_ACCESS_KEY=simulator",
    ],
    close: () => wire.close(),
  };
}
