/**
 * The journal: append-only NDJSON, one record per line, each appended (and flushed to disk) BEFORE
 * the AWS calls it describes are made. Replaying it rebuilds the engine state; a fresh observation
 * then continues every in-flight instance from where it was.
 *
 *   {"type":"header","at":…,"rolloutId":"…","planHash":"sha256:…","vars":{…},"waves":[…],…}
 *   {"type":"begin","at":…,"name":"camera-relay","state":{…the initial state…}}
 *   {"type":"decision","at":…,"instances":[…changed instances…],"global":{…}}   ← before act
 *   {"type":"acted","at":…,"instances":[…with command ids…],"global":{…}}       ← after act
 *   {"type":"asg","at":…,"op":"suspend","group":"relay-a","processes":["Launch"]} ← before the call
 *   {"type":"control","at":…,"request":{"action":"abort",…},"outcome":"applied","message":"…"}
 *   {"type":"end","at":…,"status":"paused","reason":"…","outOfService":[…]}
 *
 * The header binds the journal to its rollout: `resume` compares the plan file's hash, the resolved
 * variables and the account/region with it and refuses a difference (unless forced: then a new
 * header record lists the changes). A crash mid-write leaves a torn last line: `openFileJournal`
 * cuts it off before appending anything, so crash → resume → crash cycles never corrupt the middle.
 */
import { mkdir, open, readFile, truncate } from "node:fs/promises";
import { dirname } from "node:path";
import type { ControlOutcome, ControlRequest } from "./control.js";
import type { HeaderChange } from "./errors.js";
import type { InstancePhase, RolloutStatus } from "./events.js";
import type { EngineState, GlobalState, InstanceRun, WaveRun } from "./state.js";

/** The global state as journaled: waves without their (static) id lists. */
type JournalGlobal = Omit<GlobalState, "waves"> & { waves: Omit<WaveRun, "ids">[] };

/** What a rollout is bound to. Optional fields are absent when the caller did not know them. */
export interface RolloutHeader {
  rolloutId: string;
  name: string;
  planFile?: string;
  /** `sha256:<hex>` of the plan file's bytes. */
  planHash?: string;
  /** The resolved variables. */
  vars: Record<string, string>;
  /** The wave plan as first planned: instance ids per wave. */
  waves: { index: number; kind: "canary" | "batch"; ids: string[] }[];
  version?: string;
  /** Who started it: `ana@laptop (CI job github:1234/1)`, when the CLI knows. */
  startedBy?: string;
  account: string | null;
  region: string | null;
}

export type JournalRecord =
  | ({ type: "header"; at: number; changes?: HeaderChange[] } & RolloutHeader)
  | { type: "begin"; at: number; name: string; state: EngineState }
  | { type: "decision" | "acted"; at: number; instances: InstanceRun[]; global: JournalGlobal }
  | { type: "asg"; at: number; op: "suspend" | "resume"; group: string; processes: string[] }
  | { type: "resume"; at: number; global?: JournalGlobal }
  /** A control request (`rollwave abort`/`approve` from elsewhere) and what was done with it. */
  | { type: "control"; at: number; request: ControlRequest; outcome: ControlOutcome; message: string }
  | {
      type: "end";
      at: number;
      status: RolloutStatus;
      reason?: string;
      /** Instances out of service (or still in flight) when the run ended, and why. */
      outOfService?: { id: string; phase: InstancePhase; reason?: string }[];
    };

/** Where decisions are recorded. `append` resolves once the record is durable. */
export interface Journal {
  append(record: JournalRecord): Promise<void>;
  read(): Promise<JournalRecord[]>;
  close(): Promise<void>;
  /** Set when opening cut a torn last line (a crash mid-write): what was cut, for a warning. */
  readonly repaired?: string;
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
  const repaired = await repairTornEnd(path);
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
    ...(repaired ? { repaired } : {}),
  };
}

/**
 * Before appending: a last line that does not parse (a crash mid-write) is cut off, or the next
 * record would be glued to it and corrupt the middle of the journal for good. A complete last record
 * that only lacks its newline gets one. Returns what was done, for a warning.
 */
async function repairTornEnd(path: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  const body = text.replace(/\s+$/, "");
  if (body === "") return undefined;
  const cut = body.lastIndexOf("\n") + 1;
  const last = body.slice(cut);
  try {
    JSON.parse(last);
  } catch {
    await truncate(path, Buffer.byteLength(body.slice(0, cut)));
    const line = body.slice(0, cut).split("\n").length;
    return `the journal's last line (line ${line}, ${Buffer.byteLength(last)} bytes) was torn by a crash mid-write and was cut off: ${last.slice(0, 60)}${last.length > 60 ? "…" : ""}`;
  }
  if (!text.endsWith("\n")) {
    const fh = await open(path, "a");
    await fh.write("\n");
    await fh.close();
  }
  return undefined;
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
  /** The latest header (the first one, updated by forced changes); absent in older journals. */
  header?: RolloutHeader;
  /** Processes rollwave suspended and has not resumed yet, per group. */
  suspended: Record<string, string[]>;
  end?: { status: RolloutStatus; reason?: string };
}

/** Fold a journal into the latest engine state. Throws when there is no `begin`. */
export function replayJournal(records: JournalRecord[]): Replayed {
  let state: EngineState | undefined;
  const suspended: Record<string, string[]> = {};
  let end: Replayed["end"];
  let header: RolloutHeader | undefined;
  for (const r of records) {
    switch (r.type) {
      case "header": {
        const { type: _t, at: _a, changes: _c, ...h } = r;
        header = h;
        break;
      }
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
        // The reopened global state (resume clears the pause, acknowledges failures…).
        if (state && r.global) {
          const g = r.global;
          const waves = state.global.waves.map((w, k) => ({ ...w, ...(g.waves[k] ?? {}), ids: w.ids }));
          state = { global: { ...g, waves }, instances: state.instances };
        }
        end = undefined;
        break;
      case "end":
        end = r.reason === undefined ? { status: r.status } : { status: r.status, reason: r.reason };
        break;
    }
  }
  if (!state) throw new Error("the journal has no begin record: nothing to resume");
  // Wave membership lives on the instances (a skipped canary's replacement moves into the canary wave).
  const members = new Map<number, InstanceRun[]>();
  for (const i of Object.values(state.instances)) members.set(i.wave, [...(members.get(i.wave) ?? []), i]);
  const waves = state.global.waves.map((w) => ({
    ...w,
    ids: (members.get(w.index) ?? []).sort((a, b) => a.seq - b.seq).map((i) => i.id),
  }));
  state = { ...state, global: { ...state.global, waves } };
  const out: Replayed = { state, suspended };
  if (header) out.header = header;
  if (end) out.end = end;
  return out;
}
