/**
 * Turn zod's issues into located, human messages: `unknown key 'rollot'` with a did-you-mean,
 * `expected a string, got a number` with a quoting hint, enum values with the closest option.
 */
import type { z } from "zod";
import { quote, shown } from "../util/quote.js";
import type { Locator, PathSegment } from "./locate.js";
import { get } from "./raw.js";
import { allowedKeysAt } from "./schema.js";
import { suggestionHint } from "./suggest.js";
import type { InputIssue } from "./types.js";

export function fromZodIssues(
  zodIssues: readonly z.core.$ZodIssue[],
  raw: unknown,
  loc: Locator,
): InputIssue[] {
  const out: InputIssue[] = [];
  for (const zi of zodIssues) {
    const path = zi.path.filter((p): p is PathSegment => typeof p !== "symbol");
    const value = get(raw, path);
    if (value === undefined && zi.code !== "unrecognized_keys" && zi.code !== "custom") {
      out.push(loc.issue("error", path, `missing required field '${String(path[path.length - 1])}'`));
      continue;
    }
    switch (zi.code) {
      case "unrecognized_keys":
        for (const key of zi.keys) {
          out.push(
            loc.issue(
              "error",
              [...path, key],
              `unknown key '${shown(key)}'`,
              suggestionHint(key, allowedKeysAt(path)),
              {
                key: true,
              },
            ),
          );
        }
        break;
      case "invalid_type": {
        const expected = article(String(zi.expected));
        const hint =
          zi.expected === "string" && (typeof value === "number" || typeof value === "boolean")
            ? `quote it: "${String(value)}" (YAML reads it as a ${typeof value})`
            : undefined;
        out.push(loc.issue("error", path, `expected ${expected}, got ${describe(value)}`, hint));
        break;
      }
      case "invalid_union": {
        // Our unions carry "expected a size; <how to write one>" (see schema.ts).
        const [what, ...how] = zi.message.split("; ");
        out.push(loc.issue("error", path, `${what}, got ${describe(value)}`, how.join("; ") || undefined));
        break;
      }
      case "invalid_value": {
        const options = zi.values.map((v) => String(v));
        out.push(
          loc.issue(
            "error",
            path,
            `${typeof value === "string" ? quote(value) : shown(String(JSON.stringify(value)))} is not one of: ${options.join(", ")}`,
            typeof value === "string" ? suggestionHint(value, options, "allowed values") : undefined,
          ),
        );
        break;
      }
      case "custom": {
        const hint = (zi.params as { hint?: string } | undefined)?.hint;
        out.push(loc.issue("error", path, zi.message, hint));
        break;
      }
      case "too_small":
        out.push(
          loc.issue(
            "error",
            path,
            zi.origin === "array" ? "must not be empty" : `must be at least ${String(zi.minimum)}`,
          ),
        );
        break;
      default:
        out.push(loc.issue("error", path, zi.message));
    }
  }
  return out;
}

function article(t: string): string {
  if (t === "array") return "a list";
  if (t === "object") return "a map";
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

function describe(v: unknown): string {
  if (v === null) return "nothing (null)";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a map";
  return `${article(typeof v)} (${typeof v === "string" ? quote(v) : shown(String(v))})`;
}
