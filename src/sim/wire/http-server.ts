import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type Clock, ScaledClock } from "../../util/clock.js";
import { createRng } from "../../util/rng.js";
import type { SimWorld } from "../model/api.js";
import { ObjectBuckets } from "../model/objects.js";
import { handleControl } from "./control.js";
import { FaultInjector, type WireFaults } from "./faults.js";
import { ApiCounter, handleAwsRequest } from "./router.js";

interface WireServerOptions {
  world: SimWorld;
  clock: Clock;
  host: string;
  port: number;
  seed: number;
  faults?: Partial<WireFaults>;
  /** S3 buckets that exist from the start (CreateBucket makes more). */
  buckets?: string[];
}

export interface WireServer {
  endpoint: string;
  port: number;
  faults: FaultInjector;
  counter: ApiCounter;
  objects: ObjectBuckets;
  close(): Promise<void>;
}

/** Larger bodies are refused: no API the simulator serves needs more than a few hundred KB. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

/**
 * The HTTP side of the simulator: one loopback endpoint serving every AWS service plus `/_sim/*`,
 * and a ticker that keeps the model's time current between requests.
 */
export async function startWireServer(o: WireServerOptions): Promise<WireServer> {
  const counter = new ApiCounter();
  const faults = new FaultInjector(o.faults, createRng(o.seed ^ 0x5eed));
  const objects = new ObjectBuckets(o.buckets);
  const ctx = {
    objects,
    world: o.world,
    clock: o.clock,
    faults,
    counter,
    setFaults: (f: Partial<WireFaults>) => faults.set(f),
    getFaults: () => faults.current,
  };

  const server = createServer((req, res) => {
    void serve(req, res).catch((err: unknown) => {
      if (!res.headersSent)
        send(res, 500, { "content-type": "application/json" }, JSON.stringify({ error: String(err) }));
      else res.destroy();
    });
  });
  // SDK clients keep sockets alive; a short idle timeout keeps an idle simulator from holding many.
  server.keepAliveTimeout = 5_000;

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (body === undefined) {
      send(
        res,
        413,
        { "content-type": "application/json" },
        JSON.stringify({ error: "request body too large" }),
      );
      return;
    }
    const url = req.url ?? "/";
    const path = url.split("?")[0] ?? "/";
    if (path.startsWith("/_sim/")) {
      const out = handleControl(ctx, req.method ?? "GET", path, body);
      send(res, out.status, { "content-type": "application/json" }, JSON.stringify(out.body));
      return;
    }
    // The router advances the model itself, inside its error handling, so a model failure is
    // answered as a 5xx in the service's own shape.
    const out = await handleAwsRequest(ctx, {
      method: req.method ?? "POST",
      url,
      headers: req.headers,
      body,
    });
    send(res, out.status, out.headers, out.body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  const ticker = setInterval(() => {
    try {
      o.world.advanceTo(o.clock.now());
    } catch {
      // Not fatal here: the same failure reaches the next request, which answers it as a 5xx.
    }
  }, tickIntervalMs(o.clock));
  ticker.unref();

  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://${o.host.includes(":") ? `[${o.host}]` : o.host}:${port}`,
    port,
    faults,
    counter,
    objects,
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        clearInterval(ticker);
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/**
 * About one simulated second per tick, but never more often than every 20 ms of real time: at
 * time scale 60 that is a tick every 20 ms (1.2 simulated s), at scale 1 one per second.
 * Requests advance the world themselves, so the ticker only matters for an idle simulator.
 */
export function tickIntervalMs(clock: Clock): number {
  const scale = clock instanceof ScaledClock ? clock.scale : 1;
  return Math.min(1000, Math.max(20, 1000 / scale));
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(c);
    });
    req.on("end", () => resolve(tooLarge ? undefined : Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  res.writeHead(status, { ...headers, "content-length": Buffer.byteLength(body) });
  res.end(body);
}
