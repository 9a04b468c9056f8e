/**
 * The live terminal view: one listr2 view, a task per wave whose title carries its counts per phase,
 * and a header on top with the time so far, an ETA from the pace so far, settled instances, the
 * window, in-service / out-of-service instances and connections, and the gate being waited on. The
 * engine drives it purely through events; nothing here polls AWS.
 *
 *   ⠙ 31m2s · ETA 1h12m · 301/1000 settled · window 100 (≤43/AZ) · 980 in service · 20 out of service · …
 *     › waiting capacity: displacing 200 more connections would exceed 3000/min
 *   ❯ rollout camera-relay
 *     ✔ wave 0 canary · 3/3 done
 *     ⠙ wave 1 batch · 12/20 done · draining 5, deploying 3
 *     ◼ wave 2 batch · 50 instances
 *
 * It tells the truth and fits the screen: a wave that did not finish when the view stops (approval
 * prompt, Ctrl-C, pause) is drawn `queued` or `paused`, never ✔; lines are cut at the terminal's
 * width; and it redraws at most 5 times a second, however fast a compressed clock sends events.
 *
 * `suspend()` (for an approval prompt) lets the current view finish drawing and stop; the next event
 * or `resume()` starts a fresh view with the waves not yet finished. When the stream is not a
 * terminal it falls back to the plain renderer, so redirecting a tty run still gives a readable log.
 */
import { Listr, ListrLogger, ProcessOutput, Spinner } from "listr2";
import { IN_FLIGHT_PHASES, type InstancePhase, type RolloutEvent } from "../engine/events.js";
import { formatDuration } from "../util/duration.js";
import { createOutcomeTracker } from "./outcomes.js";
import { colorEnabled, makeChalk, type OutputStream, type Renderer } from "./output.js";
import { createPlainRenderer, formatPhases } from "./plain.js";
import { type FinishedEvent, formatSummary } from "./summary.js";

