import { fileURLToPath } from "node:url";
import type { SimWorld } from "../../../src/sim/model/api.js";
import { type FleetSpecFile, loadFleetSpec, parseFleetSpec } from "../../../src/sim/model/fleet-spec.js";
import { createWorld } from "../../../src/sim/model/world.js";
import { ManualClock } from "../../../src/util/clock.js";

export const smallFleetPath = fileURLToPath(new URL("../../../plans/sim/small-fleet.yaml", import.meta.url));

export const T0 = Date.UTC(2026, 0, 1, 3, 0, 0);

/** A world on a manual clock; `step(ms)` moves both. */
export interface TestWorld {
  world: SimWorld;
  clock: ManualClock;
  spec: FleetSpecFile;
  step(ms: number): Promise<void>;
  /** Advance in 1 s steps until `pred` holds or `maxMs` passes; returns the elapsed ms. */
  until(pred: () => boolean, maxMs: number): Promise<number>;
}

export function makeWorld(spec: FleetSpecFile, seed = 7): TestWorld {
  const clock = new ManualClock(T0);
  const world = createWorld(spec, { clock, seed });
  const t: TestWorld = {
    world,
    clock,
    spec,
    async step(ms) {
      await clock.advance(ms);
      world.advanceTo(clock.now());
    },
    async until(pred, maxMs) {
      const start = clock.now();
      while (!pred()) {
        if (clock.now() - start >= maxMs) throw new Error(`condition not reached within ${maxMs} ms`);
        await t.step(1000);
      }
      return clock.now() - start;
    },
  };
  return t;
}

let small: FleetSpecFile | undefined;
/** The raw YAML shape, patched freely by tests before validation. */
// biome-ignore lint/suspicious/noExplicitAny: tests reach into the untyped YAML document
export type Raw = any;

export async function smallSpec(patch?: (raw: Raw) => void): Promise<FleetSpecFile> {
  small ??= await loadFleetSpec(smallFleetPath);
  if (!patch) return small;
  // Round-trip through the raw shape so patches are written like the YAML.
  const { parse } = await import("yaml");
  const { readFile } = await import("node:fs/promises");
  const raw: Raw = parse(await readFile(smallFleetPath, "utf8"));
  patch(raw);
  return parseFleetSpec(raw);
}

export function instanceIds(w: SimWorld): string[] {
  return w.describeInstances({}).items.map((i) => i.instanceId);
}

export function tgArn(w: SimWorld, name: string): string {
  const tg = w.describeTargetGroups({ names: [name] }).items[0];
  if (!tg) throw new Error(`no target group ${name}`);
  return tg.arn;
}

export function connectionsOf(w: SimWorld, id: string): number {
  return w.state().instances.find((i) => i.id === id)?.connections ?? -1;
}

export function healthOf(w: SimWorld, tgName: string, id: string): string {
  return w.describeTargetHealth(tgArn(w, tgName), [{ id }])[0]?.state ?? "?";
}

/** The `SimApiError` code a model call throws, or undefined when it succeeds. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}
