/**
 * One reader for every YAML/JSON file a person hands rollwave: the plan, `--var-file` and
 * `--inventory`. It turns what goes wrong with such files into messages for people:
 *
 *   - a UTF-16 or binary file is named as such (never echoed back as a wall of \u0000);
 *   - nesting deeper than MAX_NESTING levels is one "nesting too deep" error with its location,
 *     found on the parser's (iterative) token tree before the recursive composer can overflow;
 *   - the YAML library's messages are rewritten: a second document, a duplicate key (named, with
 *     its path and where it first appears), tabs;
 *   - a cascade of syntax errors is cut to the first few.
 *
 * Nothing here prints: problems come back as located `InputIssue`s.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import {
  Composer,
  type CST,
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  Parser,
  type YAMLError,
} from "yaml";
import { shown } from "../util/quote.js";
import { formatPath, type PathSegment } from "./locate.js";
import { InputError, type InputIssue } from "./types.js";

/** Maps and lists inside each other: plans and inventories need fewer than 10. */
export const MAX_NESTING = 100;
/** Syntax errors shown per file: later ones usually follow from the first. */
const MAX_SYNTAX_ERRORS = 10;

/** `what` names the file in messages: "the plan", "the var file", "the inventory". */
export async function readTextFile(file: string, what: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new InputError([readFailure(e, file, what)]);
  }
  return decodeOrThrow(bytes, file, what);
}

/** Same as `readTextFile`, synchronously; returns the problem instead of throwing. */
export function readTextFileSync(file: string, what: string): { text: string } | { issue: InputIssue } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    return { issue: readFailure(e, file, what) };
  }
  const r = decodeText(bytes, file, what);
  return "issue" in r ? r : { text: r.text };
}

function readFailure(e: unknown, file: string, what: string): InputIssue {
  const code = (e as NodeJS.ErrnoException).code;
  const reason =
    code === "ENOENT"
      ? "no such file"
      : code === "EISDIR"
        ? "it is a directory"
        : code === "EACCES" || code === "EPERM"
          ? "permission denied"
          : (e as Error).message;
  return { severity: "error", source: file, message: `cannot read ${what}: ${reason}` };
}

function decodeOrThrow(bytes: Uint8Array, file: string, what: string): string {
  const r = decodeText(bytes, file, what);
  if ("issue" in r) throw new InputError([r.issue]);
  return r.text;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * UTF-8 text, or why the bytes are not: a UTF-16/UTF-32 byte-order mark or the NUL-every-other-
 * byte look of UTF-16 without one, NUL bytes or control characters of a binary file, or bytes
 * that are not UTF-8 (e.g. a Latin-1 file), located at the first one.
 */
export function decodeText(
  bytes: Uint8Array,
  file: string,
  what: string,
): { text: string } | { issue: InputIssue } {
  const fail = (message: string, hint: string): { issue: InputIssue } => ({
    issue: { severity: "error", source: file, message, hint },
  });
  const saveAs = "save it as UTF-8 (e.g. `iconv -f UTF-16 -t UTF-8 in.yaml > out.yaml`)";
  const b0 = bytes[0];
  const b1 = bytes[1];
  if ((b0 === 0xff && b1 === 0xfe) || (b0 === 0xfe && b1 === 0xff)) {
    const utf32 = b0 === 0xff && bytes[2] === 0 && bytes[3] === 0;
    return fail(
      `${what} looks like ${utf32 ? "UTF-32" : "UTF-16"} text (it starts with a byte-order mark); rollwave reads UTF-8`,
      saveAs.replace("UTF-16", utf32 ? "UTF-32" : "UTF-16"),
    );
  }
  const sample = bytes.subarray(0, 4096);
  let nul = 0;
  let nulOdd = 0;
  let controls = 0;
  for (let i = 0; i < sample.length; i++) {
    const b = sample[i] as number;
    if (b === 0) {
      nul++;
      if (i % 2 === 1) nulOdd++;
    } else if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c) controls++;
  }
  if (nul > 0 && nul >= sample.length / 4 && (nulOdd / nul > 0.9 || nulOdd / nul < 0.1) && controls === 0) {
    return fail(`${what} looks like UTF-16 text (every other byte is 0); rollwave reads UTF-8`, saveAs);
  }
  if (nul > 0 || controls > Math.max(2, sample.length / 100)) {
    return fail(
      `${what} looks like a binary file, not YAML or JSON text`,
      "check the path: rollwave expects a text file",
    );
  }
  try {
    return { text: utf8.decode(bytes) };
  } catch {
    const at = firstInvalidUtf8(bytes);
    if (at < 0) {
      // Valid-looking sequences the decoder still refuses (an encoded surrogate, an overlong form).
      return fail(`${what} is not UTF-8 text`, "save it as UTF-8");
    }
    let line = 1;
    let column = 1;
    for (let i = 0; i < at; i++) {
      if (bytes[i] === 0x0a) {
        line++;
        column = 1;
      } else if (((bytes[i] as number) & 0xc0) !== 0x80) column++;
    }
    return {
      issue: {
        severity: "error",
        source: file,
        line,
        column,
        message: `${what} is not UTF-8 text: byte 0x${(bytes[at] as number).toString(16).padStart(2, "0")} here is not valid UTF-8`,
        hint: "save it as UTF-8 (e.g. `iconv -f LATIN1 -t UTF-8 in.yaml > out.yaml`)",
      },
    };
  }
}

