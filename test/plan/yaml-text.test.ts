import { describe, expect, it } from "vitest";
import { decodeText, MAX_NESTING, parseYamlText } from "../../src/plan/yaml-text.js";

const decode = (bytes: Uint8Array) => decodeText(bytes, "f.yaml", "the plan");

describe("decodeText", () => {
  it("reads UTF-8, with or without a byte-order mark", () => {
    expect(decode(Buffer.from("name: café\n"))).toEqual({ text: "name: café\n" });
    expect(decode(Buffer.from("\ufeffname: x\n"))).toEqual({ text: "name: x\n" });
  });

  it("names UTF-16 (both byte orders) and UTF-32", () => {
    const le = Buffer.from("\ufeffname: x\n", "utf16le");
    const be = Buffer.from(le).swap16();
    const u32 = Buffer.from([0xff, 0xfe, 0, 0, 0x6e, 0, 0, 0]);
    for (const [bytes, what] of [
      [le, "UTF-16"],
      [be, "UTF-16"],
      [u32, "UTF-32"],
    ] as const) {
      const r = decode(bytes);
      expect("issue" in r && r.issue.message).toBe(
        `the plan looks like ${what} text (it starts with a byte-order mark); rollwave reads UTF-8`,
      );
    }
  });

  it("tells binary from text", () => {
    const r = decode(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]));
    expect("issue" in r && r.issue.message).toBe("the plan looks like a binary file, not YAML or JSON text");
  });

  it("locates the first byte that is not UTF-8", () => {
    const r = decode(Buffer.concat([Buffer.from("a: 1\nb: caf"), Buffer.from([0xe9]), Buffer.from("\n")]));
    expect(r).toMatchObject({ issue: { line: 2, column: 7 } });
  });
});

describe("parseYamlText", () => {
  it("accepts nesting up to the limit and refuses one level more", () => {
    const nested = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
    expect(parseYamlText(nested(MAX_NESTING), "f").issues).toEqual([]);
    const r = parseYamlText(nested(MAX_NESTING + 1), "f");
    expect(r.doc).toBeUndefined();
    expect(r.issues).toMatchObject([
      { line: 1, column: MAX_NESTING + 1, message: expect.stringMatching(/^nesting too deep/) },
    ]);
  });

  it("names a duplicate key inside a list item with its full path", () => {
    const r = parseYamlText("items:\n  - a: 1\n    b: 2\n    a: 3\n", "f");
    expect(r.issues).toEqual([
      expect.objectContaining({
        line: 4,
        column: 5,
        path: "items[0].a",
        message: "duplicate key 'a' in items[0] (first at line 2)",
      }),
    ]);
  });

  it("keeps the library's own words, without its position suffix, for other syntax errors", () => {
    const r = parseYamlText('a: "open\n', "f");
    expect(r.issues[0]?.message).toBe('Missing closing "quote');
  });

  it("rewrites a tab used for indentation", () => {
    const r = parseYamlText("a:\n\tb: 1\n", "f");
    expect(r.issues.some((i) => /tab is used for indentation/.test(i.message))).toBe(true);
  });
});
