import { type Page, SimApiError } from "./api.js";

/**
 * Offset paging shared by every Describe/List call. Tokens are opaque to callers (base64 of the
 * offset), and a token that does not decode is rejected with the service's own error code.
 */
export function page<T>(items: T[], size: number, token: string | undefined, badTokenCode: string): Page<T> {
  let start = 0;
  if (token !== undefined && token !== "") {
    const decoded = /^o:(\d+)$/.exec(Buffer.from(token, "base64").toString("utf8"));
    if (!decoded) throw new SimApiError(badTokenCode, "The specified pagination token is not valid.");
    start = Number(decoded[1]);
  }
  const end = start + size;
  const out: Page<T> = { items: items.slice(start, end) };
  if (end < items.length) out.nextToken = Buffer.from(`o:${end}`).toString("base64");
  return out;
}

/** Validate an optional page size against a service's bounds. */
export function pageSize(
  value: number | undefined,
  min: number,
  max: number,
  dflt: number,
  code: string,
): number {
  if (value === undefined) return dflt;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SimApiError(code, `page size ${value} is out of range: must be between ${min} and ${max}`);
  }
  return value;
}
