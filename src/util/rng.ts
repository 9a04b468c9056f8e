/** Small seeded PRNG (mulberry32): deterministic plans and simulations for the same seed. */
export type Rng = () => number;

export function createRng(seed: number): Rng {
  let a = seed >>> 0 || 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal via Box–Muller. */
function normal(rng: Rng): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** Lognormal with the given median (p50) and 99th percentile. */
export function lognormal(rng: Rng, p50: number, p99: number): number {
  const mu = Math.log(Math.max(p50, 1e-9));
  const sigma = p99 > p50 ? (Math.log(p99) - mu) / 2.3263478740408408 : 0;
  return Math.exp(mu + sigma * normal(rng));
}
