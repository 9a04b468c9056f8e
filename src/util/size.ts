/**
 * Sizes in plans: a count (`3`), a percent (`10%`, at most 100) or per availability zone (`1/az`).
 */
export type Size =
  | { kind: "count"; count: number }
  | { kind: "percent"; percent: number }
  | { kind: "perAz"; count: number };

export function parseSize(input: string | number): Size | undefined {
  if (typeof input === "number") {
    return Number.isInteger(input) && input >= 0 ? { kind: "count", count: input } : undefined;
  }
  const t = input.trim();
  let m = /^(\d+)$/.exec(t);
  if (m) return { kind: "count", count: Number(m[1]) };
  m = /^(\d+(?:\.\d+)?)%$/.exec(t);
  if (m) {
    const percent = Number(m[1]);
    return percent <= 100 ? { kind: "percent", percent } : undefined;
  }
  m = /^(\d+)\s*\/\s*az$/i.exec(t);
  if (m) return { kind: "perAz", count: Number(m[1]) };
  return undefined;
}

export function formatSize(size: Size): string {
  switch (size.kind) {
    case "count":
      return String(size.count);
    case "percent":
      return `${size.percent}%`;
    case "perAz":
      return `${size.count}/az`;
  }
}

/**
 * How many instances a size means out of `total` spread over `azCount` zones.
 * Percent rounds down but never below `min` (default 1 when total > 0): `10%` of 25 is 2.
 * Worked example: `1/az` over 3 zones is 3; `2%` of 1000 is 20; `150` of 100 is 100.
 */
export function resolveSize(size: Size, total: number, azCount: number, min = 1): number {
  if (total <= 0) return 0;
  let n: number;
  switch (size.kind) {
    case "count":
      n = size.count;
      break;
    case "percent":
      n = Math.floor((total * size.percent) / 100 + 1e-9);
      break;
    case "perAz":
      n = size.count * azCount;
      break;
  }
  return Math.min(total, Math.max(min, n));
}
