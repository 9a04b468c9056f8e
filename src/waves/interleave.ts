/**
 * Instance order and AZ interleaving for the wave planner.
 *
 * Order inside an AZ: each instance gets a sort key derived from (seed, instance id) alone, so the
 * order does not depend on the order discovery returned instances in, a different `rollout.seed`
 * picks different canaries, and adding or removing one instance leaves everyone else's relative
 * order unchanged (re-planning after a replacement keeps the same canaries).
 *
 * Across AZs: stride scheduling. The k-th instance (0-based) of an AZ holding n instances has the
 * ideal position (k + ½) / n in the whole rollout; the next pick is always the AZ whose next
 * instance has the smallest ideal position. Worked example, AZs a=4, b=2: positions
 * a: ⅛ ⅜ ⅝ ⅞, b: ¼ ¾ → order a b a a b a. Every prefix of that order is proportional to the AZ
 * sizes, so the remaining counts stay proportional too and the last waves are not all one AZ.
 * An AZ held back by its per-AZ cap keeps its small ideal position and goes first in the next wave.
 */
import type { Instance } from "../fleet/types.js";
import { createRng } from "../util/rng.js";
import type { PlannedInstance } from "./types.js";

/** One AZ's planned instances in rollout order, and how many have been put in a wave so far. */
export interface AzQueue {
  az: string;
  instances: PlannedInstance[];
  taken: number;
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A uniform number in [0, 1) fixed by (seed, id): the instance's place in its AZ's order. */
function orderKey(seed: number, id: string): number {
  return createRng((fnv1a(id) ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0)();
}

/** Group instances by AZ (AZs in name order), each AZ in seeded order. */
export function buildQueues(instances: Instance[], seed: number): AzQueue[] {
  const byAz = new Map<string, { key: number; id: string; az: string }[]>();
  for (const i of instances) {
    let list = byAz.get(i.az);
    if (!list) {
      list = [];
      byAz.set(i.az, list);
    }
    list.push({ key: orderKey(seed, i.id), id: i.id, az: i.az });
  }
  return [...byAz.keys()].sort().map((az) => {
    const list = byAz.get(az) ?? [];
    list.sort((x, y) => x.key - y.key || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    return { az, instances: list.map(({ id }) => ({ id, az })), taken: 0 };
  });
}

/** Instances of the queue not yet put in a wave. */
export function remaining(q: AzQueue): number {
  return q.instances.length - q.taken;
}

/** True when q's next instance comes before r's in the proportional order (ties: AZ name). */
function before(q: AzQueue, r: AzQueue): boolean {
  // (2·takenQ + 1) / nQ  <  (2·takenR + 1) / nR, cross-multiplied to stay in integers.
  const lhs = (2 * q.taken + 1) * r.instances.length;
  const rhs = (2 * r.taken + 1) * q.instances.length;
  return lhs < rhs || (lhs === rhs && q.az < r.az);
}

/**
 * Take up to `total` instances, at most `limits[k]` from queue k, in proportional order.
 * Returns fewer than `total` only when every queue has hit its limit or run out.
 */
export function draw(queues: AzQueue[], total: number, limits: number[]): PlannedInstance[] {
  const out: PlannedInstance[] = [];
  const takenNow = queues.map(() => 0);
  while (out.length < total) {
    let best = -1;
    for (let k = 0; k < queues.length; k++) {
      const q = queues[k] as AzQueue;
      if ((takenNow[k] as number) >= (limits[k] ?? 0) || remaining(q) <= 0) continue;
      if (best < 0 || before(q, queues[best] as AzQueue)) best = k;
    }
    if (best < 0) break;
    const q = queues[best] as AzQueue;
    out.push(q.instances[q.taken] as PlannedInstance);
    q.taken++;
    takenNow[best] = (takenNow[best] as number) + 1;
  }
  return out;
}
