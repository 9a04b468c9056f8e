/**
 * The cameras: up to hundreds of thousands of long-lived connections, kept in typed arrays.
 *
 * - Each instance has a membership list (swap-remove, so a disconnect is O(1)).
 * - Instances that accept new connections sit in buckets by connection count, so "least connections
 *   first" is a lookup of the lowest non-empty bucket, not a scan of the fleet.
 * - Disconnected cameras wait in a `CameraQueue` for their next attempt; nothing runs per camera
 *   while all of them are connected.
 *
 * Zonal load balancer (cross-zone off, the NLB default): a camera reconnects only to servers in
 * the AZ it first connected in, so each AZ has its own buckets. Cross-zone on: one set of buckets.
 *
 * Backoff with full jitter: attempt k (0 after a disconnect) waits uniform(0, min(max, base·2^k)).
 * Worked example with base 1 s, max 30 s: first try within 1 s; refused three times → next within 8 s.
 */
import type { CameraStats } from "./api.js";
import type { Core } from "./core.js";
import { CameraQueue } from "./queues.js";

export class Cameras {
  readonly total: number;
  readonly limit: number;
  connected = 0;
  minConnected: number;
  refused = 0;
  /** Connections closed by a `closeConnections` command effect (drain.closeCommand). */
  cut = 0;
  reconnects = 0;
  maxLoadRatio = 0;

  private readonly camInst: Int32Array;
  private readonly camPos: Int32Array;
  private readonly discAt: Float64Array;
  private readonly longest: Float32Array;
  private readonly attempt: Uint8Array;
  private readonly slow: Uint8Array;
  private readonly queue = new CameraQueue();
  readonly members: number[][];

  /** Per zone (one zone unless zonal): accepting instances by connection count; `bucketOf` -1 = not accepting. */
  private readonly buckets: number[][][];
  private readonly bucketOf: Int32Array;
  private readonly bucketPos: Int32Array;
  private readonly lowest: number[];
  /** Zonal: the AZ index a camera reconnects in (-1 until it first connects). */
  private readonly camZone: Int8Array;
  private readonly instZone: Int32Array;
  private readonly shedCarry: Float64Array;
  private readonly shedGen: Uint32Array;
  /** Called after a connection left instance `inst`, with the connections still on it. */
  onLeave: ((inst: number, remaining: number) => void) | undefined;

  constructor(
    private readonly core: Core,
    instanceCount: number,
    /** The cameras' load balancer routes per zone (cross-zone load balancing off). */
    readonly zonal = false,
  ) {
    const c = core.spec.cameras;
    this.total = c.total;
    this.limit = c.perInstanceLimit;
    this.minConnected = 0;
    this.camInst = new Int32Array(this.total).fill(-1);
    this.camPos = new Int32Array(this.total);
    this.discAt = new Float64Array(this.total);
    this.longest = new Float32Array(this.total);
    this.attempt = new Uint8Array(this.total);
    this.slow = new Uint8Array(this.total);
    this.members = Array.from({ length: instanceCount }, () => []);
    const zones = zonal ? Math.max(1, core.spec.azs.length) : 1;
    this.buckets = Array.from({ length: zones }, () => Array.from({ length: this.limit + 1 }, () => []));
    this.lowest = new Array<number>(zones).fill(0);
    this.camZone = new Int8Array(this.total).fill(-1);
    this.instZone = new Int32Array(instanceCount);
    if (zonal) for (let i = 0; i < instanceCount; i++) this.instZone[i] = core.instances[i]?.azIdx ?? 0;
    this.bucketOf = new Int32Array(instanceCount).fill(-1);
    this.bucketPos = new Int32Array(instanceCount);
    this.shedCarry = new Float64Array(instanceCount);
    this.shedGen = new Uint32Array(instanceCount);
  }

