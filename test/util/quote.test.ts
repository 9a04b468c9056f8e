import { describe, expect, it } from "vitest";
import { escapeText, quote, shown } from "../../src/util/quote.js";

describe("quote and shown", () => {
  it("quotes a short value as written", () => {
    expect(quote("v1.2.3")).toBe('"v1.2.3"');
    expect(shown("v1.2.3")).toBe("v1.2.3");
  });

  it("escapes control characters, bidi overrides and zero-width characters", () => {
    expect(quote("a\nb\tc\u001b[2J")).toBe('"a\\nb\\tc\\u001b[2J"');
    expect(shown("safe\u202egnp.exe")).toBe("safe\\u202egnp.exe");
    expect(shown("x\u2066y\u200bz\ufeff\u0085")).toBe("x\\u2066y\\u200bz\\ufeff\\u0085");
  });

  it("doubles backslashes and escapes quotes only inside quotes", () => {
    expect(quote('say "hi" \\n')).toBe('"say \\"hi\\" \\\\n"');
    expect(shown("^v\\d+$")).toBe("^v\\d+$");
  });

  it("cuts a long value at 80 characters and says how long it is", () => {
    const v = "a".repeat(1_000_000);
    expect(quote(v)).toBe(`"${"a".repeat(80)}…" (1,000,000 characters)`);
    expect(shown(v, 10)).toBe("aaaaaaaaaa… (1,000,000 characters)");
    expect(quote("a".repeat(80))).toBe(`"${"a".repeat(80)}"`);
    expect(quote("a".repeat(81))).toBe(`"${"a".repeat(80)}…" (81 characters)`);
  });

  it("counts characters, not UTF-16 units, and never splits an emoji", () => {
    const v = "🚀".repeat(100);
    expect(quote(v)).toBe(`"${"🚀".repeat(80)}…" (100 characters)`);
    expect(quote("🚀".repeat(80))).toBe(`"${"🚀".repeat(80)}"`);
  });

  it("leaves ordinary text, including non-Latin letters, alone", () => {
    expect(escapeText("東京 café ümlaut")).toBe("東京 café ümlaut");
  });
});
