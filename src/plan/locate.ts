/**
 * Map a path inside a parsed YAML/JSON document (e.g. `["rollout", "canary", "size"]`) to a
 * line and column, so every problem can be reported as `file:line:col`.
 */
import { type Document, isAlias, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from "yaml";
import { shown } from "../util/quote.js";
import type { InputIssue } from "./types.js";

export type PathSegment = string | number;

/**
 * `["steps", "deploy", "commands", 0]` → `steps.deploy.commands[0]`. A key is the user's text:
 * shown escaped and cut (util/quote.ts), so a pasted blob or a control character never reaches
 * the terminal through a path.
 */
export function formatPath(path: readonly PathSegment[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out ? `.${shown(seg)}` : shown(seg);
  }
  return out;
}

export interface Located {
  line: number;
  column: number;
}

/** Finds positions in one document; shared by the plan and var files. */
export class Locator {
  constructor(
    readonly source: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly text = "",
  ) {}

  /**
   * Position of character `index` inside the string at `path`, when the string is written on
   * one line without escapes (plain, 'single' or "double" quoted) — so an error about `${relase}`
   * points at the `$`. Otherwise the start of the string.
   */
  locateInString(path: readonly PathSegment[], index: number): Located {
    const node = this.nodeAt(path);
    if (isScalar(node) && typeof node.value === "string" && node.range) {
      const written = this.text.slice(node.range[0], node.range[1]);
      const quoted = written.length === node.value.length + 2 && /^["']/.test(written);
      if (written === node.value || (quoted && written.slice(1, -1) === node.value)) {
        const pos = this.lines.linePos(node.range[0] + (quoted ? 1 : 0) + index);
        return { line: pos.line, column: pos.col };
      }
    }
    return this.locate(path);
  }

  private nodeAt(path: readonly PathSegment[]): unknown {
    let node: unknown = this.doc.contents;
    for (const seg of path) {
      if (isAlias(node)) node = node.resolve(this.doc);
      if (isMap(node)) node = node.items.find((p) => isPair(p) && keyText(p.key) === String(seg))?.value;
      else if (isSeq(node) && typeof seg === "number") node = node.items[seg];
      else return undefined;
    }
    return node;
  }

  /**
   * Position of the value at `path`, or of its key when `key` is set (an unknown key is best
   * shown where the key is written). A path that does not exist (a missing field) falls back to
   * the deepest part that does, so the user is sent to the parent that lacks it.
   */
  locate(path: readonly PathSegment[], key = false): Located {
    let node: unknown = this.doc.contents;
    let at: [number, number, number] | undefined = (node as Node | null)?.range ?? undefined;
    for (let i = 0; i < path.length; i++) {
      if (isAlias(node)) node = node.resolve(this.doc);
      const seg = path[i];
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(seg));
        if (!pair) break;
        const keyNode = pair.key as Node | null;
        const last = i === path.length - 1;
        if (last && key && keyNode?.range) {
          at = keyNode.range;
          break;
        }
        node = pair.value;
        at = (pair.value as Node | null)?.range ?? keyNode?.range ?? at;
      } else if (isSeq(node) && typeof seg === "number") {
        const item = node.items[seg] as Node | undefined;
        if (!item) break;
        node = item;
        at = item.range ?? at;
      } else break;
    }
    if (!at) return { line: 1, column: 1 };
    const pos = this.lines.linePos(at[0]);
    return { line: pos.line, column: pos.col };
  }

  issue(
    severity: InputIssue["severity"],
    path: readonly PathSegment[],
    message: string,
    hint?: string,
    opts: { key?: boolean; index?: number } = {},
  ): InputIssue {
    const { line, column } =
      opts.index === undefined ? this.locate(path, opts.key) : this.locateInString(path, opts.index);
    const out: InputIssue = { severity, source: this.source, line, column, message };
    if (path.length) out.path = formatPath(path);
    if (hint) out.hint = hint;
    return out;
  }
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}