  /** Connect every camera at start (least connections first), as a fleet that has been up for a while. */
  connectAll(): void {
    for (let cam = 0; cam < this.total; cam++) {
      const inst = this.pick(-1);
      if (inst < 0) {
        this.discAt[cam] = this.core.now;
        this.queue.push(this.core.now + this.backoff(0), cam);
        continue;
      }
      this.link(cam, inst);
    }
    this.minConnected = this.connected;
  }

  connections(inst: number): number {
    return (this.members[inst] as number[]).length;
  }

  /** Whether new connections may land on this instance (the world decides; see README). */
  setAccepting(inst: number, accepting: boolean): void {
    const isIn = (this.bucketOf[inst] as number) >= 0;
    if (accepting === isIn) return;
    if (accepting) this.bucketAdd(inst, this.connections(inst));
    else this.bucketRemove(inst);
  }

  /** Close every connection on an instance (service stopped, flows reset, delay ended …). */
  dropAll(inst: number): number {
    const list = this.members[inst] as number[];
    const n = list.length;
    while (list.length > 0) this.disconnect(list[list.length - 1] as number);
    return n;
  }

  /** Start shedding at `rate` per second; cameras marked slow ignore it. Stopped by `stopShed`. */
  startShed(inst: number, rate: number): void {
    const gen = (this.shedGen[inst] as number) + 1;
    this.shedGen[inst] = gen;
    this.shedCarry[inst] = 0;
    const tick = () => {
      if (this.shedGen[inst] !== gen) return;
      this.shedCarry[inst] = (this.shedCarry[inst] as number) + rate;
      let n = Math.floor(this.shedCarry[inst] as number);
      this.shedCarry[inst] = (this.shedCarry[inst] as number) - n;
      const list = this.members[inst] as number[];
      let sheddable = 0;
      for (let i = list.length - 1; i >= 0 && n > 0; i--) {
        const cam = list[i] as number;
        if (this.slow[cam]) continue;
        this.disconnect(cam);
        n--;
      }
      for (const cam of list) if (!this.slow[cam]) sheddable++;
      if (sheddable > 0) this.core.after(1000, tick); // nothing left to shed: stop ticking
    };
    this.core.after(1000, tick);
  }

  stopShed(inst: number): void {
    this.shedGen[inst] = (this.shedGen[inst] as number) + 1;
  }

  /** Mark a share of cameras (those on `insts`, or all) as ignoring shed requests. */
  setSlow(share: number, insts?: number[]): void {
    const rng = this.core.rng;
    if (!insts) {
      for (let cam = 0; cam < this.total; cam++) this.slow[cam] = rng() < share ? 1 : 0;
      return;
    }
    for (const inst of insts)
      for (const cam of this.members[inst] ?? []) this.slow[cam] = rng() < share ? 1 : 0;
  }

  nextDue(): number {
    return this.queue.peekTime();
  }

  /** Run the earliest reconnect attempt (the world calls this when it is the next thing due). */
  runNext(): void {
    const cam = this.queue.pop();
    if ((this.camInst[cam] as number) >= 0) return;
    const inst = this.pick(this.camZone[cam] as number);
    if (inst < 0) {
      this.refused++;
      const k = Math.min(30, (this.attempt[cam] as number) + 1);
      this.attempt[cam] = k;
      this.queue.push(this.core.now + this.backoff(k), cam);
      return;
    }
    const gap = (this.core.now - (this.discAt[cam] as number)) / 1000;
    if (gap > (this.longest[cam] as number)) this.longest[cam] = gap;
    this.attempt[cam] = 0;
    this.reconnects++;
    this.link(cam, inst);
  }

  /** Sum of all membership lists; equals `connected` unless a camera is counted twice. */
  countMembers(): number {
    let n = 0;
    for (const list of this.members) n += list.length;
    return n;
  }

  currentMaxLoad(): number {
    let max = 0;
    for (const list of this.members) if (list.length > max) max = list.length;
    return max / this.limit;
  }

