/**
 * Brands for error classes, so `X.isX(e)` recognises an error thrown by a second copy of the module
 * (two installs of rollwave, a bundled copy, a test importing `src/` beside `dist/`), where
 * `instanceof` would say no. The brand is a `Symbol.for` key, which every copy shares, set as a
 * non-enumerable property so it never shows up in JSON or test diffs.
 *
 *   class UsageError extends Error {
 *     static isUsageError(e: unknown): e is UsageError { return hasBrand(e, "UsageError"); }
 *     constructor(...) { super(...); brand(this, "UsageError"); }
 *   }
 */
const key = (name: string) => Symbol.for(`rollwave.error.${name}`);

export function brand(error: Error, name: string): void {
  Object.defineProperty(error, key(name), { value: true, enumerable: false });
}

export function hasBrand(value: unknown, name: string): boolean {
  return (
    typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[key(name)] === true
  );
}
