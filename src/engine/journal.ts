/**
 * The journal: append-only NDJSON, one record per line, each appended (and flushed to disk) BEFORE
 * the AWS calls it describes are made. Replaying it rebuilds the engine state; a fresh observation
 * then continues every in-flight instance from where it was.
 *
 *   {"type":"begin","at":…,"name":"camera-relay","state":{…the initial state…}}
 *   {"type":"decision","at":…,"instances":[…changed instances…],"global":{…}}   ← before act
 *   {"type":"acted","at":…,"instances":[…with command ids…],"global":{…}}       ← after act
 *   {"type":"asg","at":…,"op":"suspend","group":"relay-a","processes":["Launch"]} ← before the call
 *   {"type":"end","at":…,"status":"paused","reason":"…"}
 */
import { mkdir, open, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { RolloutStatus } from "./events.js";
import type { EngineState, GlobalState, InstanceRun, WaveRun } from "./state.js";

/** The global state as journaled: waves without their (static) id lists. */
type JournalGlobal = Omit<GlobalState, "waves"> & { waves: Omit<WaveRun, "ids">[] };

export type JournalRecord =
  | { type: "begin"; at: number; name: string; state: EngineState }
  | { type: "decision" | "acted"; at: number; instances: InstanceRun[]; global: JournalGlobal }
  | { type: "asg"; at: number; op: "suspend" | "resume"; group: string; processes: string[] }
  | { type: "resume"; at: number }
  | { type: "end"; at: number; status: RolloutStatus; reason?: string };

/** Where decisions are recorded. `append` resolves once the record is durable. */
export interface Journal {
  append(record: JournalRecord): Promise<void>;
  read(): Promise<JournalRecord[]>;
  close(): Promise<void>;
}

export class MemoryJournal implements Journal {
  readonly records: JournalRecord[] = [];
  async append(record: JournalRecord): Promise<void> {
    // A deep copy, as a file would hold: later mutation of the state cannot rewrite history.
    this.records.push(JSON.parse(JSON.stringify(record)) as JournalRecord);
  }
  async read(): Promise<JournalRecord[]> {
    return this.records.map((r) => JSON.parse(JSON.stringify(r)) as JournalRecord);
  }
  async close(): Promise<void> {}
}

export function memoryJournal(): MemoryJournal {
  return new MemoryJournal();
}

/**
 * A file journal. `sync: false` skips fsync (benchmarks); the default syncs every record so a crash
 * never loses a decision whose calls were made.
 */
export async function openFileJournal(path: string, opts: { sync?: boolean } = {}): Promise<Journal> {
  await mkdir(dirname(path), { recursive: true });
  const fh = await open(path, "a");
  const sync = opts.sync ?? true;
  let chain: Promise<void> = Promise.resolve();
  return {
    append(record) {
      chain = chain.then(async () => {
        await fh.write(`${JSON.stringify(record)}\n`);
        if (sync) await fh.datasync();
      });
      return chain;
    },
    async read() {
      await chain;
      return parseJournal(await readFile(path, "utf8"));
    },
    async close() {
      await chain;
      await fh.close();
    },
  };
}

/** Parse NDJSON, ignoring a torn last line (a crash mid-write). */
export function parseJournal(text: string): JournalRecord[] {
  const out: JournalRecord[] = [];
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  lines.forEach((line, n) => {
    try {
      out.push(JSON.parse(line) as JournalRecord);
    } catch (e) {
      if (n !== lines.length - 1)
        throw new Error(`journal line ${n + 1} is corrupt: ${(e as Error).message}`);
    }
  });
  return out;
}

export function slimGlobal(g: GlobalState): JournalGlobal {
  return { ...g, waves: g.waves.map(({ ids: _ids, ...rest }) => rest) };
}

interface Replayed {
  state: EngineState;
  /** Processes rollwave suspended and has not resumed yet, per group. */
  suspended: Record<string, string[]>;
  end?: { status: RolloutStatus; reason?: string };
}

/** Fold a journal into the latest engine state. Throws when there is no `begin`. */
export function replayJournal(records: JournalRecord[]): Replayed {
  let state: EngineState | undefined;
  const suspended: Record<string, string[]> = {};
  let end: Replayed["end"];
  for (const r of records) {
    switch (r.type) {
      case "begin":
        state = r.state;
        break;
      case "decision":
      case "acted": {
        if (!state) break;
        const instances = { ...state.instances };
        for (const i of r.instances) instances[i.id] = i;
        const waves = state.global.waves.map((w, k) => ({ ...w, ...(r.global.waves[k] ?? {}), ids: w.ids }));
        state = { global: { ...r.global, waves }, instances };
        end = undefined;
        break;
      }
      case "asg":
        if (r.op === "suspend") suspended[r.group] = r.processes;
        else delete suspended[r.group];
        break;
      case "resume":
        end = undefined;
        break;
      case "end":
        end = r.reason === undefined ? { status: r.status } : { status: r.status, reason: r.reason };
        break;
    }
  }
  if (!state) throw new Error("the journal has no begin record: nothing to resume");
  return end ? { state, suspended, end } : { state, suspended };
}