  stats(): CameraStats {
    const now = this.core.now;
    const worst = new Float64Array(this.total);
    for (let cam = 0; cam < this.total; cam++) {
      let w = this.longest[cam] as number;
      if ((this.camInst[cam] as number) < 0) w = Math.max(w, (now - (this.discAt[cam] as number)) / 1000);
      worst[cam] = w;
    }
    worst.sort();
    const q = (p: number) =>
      this.total === 0 ? 0 : (worst[Math.min(this.total - 1, Math.ceil(p * this.total) - 1)] as number);
    return {
      total: this.total,
      connected: this.connected,
      minConnected: this.minConnected,
      refused: this.refused,
      cut: this.cut,
      disconnectSeconds: { p50: round(q(0.5)), p99: round(q(0.99)), max: round(q(1)) },
      reconnectsPerCamera: this.total === 0 ? 0 : round(this.reconnects / this.total),
    };
  }

  private backoff(k: number): number {
    const r = this.core.spec.cameras.reconnect;
    const cap = Math.min(r.max, r.base * 2 ** k);
    return r.jitter === "full" ? this.core.rng() * cap : cap;
  }

  /** The least-loaded accepting instance in `zone`, or in any zone (-1); -1 when none has room. */
  private pick(zone: number): number {
    let z = zone;
    if (z < 0) {
      z = 0;
      for (let k = 1; k < this.buckets.length; k++) if (this.lowestIn(k) < this.lowestIn(z)) z = k;
    }
    const low = this.lowestIn(z);
    if (low >= this.limit) return -1;
    const b = (this.buckets[z] as number[][])[low] as number[];
    return b[b.length - 1] as number;
  }

  private lowestIn(z: number): number {
    const zb = this.buckets[z] as number[][];
    let low = this.lowest[z] as number;
    while (low < this.limit && (zb[low] as number[]).length === 0) low++;
    this.lowest[z] = low;
    return low;
  }

  private link(cam: number, inst: number): void {
    const list = this.members[inst] as number[];
    if (this.zonal && (this.camZone[cam] as number) < 0) this.camZone[cam] = this.instZone[inst] as number;
    this.camInst[cam] = inst;
    this.camPos[cam] = list.length;
    list.push(cam);
    this.connected++;
    const ratio = list.length / this.limit;
    if (ratio > this.maxLoadRatio) this.maxLoadRatio = ratio;
    if ((this.bucketOf[inst] as number) >= 0) {
      this.bucketRemove(inst);
      this.bucketAdd(inst, list.length);
    }
  }

  private disconnect(cam: number): void {
    const inst = this.camInst[cam] as number;
    const list = this.members[inst] as number[];
    const pos = this.camPos[cam] as number;
    const last = list.pop() as number;
    if (last !== cam) {
      list[pos] = last;
      this.camPos[last] = pos;
    }
    this.camInst[cam] = -1;
    this.discAt[cam] = this.core.now;
    this.attempt[cam] = 0;
    this.connected--;
    if (this.connected < this.minConnected) this.minConnected = this.connected;
    if ((this.bucketOf[inst] as number) >= 0) {
      this.bucketRemove(inst);
      this.bucketAdd(inst, list.length);
    }
    this.queue.push(this.core.now + this.backoff(0), cam);
    this.onLeave?.(inst, list.length);
  }

  private bucketAdd(inst: number, count: number): void {
    const z = this.instZone[inst] as number;
    const b = (this.buckets[z] as number[][])[Math.min(count, this.limit)] as number[];
    this.bucketOf[inst] = Math.min(count, this.limit);
    this.bucketPos[inst] = b.length;
    b.push(inst);
    if (count < (this.lowest[z] as number)) this.lowest[z] = count;
  }

  private bucketRemove(inst: number): void {
    const z = this.instZone[inst] as number;
    const b = (this.buckets[z] as number[][])[this.bucketOf[inst] as number] as number[];
    const pos = this.bucketPos[inst] as number;
    const last = b.pop() as number;
    if (last !== inst) {
      b[pos] = last;
      this.bucketPos[last] = pos;
    }
    this.bucketOf[inst] = -1;
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
