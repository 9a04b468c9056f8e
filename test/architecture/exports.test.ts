/**
 * Nothing exported from src/ goes unused: every export is imported somewhere in src/, test/,
 * bench/ or bin/ (exports.ts says how imports are followed). An export only its own file uses
 * loses its `export`; one nothing uses is deleted.
 */
import { describe, expect, it } from "vitest";
import { unusedExports } from "./exports.js";

describe("exports", () => {
  it("has no export in src/ that nothing imports", () => {
    expect(unusedExports()).toEqual([]);
  }, 60_000);
});
