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
 * Load over time (`cameras.schedule`): the arrays hold the most cameras ever online (`total`);
 * cameras [0, online) are online. A rising load brings the next ones online (they connect like any
 * camera: refused when their AZ is full); a falling one takes the last ones offline (they leave
 * their server gracefully: no reconnect, not a disconnection). `azShare` homes each camera in an AZ
 * up front (a low-discrepancy spread, so every prefix of cameras keeps the shares).
 *
 * Backoff with full jitter: attempt k (0 after a disconnect) waits uniform(0, min(max, base·2^k)).
 * Worked example with base 1 s, max 30 s: first try within 1 s; refused three times → next within 8 s.
 */
import type { CameraStats } from "./api.js";
import type { Core } from "./core.js";
import { CameraQueue } from "./queues.js";

export class Cameras {
  /** Cameras that exist: the most ever online (`cameras.total` × the schedule's peak load). */
  readonly total: number;
  readonly limit: number;
  /** Cameras online now: [0, online). */
  online: number;
  /** Cameras ever online (a prefix): what per-camera statistics are over. */
  everOnline: number;
  /** Distinct servers that reached their limit (full: refusing new connections) at some point. */
  serversAtLimit = 0;
  connected = 0;
  minConnected: number;
  refused = 0;
  /**
   * Connections closed on a server out of rotation: by a `closeConnections` command effect
   * (drain.closeCommand), or by a service restart there (the deploy) with cameras still on it.
   */
  cut = 0;
  reconnects = 0;
  maxLoadRatio = 0;

