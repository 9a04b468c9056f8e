/**
 * A `--simulate` fleet lives in the process that simulates it. So that the printed
 * `rollwave resume … --simulate` works, the running deploy keeps a snapshot of the simulated fleet
 * beside its journal (`<journal dir>/<plan>/sim-fleet.json`): every 250 ms, and once more when the
 * run ends (so a SIGKILL loses at most a quarter of a second), written to a temp file and renamed into place so
 * a reader never sees half a file. `resume --simulate` restores the fleet from it: versions, target
 * registrations, Auto Scaling suspensions, the SSM command history and the clock. Commands the
 * journal names but the snapshot lacks (sent in that last second) come back as failed, as do
 * invocations that were still running: their outcome went with the old process.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { SimFleetSnapshot, SimRestore, SimWorld } from "../sim/index.js";
import { UsageError } from "./errors.js";

export const SNAPSHOT_FILE = "sim-fleet.json";
/** Real ms between snapshots (the clock may run 3,600× faster: a second is an hour simulated). */
const EVERY_MS = 250;

/** Keep the snapshot of `world` in `dir` fresh until `stop()`, which writes the last one. */
export function keepSimSnapshot(world: SimWorld, dir: string): { stop(): Promise<void> } {
  const file = join(dir, SNAPSHOT_FILE);
  let writing: Promise<void> = Promise.resolve();
  let busy = false;
  let stopped = false;
  const write = () => {
    busy = true;
    writing = writing
      .then(async () => {
        const tmp = `${file}.${process.pid}.tmp`;
        await writeFile(tmp, JSON.stringify(world.snapshot()));
        await rename(tmp, file);
      })
      .catch(() => undefined) // a full disk must not stop the rollout; the next write tries again
      .finally(() => {
        busy = false;
      });
    return writing;
  };
  const timer = setInterval(() => {
    if (!stopped && !busy) void write();
  }, EVERY_MS);
  timer.unref?.();
  void write();
  return {
    async stop() {
      if (stopped) return writing;
      stopped = true;
      clearInterval(timer);
      return write();
    },
  };
}

/**
 * What `resume --simulate` restores: the snapshot in the journal's directory and the commands the
 * journal names that it lacks. A missing or unreadable snapshot is a clear error (exit 2), never a
 * fresh fleet that would not match the journal.
 */
export async function loadSimRestore(
  dir: string,
): Promise<{ restore: SimRestore; resumeAt: number } | undefined> {
  let journalText: string;
  try {
    journalText = await readFile(join(dir, "journal.ndjson"), "utf8");
  } catch {
    return undefined; // no journal: the resume itself says there is nothing to resume
  }
  const file = join(dir, SNAPSHOT_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new UsageError(
      `cannot resume this simulated rollout: there is no snapshot of its simulated fleet (${file}); a simulated fleet lives only in the process that ran it`,
      "start it again with `rollwave deploy … --simulate` (a run started before snapshots existed, or whose snapshot was removed, cannot be resumed)",
    );
  }
  let snapshot: SimFleetSnapshot;
  try {
    snapshot = JSON.parse(text) as SimFleetSnapshot;
    if (
      snapshot?.kind !== "rollwave-sim-fleet" ||
      snapshot.version !== 1 ||
      !Array.isArray(snapshot.instances)
    )
      throw new Error("not a rollwave simulated-fleet snapshot (version 1)");
  } catch (e) {
    throw new UsageError(
      `cannot resume this simulated rollout: the snapshot of its simulated fleet is unreadable (${file}: ${e instanceof Error ? e.message : String(e)})`,
      "start it again with `rollwave deploy … --simulate`",
    );
  }
  const { parseJournal, replayJournal } = await import("../engine/journal.js");
  const records = parseJournal(journalText);
  const lostCommands: NonNullable<SimRestore["lostCommands"]> = [];
  let resumeAt = snapshot.at;
  try {
    const { state } = replayJournal(records);
    const known = new Set(snapshot.commands.map((c) => c.command.commandId));
    const byCommand = new Map<string, Set<string>>();
    const add = (id: string | undefined, instance: string) => {
      if (!id || known.has(id)) return;
      const set = byCommand.get(id) ?? new Set<string>();
      set.add(instance);
      byCommand.set(id, set);
    };
    for (const i of Object.values(state.instances)) {
      add(i.commandId, i.id);
      add(i.cancelCommandId, i.id);
    }
    for (const c of Object.values(state.global.commands)) for (const id of c.ids) add(c.id, id);
    for (const [commandId, ids] of byCommand) lostCommands.push({ commandId, instanceIds: [...ids] });
  } catch {
    // Unreadable as a rollout: the resume reports it.
  }
  for (const r of records) if (typeof r.at === "number" && r.at > resumeAt) resumeAt = r.at;
  return { restore: { snapshot, lostCommands }, resumeAt };
}
