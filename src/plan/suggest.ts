/**
 * "Did you mean" suggestions for misspelled keys, enum values and variable names.
 * Uses Damerau-style optimal string alignment distance, case-insensitively, so a transposition
 * (`maxUnavialable`) counts as one edit like a typo does.
 */
import { shown } from "../util/quote.js";

function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) =>
    Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= s.length; i++) {
    const row = d[i] as number[];
    const prev = d[i - 1] as number[];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) {
        best = Math.min(best, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
      row[j] = best;
    }
  }
  return (d[s.length] as number[])[t.length] as number;
}

/**
 * The closest candidate when it is close enough to be a plausible typo: within a third of the
 * word's length (at least 1, at most 3 edits). `rollot` → `rollout`; `colour` → nothing among
 * unrelated keys.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  // A typo is a few characters off; a huge "word" (a pasted blob) is no typo, and comparing it costs.
  if (word.length > 200) return undefined;
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const dist = editDistance(word, c);
    if (dist < bestD) {
      best = c;
      bestD = dist;
    }
  }
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  return best !== undefined && bestD <= limit ? best : undefined;
}

/** `did you mean 'rollout'?`, or a list of what is allowed when nothing is close. */
export function suggestionHint(word: string, candidates: string[], what = "allowed keys"): string {
  const near = closest(word, candidates);
  if (near !== undefined) return `did you mean '${shown(near)}'?`;
  return candidates.length ? `${what}: ${candidates.join(", ")}` : `nothing is allowed here`;
}
