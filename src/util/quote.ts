/**
 * Showing a user's text back to them, safely: control characters and bidirectional-override
 * characters are escaped (so a value cannot move the cursor, recolour the terminal or reorder what
 * is shown), and anything long is cut at a readable length with its full size said.
 *
 *   quote("v1\n2")                → "v1\n2"      (a backslash and an n, not a newline)
 *   quote("a".repeat(1_000_000))  → "aaa…" (1,000,000 characters)   (the first 80 kept)
 *   shown("ro\u202Ellout")        → ro\u202ellout
 */

/** Longest stretch of a user's text shown in a message before it is cut. */
const MAX_SHOWN = 80;

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/**
 * C0 and C1 controls, DEL, the bidi embeddings/overrides/isolates and marks, zero-width
 * characters, the line/paragraph separators and the BOM: none of them should reach a terminal raw.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff\\]/g;

/**
 * Escape what must not reach a terminal raw. In a quoted value backslashes are doubled too, so an
 * escape shown is never confused with one written; shown bare (a regex pattern) they stay as typed.
 */
export function escapeText(text: string, o: { backslash?: boolean } = {}): string {
  return text.replace(UNSAFE, (c) => {
    if (c === "\\") return o.backslash ? "\\\\" : c;
    return NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

/** At most `max` code points of `text` (an emoji is never split), and whether it was cut. */
function clip(text: string, max: number): { head: string; cut: boolean } {
  // A code point is at most two UTF-16 units: look at no more than needed (a 1 MB value is never copied).
  const window = text.length > 2 * max ? text.slice(0, 2 * max) : text;
  const points = Array.from(window);
  if (points.length <= max && window.length === text.length) return { head: text, cut: false };
  return { head: points.slice(0, max).join(""), cut: true };
}

function length(text: string): string {
  let n = 0;
  for (const _ of text) n++;
  return n.toLocaleString("en-US");
}

/** The text escaped and cut to `max` characters; a cut value says how long it really is. */
export function shown(text: string, max = MAX_SHOWN): string {
  const { head, cut } = clip(text, max);
  return cut ? `${escapeText(head)}… (${length(text)} characters)` : escapeText(head);
}

/**
 * A value in double quotes, escaped and capped: `"v1.2.3"`. Used wherever a message shows a value
 * the user gave (a var value, an enum value, a flag's argument).
 */
export function quote(value: string, max = MAX_SHOWN): string {
  const { head, cut } = clip(value, max);
  const q = `"${escapeText(head, { backslash: true }).replace(/"/g, '\\"')}${cut ? "…" : ""}"`;
  return cut ? `${q} (${length(value)} characters)` : q;
}
