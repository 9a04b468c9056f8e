/**
 * Careful reads of the not-yet-validated document, so cross-field checks can run (and report)
 * even when other parts of the plan are broken: a value of the wrong type reads as undefined.
 */
import { parseDuration } from "../util/duration.js";
import { parseSize, type Size } from "../util/size.js";
import type { PathSegment } from "./locate.js";

export function get(raw: unknown, path: readonly PathSegment[]): unknown {
  let cur = raw;
  for (const seg of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[seg as string];
  }
  return cur;
}

export function has(raw: unknown, path: readonly PathSegment[]): boolean {
  return get(raw, path) !== undefined;
}

export function sizeAt(raw: unknown, path: readonly PathSegment[]): Size | undefined {
  const v = get(raw, path);
  return typeof v === "string" || typeof v === "number" ? parseSize(v) : undefined;
}

export function durationAt(raw: unknown, path: readonly PathSegment[]): number | undefined {
  const v = get(raw, path);
  if (v === 0) return 0;
  return typeof v === "string" ? parseDuration(v) : undefined;
}

export function stringAt(raw: unknown, path: readonly PathSegment[]): string | undefined {
  const v = get(raw, path);
  return typeof v === "string" ? v : undefined;
}

export function recordAt(raw: unknown, path: readonly PathSegment[]): Record<string, unknown> | undefined {
  const v = get(raw, path);
  return v !== null && typeof v === "object" && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

/** A `commands` value: one string or a list; each string with its own path. */
export function commandsAt(
  raw: unknown,
  path: readonly PathSegment[],
): { text: string; path: PathSegment[] }[] {
  const v = get(raw, path);
  if (typeof v === "string") return [{ text: v, path: [...path] }];
  if (!Array.isArray(v)) return [];
  return v.flatMap((c, i) => (typeof c === "string" ? [{ text: c, path: [...path, i] }] : []));
}

/** `10%` → 0.1 */
export function percentFraction(v: string): number {
  return Number(v.trim().replace("%", "")) / 100;
}
