import { describe, expect, it } from "vitest";
import { createRenderer, defaultOutputMode } from "../../src/report/renderer.js";
import { scriptedRollout } from "./scripted-events.js";
import { StringOutput } from "./string-output.js";

describe("defaultOutputMode", () => {
  it("gives a person at a terminal the live view, and CI or a redirect plain lines", () => {
    expect(defaultOutputMode({ write: () => true, isTTY: true }, {})).toBe("tty");
    expect(defaultOutputMode({ write: () => true, isTTY: true }, { CI: "true" })).toBe("plain");
    expect(defaultOutputMode({ write: () => true, isTTY: true }, { CI: "false" })).toBe("tty");
    expect(defaultOutputMode({ write: () => true, isTTY: true }, { CI: "0" })).toBe("tty");
    expect(defaultOutputMode({ write: () => true, isTTY: false }, {})).toBe("plain");
  });
});

describe("createRenderer", () => {
  it("writes NDJSON for json and lines for plain", async () => {
    const json = new StringOutput(false);
    const plain = new StringOutput(false);
    const rj = createRenderer({ mode: "json", stdout: json, env: {}, name: "web-api" });
    const rp = createRenderer({ mode: "plain", stdout: plain, env: {}, name: "web-api" });
    for (const e of scriptedRollout()) {
      rj.onEvent(e);
      rp.onEvent(e);
    }
    await rj.close();
    await rp.close();
    expect(JSON.parse(json.lines()[0] ?? "").type).toBe("rollout.started");
    expect(plain.text).toContain("rollout web-api failed in 12m43s");
  });
});
