/**
 * Which exports of src/ nothing imports. Every file of src/, test/, bench/ and bin/ is read as text
 * (TypeScript's parser would cost seconds just to load), and each import is followed to the file
 * and name it reaches, through `export … from` re-exports and `export *`:
 *
 * - `import { a, type B as C } from "./x.js"` uses `a` and `B` of x.ts;
 * - `export { a } from "./x.js"` is an export of its own file, which uses x's `a` once it is used;
 * - `import * as ns`, `await import("./x.js")` and `import("./x.js").T` in a type use every export
 *   of x whose name appears as an identifier in the importing file (`ns.a`, `const { a } = …`);
 * - `../dist/x.js` (bench/, bin/) stands for `src/x.ts`.
 *
 * A file's use of its own export does not count: then the `export` keyword is what is unused.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SCANNED = ["src", "test", "bench", "bin"];

interface ModuleInfo {
  /** Exported name → where it really lives: here (`local`), or another file's name. */
  named: Map<string, { local: true } | { file: string; name: string }>;
  /** `export * from` targets. */
  stars: string[];
  /** Every identifier written in the file. */
  identifiers: Set<string>;
  /** Named uses: file → names imported from it. */
  imports: { file: string; name: string }[];
  /** Whole-module uses (namespace or dynamic import, import types). */
  wholeModules: string[];
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" || e.name === "__snapshots__" ? [] : sourceFiles(p);
    return /\.(ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

/** A relative specifier → the file (relative to the repository) it names, or undefined. */
function resolveSpecifier(from: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) return undefined;
  let abs = resolve(dirname(join(ROOT, from)), spec);
  const dist = join(ROOT, "dist");
  if (abs.startsWith(`${dist}/`)) abs = join(ROOT, "src", relative(dist, abs));
  for (const candidate of [abs.replace(/\.js$/, ".ts"), abs.replace(/\.mjs$/, ".mts"), abs]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return relative(ROOT, candidate);
  }
  return undefined;
}

const DECLARED =
  /^export\s+(?:declare\s+)?(default\s+)?(?:async\s+)?(?:function\*?|const|let|var|interface|type|(?:abstract\s+)?class|enum)\s+([A-Za-z_$][\w$]*)/gm;
const RE_EXPORTED = /^export\s+(?:type\s+)?\{([^}]*)\}\s*(?:from\s*["']([^"']+)["'])?/gm;
const STAR = /^export\s+(?:type\s+)?\*\s*(?:as\s+([\w$]+)\s+)?from\s*["']([^"']+)["']/gm;
const IMPORTED =
  /^import\s+(?:type\s+)?([\w$]+\s*,?\s*)?(?:\{([^}]*)\}|\*\s*as\s+[\w$]+)?\s*from\s*["']([^"']+)["']/gm;
const NAMESPACE = /^import\s+(?:type\s+)?(?:[\w$]+\s*,\s*)?\*\s*as\s+[\w$]+\s+from\s*["']([^"']+)["']/gm;
const DYNAMIC = /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g;
const COMMENTS = /\/\*[\s\S]*?\*\/|(?<![:"'`\w])\/\/[^\n]*/g;

/** `a, type b as c` → [["a", "a"], ["b", "c"]]: each element's own name and the name it is given. */
function elements(list: string): [string, string][] {
  return list
    .split(",")
    .map((e) => e.trim().replace(/^type\s+/, ""))
    .filter((e) => e !== "")
    .map((e) => {
      const [inner, outer] = e.split(/\s+as\s+/);
      return [inner as string, (outer ?? inner) as string];
    });
}

/**
 * A file's exports and imports, read from its text: declarations and `export`/`import` statements
 * start a line (as biome formats them), and `import("…")` stands anywhere. Comments are dropped
 * first, so an example in a doc comment is not read as code.
 */
function readModule(file: string): ModuleInfo {
  const text = readFileSync(join(ROOT, file), "utf8").replace(COMMENTS, "");
  const info: ModuleInfo = {
    named: new Map(),
    stars: [],
    identifiers: new Set(text.match(/[A-Za-z_$][\w$]*/g) ?? []),
    imports: [],
    wholeModules: [],
  };
  const to = (spec: string | undefined) => (spec ? resolveSpecifier(file, spec) : undefined);
  for (const m of text.matchAll(DECLARED))
    info.named.set(m[1] ? "default" : (m[2] as string), { local: true });
  for (const m of text.matchAll(RE_EXPORTED)) {
    const from = to(m[2]);
    for (const [inner, outer] of elements(m[1] ?? ""))
      info.named.set(outer, m[2] && from ? { file: from, name: inner } : { local: true });
  }
  for (const m of text.matchAll(STAR)) {
    const from = to(m[2]);
    if (!from) continue;
    if (m[1]) {
      info.named.set(m[1], { local: true });
      info.wholeModules.push(from);
    } else info.stars.push(from);
  }
  for (const m of text.matchAll(IMPORTED)) {
    const from = to(m[3]);
    if (!from) continue;
    if (m[1]) info.imports.push({ file: from, name: "default" });
    for (const [inner] of elements(m[2] ?? "")) info.imports.push({ file: from, name: inner });
  }
  for (const re of [NAMESPACE, DYNAMIC])
    for (const m of text.matchAll(re)) {
      const from = to(m[1]);
      if (from) info.wholeModules.push(from);
    }
  return info;
}

/** `src/x.ts  name` for every export of src/ that no other file imports. */
export function unusedExports(): string[] {
  const files = SCANNED.flatMap((d) => sourceFiles(join(ROOT, d))).map((f) => relative(ROOT, f));
  const modules = new Map(files.map((f) => [f, readModule(f)]));
  const used = new Set<string>();

  /** Everything `file` exports under `name`, including through `export *`. */
  const mark = (file: string, name: string, seen = new Set<string>()): boolean => {
    const key = `${file}\0${name}`;
    if (seen.has(key)) return false;
    seen.add(key);
    const m = modules.get(file);
    if (!m) return false;
    const entry = m.named.get(name);
    if (entry) {
      used.add(key);
      if (!("local" in entry)) mark(entry.file, entry.name, seen);
      return true;
    }
    let found = false;
    for (const star of m.stars) found = mark(star, name, seen) || found;
    return found;
  };
  /** Every name `file` exports, own and through `export *`. */
  const exportedNames = (file: string, seen = new Set<string>()): string[] => {
    const m = modules.get(file);
    if (!m || seen.has(file)) return [];
    seen.add(file);
    return [...m.named.keys(), ...m.stars.flatMap((s) => exportedNames(s, seen))];
  };

  for (const [file, m] of modules) {
    for (const i of m.imports) if (i.file !== file) mark(i.file, i.name);
    for (const whole of m.wholeModules) {
      if (whole === file) continue;
      for (const name of exportedNames(whole)) if (m.identifiers.has(name)) mark(whole, name);
    }
  }
  const unused: string[] = [];
  for (const [file, m] of modules) {
    if (!file.startsWith("src/")) continue;
    for (const name of m.named.keys()) if (!used.has(`${file}\0${name}`)) unused.push(`${file}  ${name}`);
  }
  return unused.sort();
}
