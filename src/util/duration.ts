/** Durations in plans and flags: `500ms`, `90s`, `5m`, `1h30m`, `2h`, `1d`. Returned in milliseconds. */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_RE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (t === "0") return 0;
  if (!DURATION_RE.test(t)) return undefined;
  let total = 0;
  for (const m of t.matchAll(PART_RE)) total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  return Math.round(total);
}

/** 5_400_000 → "1h30m"; 90_000 → "1m30s"; 1_500 → "1.5s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1_000).toFixed(1))}s`;
  let s = Math.round(ms / 1_000);
  const h = Math.floor(s / 3_600);
  s -= h * 3_600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s ? `${s}s` : ""}` || "0s";
}
