/**
 * Time is injected everywhere: the engine, the simulator and every wait go through a Clock, so that
 * unit tests can step time by hand and integration tests can replay a 40-minute rollout in seconds.
 *
 * `now()` is epoch milliseconds in *simulated* time. `sleep(ms)` waits `ms` of simulated time and
 * rejects with the signal's reason when the signal aborts (so every wait has an abort path).
 */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("The operation was aborted", "AbortError");
}

/** Wall-clock time. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => realSleep(ms, signal),
};

function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const timer = setTimeout(done, Math.max(0, ms));
    function done() {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(abortError(signal as AbortSignal));
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Real time sped up by `scale`: with scale 60 one real second is one simulated minute.
 * Worked example: start=0, scale=60, 2 real seconds later now() = 120_000; sleep(60_000) takes ~1 s.
 */
export class ScaledClock implements Clock {
  private readonly realStart = performance.now();
  constructor(
    readonly scale: number,
    private readonly simStart: number = Date.now(),
  ) {
    if (!(scale > 0)) throw new RangeError(`time scale must be > 0, got ${scale}`);
  }
  now(): number {
    return this.simStart + (performance.now() - this.realStart) * this.scale;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return realSleep(ms / this.scale, signal);
  }
}

/**
 * A clock that only moves when told to. `advance(ms)` runs due sleepers in time order, each at its
 * own deadline, yielding to the microtask queue between them so awaiting code can react.
 */
export class ManualClock implements Clock {
  private current: number;
  private sleepers: { at: number; seq: number; resolve: () => void }[] = [];
  private seq = 0;
  constructor(start = 0) {
    this.current = start;
  }
  now(): number {
    return this.current;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const entry = {
        at: this.current + Math.max(0, ms),
        seq: this.seq++,
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.sleepers = this.sleepers.filter((s) => s !== entry);
        reject(abortError(signal as AbortSignal));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.sleepers.push(entry);
    });
  }
  /** Number of pending sleepers (useful to know a loop is parked). */
  get pending(): number {
    return this.sleepers.length;
  }
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await flushMicrotasks();
      this.sleepers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.sleepers[0];
      if (!next || next.at > target) break;
      this.sleepers.shift();
      this.current = Math.max(this.current, next.at);
      next.resolve();
    }
    this.current = target;
    await flushMicrotasks();
  }
}

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise<void>((r) => setImmediate(r));
}

/**
 * Simulated time that does not depend on how busy the machine is, for benchmarks and scenario
 * tests: time stands still while code runs (HTTP calls to an in-process simulator, decide, the
 * journal) and jumps to the earliest sleeper once everything pending is asleep, as a discrete-event
 * simulation would. A ScaledClock turns every real millisecond of CPU into `scale` simulated ones,
 * so on a loaded machine a rollout looks slower than it is; this clock does not.
 */
export class VirtualClock implements Clock {
  private t: number;
  private sleepers: { at: number; seq: number; resolve: () => void }[] = [];
  private seq = 0;
  private pending = false;
  constructor(start: number = Date.now()) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const entry = { at: this.t + Math.max(0, ms), seq: this.seq++, resolve };
      if (signal) {
        const onAbort = () => {
          this.sleepers = this.sleepers.filter((s) => s !== entry);
          reject(abortError(signal));
        };
        signal.addEventListener("abort", onAbort, { once: true });
        entry.resolve = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
      }
      this.sleepers.push(entry);
      this.schedule();
    });
  }
  /** Advance once the event loop has run everything else that was ready (I/O included). */
  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    // setTimeout(0) runs after pending I/O callbacks: a loopback HTTP answer in flight comes first.
    setTimeout(() => this.advance(), 0);
  }
  private advance(): void {
    this.pending = false;
    if (this.sleepers.length === 0) return;
    this.sleepers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const next = this.sleepers.shift() as { at: number; resolve: () => void };
    this.t = Math.max(this.t, next.at);
    next.resolve();
    if (this.sleepers.length > 0) this.schedule();
  }
}