  private readonly camInst: Int32Array;
  private readonly camPos: Int32Array;
  private readonly discAt: Float64Array;
  private readonly longest: Float32Array;
  private readonly attempt: Uint8Array;
  private readonly slow: Uint8Array;
  /** Offline (past `online`): their queued attempts are dropped. */
  private readonly off: Uint8Array;
  /** Came online and has not connected yet: its first connection is no reconnect. */
  private readonly fresh: Uint8Array;
  private readonly reachedLimit: Uint8Array;
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
    const peak = Math.max(1, ...c.schedule.map((x) => x.load));
    this.total = Math.ceil(c.total * peak);
    this.online = c.total;
    this.everOnline = c.total;
    this.limit = c.perInstanceLimit;
    this.minConnected = 0;
    this.camInst = new Int32Array(this.total).fill(-1);
    this.camPos = new Int32Array(this.total);
    this.discAt = new Float64Array(this.total);
    this.longest = new Float32Array(this.total);
    this.attempt = new Uint8Array(this.total);
    this.slow = new Uint8Array(this.total);
    this.off = new Uint8Array(this.total);
    this.off.fill(1, this.online);
    this.fresh = new Uint8Array(this.total);
    this.reachedLimit = new Uint8Array(instanceCount);
    this.members = Array.from({ length: instanceCount }, () => []);
    const zones = zonal ? Math.max(1, core.spec.azs.length) : 1;
    this.buckets = Array.from({ length: zones }, () => Array.from({ length: this.limit + 1 }, () => []));
    this.lowest = new Array<number>(zones).fill(0);
    this.camZone = new Int8Array(this.total).fill(-1);
    this.instZone = new Int32Array(instanceCount);
    if (zonal) for (let i = 0; i < instanceCount; i++) this.instZone[i] = core.instances[i]?.azIdx ?? 0;
    if (zonal && c.azShare) {
      // Camera k's home: where (k + ½)·φ mod 1 falls among the cumulative shares.
      const cum: number[] = [];
      let acc = 0;
      for (const az of core.spec.azs) cum.push((acc += c.azShare[az] ?? 0));
      const phi = (Math.sqrt(5) - 1) / 2;
      for (let cam = 0; cam < this.total; cam++) {
        const u = ((cam + 0.5) * phi) % 1;
        let z = 0;
        while (z < cum.length - 1 && u >= (cum[z] as number)) z++;
        this.camZone[cam] = z;
      }
    }
    this.bucketOf = new Int32Array(instanceCount).fill(-1);
    this.bucketPos = new Int32Array(instanceCount);
    this.shedCarry = new Float64Array(instanceCount);
    this.shedGen = new Uint32Array(instanceCount);
  }

  /** Connect every camera at start (least connections first), as a fleet that has been up for a while. */
  connectAll(): void {
    for (let cam = 0; cam < this.online; cam++) {
      const inst = this.pick(this.camZone[cam] as number);
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

  /** Bring cameras online or take them offline until `target` are online (see the header). */
  setOnline(target: number): void {
    const want = Math.max(0, Math.min(this.total, Math.round(target)));
    const now = this.core.now;
    while (this.online < want) {
      const cam = this.online++;
      this.off[cam] = 0;
      this.fresh[cam] = 1;
      this.attempt[cam] = 0;
      this.discAt[cam] = now;
      this.queue.push(now + this.backoff(0), cam);
    }
    if (this.online > this.everOnline) this.everOnline = this.online;
    while (this.online > want) {
      const cam = --this.online;
      this.off[cam] = 1;
      if ((this.camInst[cam] as number) >= 0) this.leave(cam);
      else if (!this.fresh[cam] || (this.attempt[cam] as number) > 0) this.noteGap(cam);
    }
  }

  nextDue(): number {
    return this.queue.peekTime();
  }

  /** Run the earliest reconnect attempt (the world calls this when it is the next thing due). */
  runNext(): void {
    const cam = this.queue.pop();
    if ((this.camInst[cam] as number) >= 0 || this.off[cam]) return;
    const inst = this.pick(this.camZone[cam] as number);
    if (inst < 0) {
      this.refused++;
      const k = Math.min(30, (this.attempt[cam] as number) + 1);
      this.attempt[cam] = k;
      this.queue.push(this.core.now + this.backoff(k), cam);
      return;
    }
    // A camera that just came online and connects at once was never disconnected.
    if (!this.fresh[cam] || (this.attempt[cam] as number) > 0) this.noteGap(cam);
    if (!this.fresh[cam]) this.reconnects++;
    this.fresh[cam] = 0;
    this.attempt[cam] = 0;
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
    const n = this.everOnline;
    const worst = new Float64Array(n);
    for (let cam = 0; cam < n; cam++) {
      let w = this.longest[cam] as number;
      const waiting = !this.fresh[cam] || (this.attempt[cam] as number) > 0;
      if ((this.camInst[cam] as number) < 0 && !this.off[cam] && waiting)
        w = Math.max(w, (now - (this.discAt[cam] as number)) / 1000);
      worst[cam] = w;
    }
    worst.sort();
    const q = (p: number) => (n === 0 ? 0 : (worst[Math.min(n - 1, Math.ceil(p * n) - 1)] as number));
    return {
      total: this.online,
      connected: this.connected,
      minConnected: this.minConnected,
      refused: this.refused,
      cut: this.cut,
      disconnectSeconds: { p50: round(q(0.5)), p99: round(q(0.99)), max: round(q(1)) },
      reconnectsPerCamera: n === 0 ? 0 : round(this.reconnects / n),
      serversAtLimit: this.serversAtLimit,
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
    if (list.length >= this.limit && !this.reachedLimit[inst]) {
      this.reachedLimit[inst] = 1;
      this.serversAtLimit++;
    }
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

  /** The longest time this camera has been without a connection, up to now. */
  private noteGap(cam: number): void {
    const gap = (this.core.now - (this.discAt[cam] as number)) / 1000;
    if (gap > (this.longest[cam] as number)) this.longest[cam] = gap;
  }

  /** A camera going offline leaves its server: no reconnect follows, and it is no disconnection. */
  private leave(cam: number): void {
    const inst = this.camInst[cam] as number;
    const list = this.members[inst] as number[];
    const pos = this.camPos[cam] as number;
    const last = list.pop() as number;
    if (last !== cam) {
      list[pos] = last;
      this.camPos[last] = pos;
    }
    this.camInst[cam] = -1;
    this.connected--;
    if ((this.bucketOf[inst] as number) >= 0) {
      this.bucketRemove(inst);
      this.bucketAdd(inst, list.length);
    }
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