/** Offset of the first byte that breaks UTF-8 (the start of the broken sequence), or -1. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    const n =
      b < 0x80
        ? 0
        : b >= 0xc2 && b <= 0xdf
          ? 1
          : b >= 0xe0 && b <= 0xef
            ? 2
            : b >= 0xf0 && b <= 0xf4
              ? 3
              : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (((bytes[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return -1;
}

interface YamlText {
  /** The first (and only allowed) document; undefined when it could not be composed at all. */
  doc?: Document.Parsed;
  lines: LineCounter;
  /** Errors (the file cannot be used) and warnings, located. */
  issues: InputIssue[];
}

/**
 * Parse YAML (or JSON, which is YAML) with positions. `schema: "failsafe"` keeps every scalar as
 * the text written (var files). Check `issues` for errors before using `doc`.
 */
export function parseYamlText(text: string, source: string, opts: { schema?: "failsafe" } = {}): YamlText {
  const lines = new LineCounter();
  const at = (offset: number) => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const tokens = Array.from(new Parser(lines.addNewLine).parse(text));
  const deep = tooDeep(tokens, MAX_NESTING);
  if (deep !== undefined) {
    return {
      lines,
      issues: [
        {
          severity: "error",
          source,
          ...at(deep),
          message: `nesting too deep: more than ${MAX_NESTING} levels of maps and lists inside each other`,
          hint: "a rollwave file needs only a few levels; look for unclosed [ or { before this point",
        },
      ],
    };
  }
  const composer = new Composer({ prettyErrors: false, ...(opts.schema ? { schema: opts.schema } : {}) });
  let doc: Document.Parsed | undefined;
  const issues: InputIssue[] = [];
  for (const d of composer.compose(tokens, true, text.length)) {
    if (!doc) {
      doc = d;
      continue;
    }
    issues.push({
      severity: "error",
      source,
      ...at(d.range[0]),
      message: "a second YAML document starts here; a rollwave file holds exactly one",
      hint: "remove the '---' line and what follows it, or put each document in its own file",
    });
    break;
  }
  if (!doc) return { lines, issues };
  const errors = doc.errors.map((e) => fromYamlError(e, "error", doc as Document.Parsed, source, at));
  const shownErrors = dedupe(errors).slice(0, MAX_SYNTAX_ERRORS);
  issues.push(...shownErrors);
  const hidden = dedupe(errors).length - shownErrors.length;
  if (hidden > 0) {
    const last = shownErrors[shownErrors.length - 1];
    issues.push({
      severity: "error",
      source,
      ...(last?.line !== undefined ? { line: last.line, column: last.column } : {}),
      message: `and ${hidden} more YAML syntax error${hidden === 1 ? "" : "s"} after this one`,
      hint: "fix the first ones: the rest often follow from them",
    });
  }
  for (const w of doc.warnings) issues.push(fromYamlError(w, "warning", doc, source, at));
  return { doc, lines, issues };
}

/** Throws the errors of `parseYamlText` as one InputError; returns the document and warnings. */
export function requireYaml(parsed: YamlText): {
  doc: Document.Parsed;
  lines: LineCounter;
  warnings: InputIssue[];
} {
  if (!parsed.doc || parsed.issues.some((i) => i.severity === "error")) {
    throw new InputError(parsed.issues);
  }
  return { doc: parsed.doc, lines: parsed.lines, warnings: parsed.issues };
}

