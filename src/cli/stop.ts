/**
 * How a running deploy/resume stops when it is told to (issue 7, "Signals and closed output").
 *
 * - The first Ctrl-C at a terminal is the **graceful stop**: nothing new starts, instances in flight
 *   finish their steps back into service, Auto Scaling processes are resumed, the run ends paused.
 * - SIGTERM, SIGHUP, SIGINT without a terminal (a CI runner cancelling the job), a closed stdout or
 *   stderr (EPIPE: `--output json | head -1`), and any second signal take the **fast stop**: nothing
 *   new starts at once, in-flight instances get `--stop-grace` (default 5 s) to come back, and if they
 *   have not, the process writes a final journal record naming every instance out of service and why,
 *   prints them with the exact `resume` command, and exits — before the SIGKILL that CI runners
 *   (GitHub Actions: 10 s after SIGINT) and container runtimes send. A signal during the grace ends
 *   it at once.
 *
 * Auto Scaling processes the rollout suspended stay suspended after a fast stop: the journal holds
 * their suspension and no resume record, so `rollwave resume` resumes them when it ends (see
 * docs/engine.md, "Stopping"). The final message also prints the command that resumes them by hand.
 */
import type { InstancePhase } from "../engine/events.js";
import type { JournalRecord } from "../engine/journal.js";
import { type EngineState, isInFlight } from "../engine/state.js";
import type { CliIo, StopCause } from "./io.js";

export const DEFAULT_STOP_GRACE_MS = 5_000;

interface Stops {
  /** Aborted on the first stop of any kind: hand it to the engine and to prompts. */
  signal: AbortSignal;
  /** True once any stop arrived (the CLI then exits 130). */
  readonly interrupted: boolean;
  /** What triggered the fast stop, once one has. */
  readonly cause: StopCause | undefined;
  /** Resolves with the cause when a fast stop's grace has run out; never resolves otherwise. */
  expired: Promise<StopCause>;
  /** Stop listening and cancel the grace timer. */
  dispose(): void;
}

/**
 * `interactive`: stdin is a terminal, so a first SIGINT is a person's Ctrl-C and keeps the graceful
 * stop. `graceMs` bounds the fast stop in real time (CI and container runtimes count real seconds).
 */
export function handleStops(io: CliIo, o: { graceMs: number; interactive: boolean }): Stops {
  const controller = new AbortController();
  let interrupted = false;
  let cause: StopCause | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let expire: (c: StopCause) => void = () => undefined;
  const expired = new Promise<StopCause>((resolve) => {
    expire = resolve;
  });
  const say = (text: string) => {
    try {
      io.stderr.write(text);
    } catch {
      // stderr closed too: the journal still says everything.
    }
  };
  const fast = (c: StopCause) => {
    if (cause !== undefined) {
      // A further signal during the grace: end it now (the final record is still written).
      if (timer) clearTimeout(timer);
      timer = undefined;
      say(`\n${c}: ending the stop grace now\n`);
      expire(cause);
      return;
    }
    cause = c;
    interrupted = true;
    say(
      `\n${describe(c)}: stopping fast — no new instances start; instances in flight get ${seconds(o.graceMs)}s to come back, then rollwave records what is still out and exits\n`,
    );
    timer = setTimeout(() => {
      timer = undefined;
      expire(c);
    }, o.graceMs);
    controller.abort(new Error(`stopped: ${c}`));
  };
  const graceful = () => {
    interrupted = true;
    say(
      "\ninterrupted: stopping safely — no new instances start, in-flight instances finish, Auto Scaling processes are resumed (Ctrl-C again to stop fast)\n",
    );
    controller.abort(new Error("interrupted"));
  };
  const on = (c: StopCause) => () => {
    if (c === "SIGINT" && o.interactive && !interrupted) graceful();
    else fast(c);
  };
  const offs = [
    io.onSignal("SIGINT", on("SIGINT")),
    io.onSignal("SIGTERM", on("SIGTERM")),
    io.onSignal("SIGHUP", on("SIGHUP")),
    io.onOutputClosed?.(() => {
      // A closed pipe errors on every later write: one stop is enough.
      if (cause === undefined) fast("EPIPE");
    }) ?? (() => undefined),
  ];
  return {
    signal: controller.signal,
    get interrupted() {
      return interrupted;
    },
    get cause() {
      return cause;
    },
    expired,
    dispose() {
      for (const off of offs.splice(0)) off();
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}

function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}

function describe(c: StopCause): string {
  return c === "EPIPE" ? "output closed (EPIPE)" : `${c} received`;
}

interface OutOfService {
  id: string;
  phase: InstancePhase;
  az?: string;
  reason?: string;
}

/**
 * The final record of a fast stop, built from the journal itself (the engine is still running in
 * this process, so the journal is the one consistent view): every instance in flight or left out,
 * with why, and the Auto Scaling processes still suspended. Appended as an `end` record with
 * status `paused`, so `resume` continues from it like any pause.
 */
export function stopRecord(
  replayed: { state: EngineState; suspended: Record<string, string[]> } | undefined,
  o: { cause: StopCause; graceMs: number; at: number },
): { record: JournalRecord & { type: "end" }; out: OutOfService[]; suspended: Record<string, string[]> } {
  const out: OutOfService[] = [];
  for (const i of Object.values(replayed?.state.instances ?? {})) {
    const inFlight = isInFlight(i);
    if (!inFlight && !i.out) continue;
    const why = inFlight
      ? `in flight (${i.phase}) when rollwave stopped`
      : (i.reason ?? `left out (${i.phase})`);
    out.push({ id: i.id, phase: i.phase, az: i.az, reason: why });
  }
  const suspended = replayed?.suspended ?? {};
  const groups = Object.keys(suspended);
  const reason =
    `stopped by ${o.cause === "EPIPE" ? "a closed output (EPIPE)" : o.cause}: the ${seconds(o.graceMs)}s stop grace ran out with ` +
    `${out.length} instance(s) in flight or out of service` +
    (groups.length
      ? `; Auto Scaling processes left suspended on ${groups.join(", ")} (resume restores them)`
      : "") +
    "; resume to continue";
  const record: JournalRecord & { type: "end" } = { type: "end", at: o.at, status: "paused", reason };
  if (out.length)
    record.outOfService = out.map(({ id, phase, reason: r }) =>
      r ? { id, phase, reason: r } : { id, phase },
    );
  return { record, out, suspended };
}

/** What a person (or a CI log) reads after a fast stop, on stderr. */
export function stopMessage(o: {
  cause: StopCause;
  out: OutOfService[];
  suspended: Record<string, string[]>;
  resumeCommand: string;
  journalFile: string;
  recorded: boolean;
}): string {
  const lines: string[] = [];
  lines.push(
    `stopped (${describe(o.cause)}) before in-flight work finished; ${o.out.length} instance(s) in flight or out of service:`,
  );
  for (const i of o.out) lines.push(`  ${i.id}  ${i.az ?? ""}  ${i.reason ?? i.phase}`);
  const groups = Object.entries(o.suspended);
  if (groups.length) {
    lines.push("Auto Scaling processes stay suspended until `rollwave resume` ends; to resume them by hand:");
    for (const [g, p] of groups)
      lines.push(
        `  aws autoscaling resume-processes --auto-scaling-group-name ${g} --scaling-processes ${p.join(" ")}`,
      );
  }
  lines.push(
    o.recorded
      ? `recorded in the journal (${o.journalFile})`
      : `could not write the final record; the journal's last decision still describes the state (${o.journalFile})`,
  );
  lines.push(`continue with: ${o.resumeCommand}`);
  return `${lines.join("\n")}\n`;
}
