import type { OutputStream } from "../../src/report/output.js";

/** Collects everything written, for tests: a terminal or not, and how wide. */
export class StringOutput implements OutputStream {
  text = "";
  constructor(
    readonly isTTY = false,
    readonly columns = 120,
  ) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
  lines(): string[] {
    return this.text.split("\n").filter((l) => l !== "");
  }
}
