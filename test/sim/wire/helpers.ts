import { DEFAULT_BUCKETS, type WireFaults } from "../../../src/sim/wire/faults.js";
import { startWireServer, type WireServer } from "../../../src/sim/wire/http-server.js";
import { type Clock, ScaledClock } from "../../../src/util/clock.js";
import { type FakeWorld, fakeWorld } from "./fake-world.js";

export interface TestSim {
  endpoint: string;
  region: string;
  world: FakeWorld;
  clock: Clock;
  wire: WireServer;
  /** Options for any SDK v3 client constructor. */
  client: {
    region: string;
    endpoint: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    maxAttempts?: number;
  };
  close(): Promise<void>;
}

/**
 * Starts the wire server over the fake world. Default buckets are removed unless a test asks for
 * faults, so tests that make many calls are not throttled by accident.
 */
export async function startTestSim(
  o: { faults?: Partial<WireFaults>; clock?: Clock } = {},
): Promise<TestSim> {
  const world = fakeWorld();
  const clock = o.clock ?? new ScaledClock(1000, Date.UTC(2026, 0, 1));
  const noBuckets = { buckets: Object.fromEntries(Object.keys(DEFAULT_BUCKETS).map((k) => [k, null])) };
  const wire = await startWireServer({
    world,
    clock,
    host: "127.0.0.1",
    port: 0,
    seed: 7,
    faults: o.faults ?? noBuckets,
  });
  return {
    endpoint: wire.endpoint,
    region: world.region,
    world,
    clock,
    wire,
    client: {
      region: world.region,
      endpoint: wire.endpoint,
      credentials: { accessKeyId: "x", secretAccessKey: "x" },
    },
    close: () => wire.close(),
  };
}
