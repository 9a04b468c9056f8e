import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { WARNINGS } from "../../src/engine/warnings.js";

describe("warning codes", () => {
  it("are W_ codes, each with a sentence, each documented in docs/engine.md", () => {
    const docs = readFileSync(new URL("../../docs/engine.md", import.meta.url), "utf8");
    for (const [code, sentence] of Object.entries(WARNINGS)) {
      expect(code).toMatch(/^W_[A-Z_]+$/);
      expect(sentence).toMatch(/^[A-Z`].{20,}\.$/);
      expect(docs, code).toContain(`| \`${code}\` |`);
    }
  });
});
