/**
 * The two queues that make `advanceTo` event-driven: nothing in the model loops over instances or
 * cameras "every tick"; work exists only where something is due.
 *
 * - `EventQueue`: model events (health transitions, drain ends, command steps, samplers) as
 *   closures ordered by (time, insertion order), so equal times run in the order they were scheduled
 *   and a seed always replays the same history.
 * - `CameraQueue`: reconnect attempts, up to one per camera (180,000), kept in typed arrays so a
 *   mass disconnect costs no per-camera objects.
 */

interface QueuedEvent {
  at: number;
  seq: number;
  run: () => void;
}

export class EventQueue {
  private heap: QueuedEvent[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Time of the earliest event, or Infinity. */
  peekTime(): number {
    return this.heap[0]?.at ?? Number.POSITIVE_INFINITY;
  }

  schedule(at: number, run: () => void): void {
    const h = this.heap;
    const e: QueuedEvent = { at, seq: this.seq++, run };
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as QueuedEvent;
      if (!before(e, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = e;
  }

  /** Removes and returns the earliest event. Call only when size > 0. */
  pop(): QueuedEvent {
    const h = this.heap;
    const top = h[0] as QueuedEvent;
    const last = h.pop() as QueuedEvent;
    if (h.length > 0) {
      let i = 0;
      const n = h.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && before(h[r] as QueuedEvent, h[l] as QueuedEvent) ? r : l;
        if (!before(h[c] as QueuedEvent, last)) break;
        h[i] = h[c] as QueuedEvent;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

function before(a: QueuedEvent, b: QueuedEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** A min-heap of (time, camera index) in growable typed arrays. */
export class CameraQueue {
  private times: Float64Array;
  private ids: Int32Array;
  private n = 0;

  constructor(initialCapacity = 1024) {
    this.times = new Float64Array(initialCapacity);
    this.ids = new Int32Array(initialCapacity);
  }

  get size(): number {
    return this.n;
  }

  peekTime(): number {
    return this.n > 0 ? (this.times[0] as number) : Number.POSITIVE_INFINITY;
  }

  push(at: number, id: number): void {
    if (this.n === this.times.length) this.grow();
    const t = this.times;
    const d = this.ids;
    let i = this.n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((t[p] as number) <= at) break;
      t[i] = t[p] as number;
      d[i] = d[p] as number;
      i = p;
    }
    t[i] = at;
    d[i] = id;
  }

  /** Removes the earliest entry and returns its camera index. Call only when size > 0. */
  pop(): number {
    const t = this.times;
    const d = this.ids;
    const top = d[0] as number;
    const n = --this.n;
    if (n > 0) {
      const at = t[n] as number;
      const id = d[n] as number;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && (t[r] as number) < (t[l] as number) ? r : l;
        if ((t[c] as number) >= at) break;
        t[i] = t[c] as number;
        d[i] = d[c] as number;
        i = c;
      }
      t[i] = at;
      d[i] = id;
    }
    return top;
  }

  private grow(): void {
    const times = new Float64Array(this.times.length * 2);
    times.set(this.times);
    const ids = new Int32Array(this.ids.length * 2);
    ids.set(this.ids);
    this.times = times;
    this.ids = ids;
  }
}
