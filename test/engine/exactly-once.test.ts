/**
 * Exactly-once commands: a SendCommand whose answer is lost — an ambiguous error, or a crash before
 * the `acted` record — is found again by its Comment and re-attached, never sent a second time.
 */
import { describe, expect, it } from "vitest";
import { type JournalRecord, memoryJournal } from "../../src/engine/journal.js";
import { runRollout } from "../../src/engine/run.js";
import { drive, type Harness, harness, options } from "./harness.js";

/** How many times each step was sent to each instance. */
function sends(h: Harness): Map<string, number> {
  const n = new Map<string, number>();
  for (const c of h.aws.commands.values()) {
    const step = c.req.commands[0]?.split(" ")[0] ?? "?";
    for (const id of c.req.instanceIds) n.set(`${id} ${step}`, (n.get(`${id} ${step}`) ?? 0) + 1);
  }
  return n;
}

describe("exactly-once SendCommand", () => {
  it("re-attaches after an ambiguous SendCommand error instead of sending again", async () => {
    const h = harness({ n: 10, canary: 1, window: 3 });
    let armed = false;
    const r = await drive(h, runRollout(options(h)), () => {
      if (!armed && h.events.some((e) => e.type === "wave.started" && e.index === 1)) {
        armed = true;
        h.aws.loseSendAnswer = 1;
      }
    });
    expect(h.aws.loseSendAnswer).toBe(0);
    expect(r.status).toBe("succeeded");
    expect([...sends(h).values()].every((n) => n === 1)).toBe(true);
    expect(sends(h).size).toBe(10);
    expect(h.aws.calls().byAction["SSM.ListCommands"]).toBeGreaterThan(0);
    // The command carries the rollout's tag and step in its Comment.
    const first = [...h.aws.commands.values()][0];
    expect(first?.req.comment).toMatch(/^rollwave r:[0-9a-f]{8} deploy relay$/);
  });

  it("after a crash between SendCommand and its journal record, resume re-attaches to the command", async () => {
    const h = harness({ n: 10, canary: 1, window: 3 });
    // The "crash": the first `acted` record of a batch wave's deploy never gets written; the process
    // is gone. What the journal holds at that moment is all the resumed run gets.
    let crashed: JournalRecord[] | undefined;
    const orig = h.journal.append.bind(h.journal);
    h.journal.append = async (rec) => {
      const sentDeploy =
        rec.type === "acted" && rec.instances.some((i) => i.commandId && i.step === "deploy" && i.wave > 0);
      if (!crashed && sentDeploy) {
        crashed = await h.journal.read();
        return new Promise<void>(() => {}); // never returns: the process died here
      }
      await orig(rec);
    };
    void runRollout(options(h));
    for (let t = 0; !crashed && t < 3_600_000; ) {
      if (h.clock.pending === 0) {
        await new Promise((res) => setTimeout(res, 1));
        continue;
      }
      await h.clock.advance(5_000);
      t += 5_000;
    }
    expect(crashed).toBeDefined();
    const sentBefore = h.aws.commands.size;
    const j2 = memoryJournal();
    for (const rec of crashed ?? []) await j2.append(rec);
    h.controller = new AbortController();
    const r = await drive(
      h,
      runRollout(options(h, { journal: j2, resume: true, signal: h.controller.signal })),
    );
    expect(r.status).toBe("succeeded");
    expect(h.aws.commands.size).toBeGreaterThan(sentBefore);
    const counts = sends(h);
    expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect(counts.size).toBe(10);
    expect(h.aws.inService()).toHaveLength(10);
  });
});