interface TtyRendererOptions {
  env?: Record<string, string | undefined>;
  name?: string;
  /**
   * Where listr2 sends stray stderr output while it owns the screen. Must not be `out` itself:
   * listr2 wraps each stream's write while rendering. Default: discarded.
   */
  err?: OutputStream;
  /** Waves per live view (default: what fits the terminal's rows). */
  maxWaves?: number;
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const ACTIVE = IN_FLIGHT_PHASES;
/** At most 5 redraws a second: enough to follow, little enough for a slow SSH session or a recorder. */
const REDRAW_MS = 200;

/** listr2's spinner, turning (and redrawing) every REDRAW_MS instead of every 100 ms. */
class SlowSpinner extends Spinner {
  override start(cb?: () => void): void {
    super.start(cb, REDRAW_MS);
  }
}

interface WaveView {
  index: number;
  kind: "canary" | "batch";
  size: number;
  phases: Map<string, InstancePhase>;
  started: boolean;
  finished: Deferred;
  isFinished: boolean;
  failed: number;
}

type Started = Extract<RolloutEvent, { type: "rollout.started" }>;
type TaskLike = { title: string; output: string };
interface Segment {
  end: Deferred;
  run: Promise<unknown>;
  /** Ended on purpose (suspend, finish): do not roll on to the next waves. */
  ended: boolean;
}

export function createTtyRenderer(out: OutputStream, o: TtyRendererOptions = {}): Renderer {
  const env = o.env ?? {};
  if (!out.isTTY) return createPlainRenderer(out, { env, name: o.name });
  const chalk = makeChalk(colorEnabled(out, env));
  // What listr2 draws on: `out`, with a sane width when the terminal reports none (some CI
  // pseudo-terminals say 0 columns, which would wrap every character onto its own line).
  const screen = {
    write: (chunk: string) => out.write(chunk),
    get columns() {
      return out.columns || 80;
    },
    get rows() {
      return out.rows || 24;
    },
    isTTY: true,
  };
  const maxWaves = o.maxWaves ?? Math.max(3, (out.rows || 24) - 8);
  const waves = new Map<number, WaveView>();
  let started: Started | undefined;
  let fleetLine = "starting";
  let gateLine = "";
  let finishedEvent: FinishedEvent | undefined;
  let segment: Segment | undefined;
  let suspended = false;
  const shown = new Set<number>();
  let throttled = 0;
  const outcomes = createOutcomeTracker();
  const early: RolloutEvent[] = [];
  let lastAt = 0;

  /**
   * The header: time so far, an ETA from the measured pace (settled instances per minute so far),
   * the window, and throttling. Worked example: 300 of 1000 settled after 30m → ETA 1h10m.
   */
  function header(): string {
    if (!started) return fleetLine;
    const elapsed = Math.max(0, lastAt - started.at);
    let settled = 0;
    for (const w of waves.values())
      for (const p of w.phases.values()) if (!ACTIVE.has(p) && p !== "pending") settled++;
    const eta =
      settled > 0 && settled < started.total
        ? ` · ETA ${formatDuration((elapsed * (started.total - settled)) / settled)}`
        : "";
    const perAz = Object.values(started.window.perAz);
    const window = `window ${started.window.maxUnavailable}${perAz.length ? ` (≤${Math.max(...perAz)}/AZ)` : ""}`;
    const calls = throttled > 0 ? ` · ${throttled} throttled` : "";
    return `${formatDuration(elapsed)}${eta} · ${settled}/${started.total} settled · ${window} · ${fleetLine}${calls}`;
  }

  function waveTitle(w: WaveView): string {
    const head = `wave ${w.index} ${w.kind === "canary" ? chalk.cyan(w.kind) : w.kind}`;
    if (!w.started) return `${head} · ${w.size} instance${w.size === 1 ? "" : "s"}`;
    const active: Partial<Record<InstancePhase, number>> = {};
    let settled = 0;
    let failed = 0;
    for (const p of w.phases.values()) {
      if (ACTIVE.has(p)) active[p] = (active[p] ?? 0) + 1;
      else if (p !== "pending") settled++;
      if (p === "failed") failed++;
    }
    const parts = [`${settled}/${w.size} done`];
    if (failed > 0) parts.push(chalk.red(`${failed} failed`));
    const phases = formatPhases(active);
    if (phases) parts.push(phases);
    return `${head} · ${parts.join(" · ")}`;
  }

  function startSegment() {
    if (!started || segment || finishedEvent) return;
    const end = deferred();
    const name = started.name;
    const seg: Segment = { end, run: Promise.resolve(), ended: false };
    // A terminal shows `rows` lines and log-update cuts the top off anything taller, so a view
    // holds at most `maxWaves`; when they are all done the view ends (staying on screen as
    // history) and the next one takes the following waves.
    const remaining = [...waves.values()].filter((w) => !w.isFinished).slice(0, maxWaves);
    // Every wave done (ASG processes still resuming): nothing left to draw live; the summary follows.
    if (remaining.length === 0) return;
    const allDone = Promise.all(remaining.map((w) => w.finished.promise));
    for (const w of remaining) shown.add(w.index);
    // One timer redraws every wave's title, queued ones included: under the sliding window a later
    // wave is often under way while the one before it is still finishing.
    // listr2 redraws on every title or output change; under a compressed clock the events come
    // faster than anyone reads. So titles are set quietly (on the task, not through `title$`) by
    // this timer, and the spinner's turn, every REDRAW_MS, is the one redraw that shows them.
    let waveList: TaskLike[] = [];
    let fleetTask: TaskLike | undefined;
    const timer = setInterval(() => {
      remaining.forEach((w, i) => {
        const t = waveList[i];
        if (t) t.title = waveTitle(w);
      });
      if (fleetTask) {
        fleetTask.title = header();
        fleetTask.output = gateLine;
      }
    }, REDRAW_MS);
    const waveTasks = remaining.map((w) => ({
      title: waveTitle(w),
      task: async (_: unknown, task: TaskLike & { skip(message: string): void }) => {
        await Promise.race([w.finished.promise, end.promise]);
        task.title = waveTitle(w);
        if (w.isFinished && w.failed > 0) throw new Error(`${w.failed} failed`);
        // The view ended (approval prompt, Ctrl-C, pause) before this wave did: a task that
        // returns would be drawn ✔, so it is marked for what it is instead.
        if (!w.isFinished) task.skip(`${waveTitle(w)} · ${w.started ? "paused" : "queued"}`);
      },
    }));
    const list = new Listr(
      [
        {
          title: header(),
          task: async (_: unknown, task: TaskLike) => {
            task.output = gateLine;
            await Promise.race([end.promise, allDone]);
          },
        },
        {
          title: `rollout ${name}${started.rolloutId ? ` (${started.rolloutId})` : ""}`,
          task: (_: unknown, task) => {
            const sub = task.newListr(waveTasks, { concurrent: false, exitOnError: false });
            waveList = sub.tasks as unknown as TaskLike[];
            return sub;
          },
        },
      ],
      {
        concurrent: true,
        exitOnError: false,
        registerSignalListeners: false,
        fallbackRendererCondition: false,
        silentRendererCondition: false,
        forceTTY: true,
        rendererOptions: {
          logger: new ListrLogger({
            useIcons: true,
            toStderr: [],
            processOutput: new ProcessOutput(
              screen as unknown as NodeJS.WriteStream,
              (o.err ?? { write: () => true }) as NodeJS.WriteStream,
              { leaveEmptyLine: false },
            ),
          }),
          collapseSubtasks: false,
          showErrorMessage: false,
          // A line wider than the terminal wraps and breaks the redraw: cut it at the edge.
          formatOutput: "truncate",
          spinner: new SlowSpinner(),
        },
      },
    );
    fleetTask = list.tasks[0] as unknown as TaskLike | undefined;
    seg.run = list
      .run()
      .catch(() => undefined)
      .finally(() => {
        clearInterval(timer);
        if (segment !== seg) return;
        segment = undefined;
        if (!seg.ended && !suspended) startSegment();
      });
    segment = seg;
  }

  async function endSegment(): Promise<void> {
    const seg = segment;
    if (!seg) return;
    seg.ended = true;
    seg.end.resolve();
    // The view ends within a frame or two; never let a stuck view hold the summary (or exit) hostage.
    await Promise.race([seg.run, new Promise((r) => setTimeout(r, 2_000).unref())]);
    if (segment === seg) segment = undefined;
  }

  function apply(e: RolloutEvent) {
    outcomes.onEvent(e);
    lastAt = Math.max(lastAt, e.at);
    switch (e.type) {
      case "rollout.started":
        started = e;
        for (const w of e.waves) {
          waves.set(w.index, {
            index: w.index,
            kind: w.kind,
            size: w.size,
            phases: new Map(),
            started: false,
            finished: deferred(),
            isFinished: false,
            failed: 0,
          });
        }
        fleetLine = `${e.total} instances${e.dryRun ? " · dry run" : ""}`;
        return;
      case "wave.started": {
        const w = waves.get(e.index);
        if (!w) return;
        w.started = true;
        for (const id of e.instanceIds) if (!w.phases.has(id)) w.phases.set(id, "pending");
        return;
      }
      case "wave.finished": {
        const w = waves.get(e.index);
        if (!w) return;
        w.isFinished = true;
        w.failed = e.failed;
        w.finished.resolve();
        return;
      }
      case "instance.phase":
      case "instance.failed": {
        const w = waves.get(e.wave);
        if (!w) return;
        w.started = true;
        w.phases.set(e.id, e.type === "instance.failed" ? "failed" : e.to);
        return;
      }
      case "progress": {
        const conn =
          e.connections !== undefined
            ? ` · ≤${e.connections.toLocaleString("en-US")} connections (1-min max${e.connectionsAgeSeconds !== undefined ? `, read ${e.connectionsAgeSeconds}s ago` : ""})`
            : "";
        fleetLine = `${e.inService} in service · ${e.outOfService} out of service${conn}`;
        break;
      }
      case "gate.waiting":
        gateLine = `${chalk.yellow("waiting")} ${e.gate}: ${e.message}`;
        break;
      case "gate.passed":
        gateLine = `${chalk.green("passed")} ${e.gate}: ${e.message}`;
        break;
      case "policy.triggered":
        gateLine = chalk.red(`failure policy: ${e.failed} failed (max ${e.maxFailed}) → ${e.action}`);
        break;
      case "warning":
        gateLine = `${chalk.yellow("warning")} ${e.code}: ${e.message}`;
        break;
      case "control":
        gateLine = `${chalk.yellow(e.action)} from ${e.requestedBy}: ${e.outcome}: ${e.message}`;
        break;
      case "aws.throttled":
        throttled += e.count;
        return;
      case "rollout.finished":
        finishedEvent = e;
        return;
      default:
        return;
    }
  }

  return {
    onEvent(e) {
      if (finishedEvent) return;
      if (!started && e.type !== "rollout.started") {
        early.push(e);
        return;
      }
      apply(e);
      if (e.type === "rollout.started") for (const p of early.splice(0)) apply(p);
      if (e.type === "rollout.finished") {
        void endSegment();
        return;
      }
      if (!suspended) startSegment();
    },
    async suspend() {
      suspended = true;
      await endSegment();
    },
    resume() {
      suspended = false;
      startSegment();
    },
    async close() {
      await endSegment();
      // Waves that finished between two views (or after the last one) still get their line.
      for (const w of waves.values()) {
        if (shown.has(w.index)) continue;
        const icon = !w.isFinished
          ? w.started
            ? chalk.yellow("⏸")
            : "◼"
          : w.failed > 0
            ? chalk.red("✖")
            : chalk.green("✔");
        const state = w.isFinished ? "" : w.started ? " · paused" : " · queued";
        out.write(`  ${icon} ${waveTitle(w)}${state}\n`);
      }
      if (finishedEvent)
        out.write(
          `\n${formatSummary(finishedEvent, chalk, { name: o.name, throttled, problems: outcomes.problems() })}`,
        );
    },
  };
}
