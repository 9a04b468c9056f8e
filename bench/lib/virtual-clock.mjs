// A clock for benchmarks whose simulated time does not depend on how busy the machine is.
//
// Time stands still while code runs (HTTP calls to the in-process simulator, decide, journal) and
// jumps to the earliest sleeper once everything pending is asleep, as a discrete-event simulation
// would. A ScaledClock turns every real millisecond of CPU into `scale` simulated ones, so on a
// loaded machine a rollout looks slower than it is; this clock does not. Implements `Clock`
// (src/util/clock.ts): now() and sleep(ms, signal).
export class VirtualClock {
  constructor(start = Date.now()) {
    this.t = start;
    this.sleepers = [];
    this.seq = 0;
    this.pending = false;
  }

  now() {
    return this.t;
  }

  sleep(ms, signal) {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason ?? new Error("aborted"));
      const entry = { at: this.t + Math.max(0, ms), seq: this.seq++, resolve };
      if (signal) {
        const onAbort = () => {
          this.sleepers = this.sleepers.filter((s) => s !== entry);
          reject(signal.reason ?? new Error("aborted"));
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
  schedule() {
    if (this.pending) return;
    this.pending = true;
    // setTimeout(0) runs after pending I/O callbacks: a loopback HTTP answer in flight comes first.
    setTimeout(() => this.advance(), 0);
  }

  advance() {
    this.pending = false;
    if (this.sleepers.length === 0) return;
    this.sleepers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const next = this.sleepers.shift();
    this.t = Math.max(this.t, next.at);
    next.resolve();
    if (this.sleepers.length > 0) this.schedule();
  }
}