/** Offset of the first collection nested deeper than `limit`, walking the CST without recursion. */
function tooDeep(tokens: CST.Token[], limit: number): number | undefined {
  const stack: [CST.Token, number][] = tokens.map((t) => [t, 0]);
  while (stack.length > 0) {
    const [t, depth] = stack.pop() as [CST.Token, number];
    if (t.type === "document") {
      if (t.value) stack.push([t.value, depth]);
    } else if (t.type === "block-map" || t.type === "block-seq" || t.type === "flow-collection") {
      if (depth + 1 > limit) return t.offset;
      for (const item of t.items) {
        if (item.key) stack.push([item.key, depth + 1]);
        if (item.value) stack.push([item.value, depth + 1]);
      }
    }
  }
  return undefined;
}

/** Same message at the same place once (the library repeats itself on some cascades). */
function dedupe(issues: InputIssue[]): InputIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.line}:${i.column}:${i.message}`;
    return !seen.has(k) && seen.add(k);
  });
}

/** The YAML library's message, rewritten for people where it is cryptic. */
function fromYamlError(
  e: YAMLError,
  severity: InputIssue["severity"],
  doc: Document.Parsed,
  source: string,
  at: (offset: number) => { line: number; column: number },
): InputIssue {
  const where = at(e.pos[0]);
  const base: InputIssue = { severity, source, ...where, message: libraryMessage(e) };
  switch (e.code) {
    case "DUPLICATE_KEY": {
      const dup = findDuplicate(doc, e.pos[0]);
      if (!dup) return { ...base, message: "a key appears twice in the same map" };
      const first = dup.firstOffset === undefined ? undefined : at(dup.firstOffset);
      return {
        ...base,
        ...(dup.path.length ? { path: formatPath(dup.path) } : {}),
        message: `duplicate key '${shown(dup.key)}'${dup.parent.length ? ` in ${formatPath(dup.parent)}` : ""}${first ? ` (first at line ${first.line})` : ""}`,
        hint: "a key may appear once per map: remove one, or merge them",
      };
    }
    case "TAB_AS_INDENT":
      return {
        ...base,
        message: "a tab is used for indentation; YAML allows only spaces",
        hint: "indent with spaces",
      };
    case "KEY_OVER_1024_CHARS":
      return {
        ...base,
        message: "a key longer than 1,024 characters: YAML allows no longer key",
        hint: "is a ':' missing, or a value written where a key should be?",
      };
    case "RESOURCE_EXHAUSTION":
      return { ...base, message: "nesting too deep to read", hint: "look for unclosed [ or {" };
    case "MULTIPLE_DOCS":
      return {
        ...base,
        message: "a second YAML document starts here; a rollwave file holds exactly one",
        hint: "remove the '---' line and what follows it, or put each document in its own file",
      };
    default:
      return base;
  }
}

/** First line, without the library's own "at line x, column y", capped. */
function libraryMessage(e: YAMLError): string {
  const first = (e.message.split("\n")[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, "");
  return shown(first, 200);
}

/** The key written at `offset`, its path, and where the same key first appears in that map. */
function findDuplicate(
  doc: Document.Parsed,
  offset: number,
): { key: string; path: PathSegment[]; parent: PathSegment[]; firstOffset?: number } | undefined {
  const stack: { node: unknown; path: PathSegment[] }[] = [{ node: doc.contents, path: [] }];
  while (stack.length > 0) {
    const { node, path } = stack.pop() as { node: unknown; path: PathSegment[] };
    if (isMap(node)) {
      const firsts = new Map<string, number | undefined>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const keyText = isScalar(pair.key) ? String(pair.key.value) : undefined;
        const keyStart = (pair.key as { range?: [number, number, number] } | null)?.range?.[0];
        if (keyText !== undefined && keyStart === offset) {
          const first = firsts.get(keyText);
          return {
            key: keyText,
            path: [...path, keyText],
            parent: path,
            ...(first !== undefined ? { firstOffset: first } : {}),
          };
        }
        if (keyText !== undefined && !firsts.has(keyText)) firsts.set(keyText, keyStart);
        if (keyText !== undefined) stack.push({ node: pair.value, path: [...path, keyText] });
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        stack.push({ node: item, path: [...path, i] });
      });
    }
  }
  return undefined;
}
