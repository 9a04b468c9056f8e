/** Small helpers for batching and for reading SSM plugin output. */

export function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

/** The first of each key, in order. */
export function dedupeBy<T>(xs: T[], key: (x: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const x of xs) if (!seen.has(key(x))) seen.set(key(x), x);
  return [...seen.values()];
}

/** [1,2,3,4,5] by 2 → [[1,2],[3,4],[5]]; an empty list gives no batches (so no calls). */
export function chunk<T>(xs: readonly T[], size: number): T[][] {
  if (!(size >= 1)) throw new RangeError(`chunk size must be >= 1, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/**
 * The SSM agent reports a RunShellScript plugin's `Output` as stdout, then — when there is any
 * stderr — a "\n----------ERROR-------\n" title and stderr (the agent's TruncateOutput), e.g.
 * "installed\n----------ERROR-------\ncurl: (7) refused". Splitting it gives the engine the first
 * lines of stderr for a failure reason without a GetCommandInvocation per instance.
 */
export function splitStderr(output: string | undefined): { output?: string; stderr?: string } {
  if (output === undefined) return {};
  const m = /(?:^|\n)-{4,}ERROR-{4,}\n?/.exec(output);
  if (!m) return { output };
  return { output: output.slice(0, m.index), stderr: output.slice(m.index + m[0].length) };
}
