/**
 * The time series behind `metrics().series`: one sample per simulated second, bounded. When the
 * buffer is full every other sample is dropped and the spacing doubles, so a long run keeps its
 * whole history at a coarser grain: 3,600 samples cover 1 h at 1 s, then 2 h at 2 s, …
 */
import type { SimSample } from "./api.js";

export class Series {
  private buf: SimSample[] = [];
  private spacingMs = 1000;
  private lastAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly cap = 3600) {}

  record(s: SimSample): void {
    if (s.t - this.lastAt < this.spacingMs) return;
    this.lastAt = s.t;
    this.buf.push(s);
    if (this.buf.length >= this.cap) {
      this.buf = this.buf.filter((_, i) => i % 2 === 0);
      this.spacingMs *= 2;
    }
  }

  samples(): SimSample[] {
    return [...this.buf];
  }
}
