import { z } from "zod";
import { ScaledClock } from "../../util/clock.js";
import type { CapacityFloor, SimControlCommand } from "../model/api.js";
import type { WireFaults } from "./faults.js";
import type { RouterContext } from "./router.js";

/**
 * The simulator's own HTTP endpoints under `/_sim/`: observability for tests and benchmarks, and
 * run-time fault and floor control. Bodies are JSON; a bad body is a 400 with a message naming the
 * offending field.
 *
 *   GET  /_sim/state     world.state()
 *   GET  /_sim/metrics   world.metrics() plus `api` (calls by Service.Action, throttles, 5xx)
 *   GET  /_sim/faults    the wire faults in force
 *   POST /_sim/faults    Partial<WireFaults>, merged into the current faults; answers the result
 *   POST /_sim/control   SimControlCommand → world.control
 *   POST /_sim/floor     CapacityFloor (or null to clear) → world.setCapacityFloor
 *   POST /_sim/drain     {threshold}: the plan's drain.until.connections, for the intrinsic drain times
 *   GET  /_sim/clock     {now, scale}: the simulated time and its scale, for a CLI that follows it
 *                        (`--sim-clock`); scale is null for a manual clock
 */
interface ControlContext extends RouterContext {
  setFaults(f: Partial<WireFaults>): void;
  getFaults(): WireFaults;
}

interface ControlResponse {
  status: number;
  body: unknown;
}

const share = z.number().min(0).max(1);
const bucketSchema = z.object({ burst: z.number().min(0), perSecond: z.number().min(0) }).strict();
const wireFaultsSchema = z
  .object({
    throttleRate: share.optional(),
    errorRate: share.optional(),
    latencyMs: z.number().min(0).optional(),
    lostResponseRate: share.optional(),
    buckets: z.record(z.string(), bucketSchema.nullable()).optional(),
  })
  .strict();

const controlCommandSchema = z.discriminatedUnion("op", [
  z.object({ op: z.literal("terminateInstance"), instanceId: z.string().min(1) }).strict(),
  z.object({ op: z.literal("ssmAgent"), instanceId: z.string().min(1), online: z.boolean() }).strict(),
  z
    .object({ op: z.literal("healthFlap"), instanceId: z.string().min(1), seconds: z.number().positive() })
    .strict(),
  z.object({ op: z.literal("slowDrain"), share, instanceIds: z.array(z.string()).optional() }).strict(),
  z.object({ op: z.literal("commandFailures"), probability: share, match: z.string().optional() }).strict(),
  z
    .object({
      op: z.literal("churn"),
      overSeconds: z.number().positive(),
      terminate: share.optional(),
      ssmOffline: share.optional(),
      offlineSeconds: z.number().positive().optional(),
      healthFlap: share.optional(),
      flapSeconds: z.number().positive().optional(),
    })
    .strict(),
]);

const capacityFloorSchema = z
  .object({
    total: z.number().int().min(0).optional(),
    perAz: z.record(z.string(), z.number().int().min(0)).optional(),
  })
  .strict()
  .nullable();

const drainSchema = z.object({ threshold: z.number().int().min(0) }).strict();

export function handleControl(
  ctx: ControlContext,
  method: string,
  path: string,
  body: string,
): ControlResponse {
  const route = `${method} ${path}`;
  const world = ctx.world;
  switch (route) {
    case "GET /_sim/state":
      world.advanceTo(ctx.clock.now());
      return { status: 200, body: world.state() };
    case "GET /_sim/metrics":
      world.advanceTo(ctx.clock.now());
      return { status: 200, body: { ...world.metrics(), api: ctx.counter.snapshot() } };
    case "GET /_sim/faults":
      return { status: 200, body: ctx.getFaults() };
    case "GET /_sim/health":
      return { status: 200, body: { ok: true } };
    case "POST /_sim/drain":
      return withBody(body, drainSchema, (d) => {
        world.advanceTo(ctx.clock.now());
        world.setDrainThreshold(d.threshold);
        return { ok: true, threshold: d.threshold };
      });
    case "GET /_sim/clock":
      return {
        status: 200,
        body: { now: ctx.clock.now(), scale: ctx.clock instanceof ScaledClock ? ctx.clock.scale : null },
      };
    case "POST /_sim/faults":
      return withBody(body, wireFaultsSchema, (f) => {
        ctx.setFaults(f as Partial<WireFaults>);
        return ctx.getFaults();
      });
    case "POST /_sim/control":
      return withBody(body, controlCommandSchema, (cmd) => {
        world.advanceTo(ctx.clock.now());
        world.control(cmd as SimControlCommand);
        return { ok: true };
      });
    case "POST /_sim/floor":
      return withBody(body, capacityFloorSchema, (floor) => {
        world.advanceTo(ctx.clock.now());
        world.setCapacityFloor(floor as CapacityFloor | null);
        return { ok: true };
      });
    default: {
      const known = [
        "/_sim/state",
        "/_sim/metrics",
        "/_sim/faults",
        "/_sim/health",
        "/_sim/control",
        "/_sim/floor",
        "/_sim/clock",
        "/_sim/drain",
      ];
      if (known.includes(path))
        return { status: 405, body: { error: `${method} is not allowed on ${path}` } };
      return { status: 404, body: { error: `No simulator endpoint ${path}; known: ${known.join(", ")}` } };
    }
  }
}

function withBody<T>(body: string, schema: z.ZodType<T>, apply: (v: T) => unknown): ControlResponse {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { status: 400, body: { error: "The body must be JSON" } };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const message = parsed.error.issues
      .map((i) => `${i.path.length ? i.path.join(".") : "(body)"}: ${i.message}`)
      .join("; ");
    return { status: 400, body: { error: message } };
  }
  try {
    return { status: 200, body: apply(parsed.data) };
  } catch (err) {
    return { status: 400, body: { error: err instanceof Error ? err.message : String(err) } };
  }
}
