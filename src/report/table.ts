/**
 * Aligned plain-text columns. Width is measured without ANSI colour codes so that emphasis does not
 * break alignment. Numbers are right-aligned, text left-aligned.
 */
type Align = "left" | "right";

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escape sequences is the point
const ANSI = /\u001b\[[0-9;]*m/g;

function visibleLength(s: string): number {
  return s.replace(ANSI, "").length;
}

function pad(s: string, width: number, align: Align): string {
  const fill = " ".repeat(Math.max(0, width - visibleLength(s)));
  return align === "right" ? fill + s : s + fill;
}

export function formatTable(headers: string[], rows: string[][], align: Align[], indent = "  "): string {
  const widths = headers.map((h, i) =>
    Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ""))),
  );
  const line = (cells: string[]) =>
    indent +
    cells
      .map((c, i) => pad(c, widths[i] ?? 0, align[i] ?? "left"))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}
