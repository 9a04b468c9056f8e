import { SimApiError } from "../model/api.js";
import type { JsonInput } from "./services/types.js";

/**
 * Light type checks on JSON request members. The real services answer a wrongly-typed member with
 * a validation error rather than guessing, and so does the simulator.
 */
function invalid(name: string, want: string): SimApiError {
  return new SimApiError("ValidationException", `1 validation error detected: '${name}' must be ${want}`);
}

export function optStr(o: JsonInput, name: string): string | undefined {
  const v = o[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw invalid(name, "a string");
  return v;
}

export function reqStr(o: JsonInput, name: string): string {
  const v = optStr(o, name);
  if (v === undefined || v === "") {
    throw new SimApiError("ValidationException", `1 validation error detected: '${name}' must not be null`);
  }
  return v;
}

export function optNum(o: JsonInput, name: string): number | undefined {
  const v = o[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) throw invalid(name, "a number");
  return v;
}

export function optBool(o: JsonInput, name: string): boolean | undefined {
  const v = o[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw invalid(name, "a boolean");
  return v;
}

export function optStrList(o: JsonInput, name: string): string[] | undefined {
  const v = o[name];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw invalid(name, "a list of strings");
  return v as string[];
}

export function optObjList(o: JsonInput, name: string): JsonInput[] | undefined {
  const v = o[name];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "object" || x === null)) throw invalid(name, "a list");
  return v as JsonInput[];
}

export function optObj(o: JsonInput, name: string): JsonInput | undefined {
  const v = o[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) throw invalid(name, "a structure");
  return v as JsonInput;
}
