/**
 * The live terminal view: a frame redrawn in place, with a header (time so far, settled instances,
 * an ETA from the measured per-instance time), status lines under it (the effective window and what
 * binds it, devices connected and the capacity in service, API calls and throttles, the gate being
 * waited on, a stop notice), then one line per wave with its mark and its counts per phase. The
 * engine drives it purely through events; nothing here polls AWS (the simulator's exact camera count
 * comes from the CLI's `connected` option).
 *
 *   ⠙ 31m2s elapsed · 301/1000 settled · ETA 1h12m (4m10s/instance × 41)
 *     window 43/100 out (≤43/AZ) · bound by maxUnavailablePerAz in ap-northeast-1a
 *     devices 180,000/180,000 connected · 957 in service, 43 out
 *     capacity 215,325 (957×250 −10%) · API 1,203 calls, 0 throttled
 *     waiting capacity: displacing 200 more connections would exceed 3000/min
 *   rollout camera-relay (5b901f58-…)
 *     ✔ wave 0 canary · 3/3 done
 *     ⠙ wave 1 batch · 12/20 done · draining 5, deploying 3
 *     ⠙ wave 2 batch · 0/50 done · preDrain 4
 *     ◼ wave 3 batch · 100 instances
 *
 * It tells the truth and fits the screen: every wave under way gets the spinner (the sliding window
 * runs several at once); a wave that did not finish when the view stops (approval prompt, Ctrl-C,
 * pause) is drawn ⏸ `paused` or ◼ `queued`, never ✔; lines are cut at the terminal's width and the
 * frame at its height (finished waves fold into one line, the queued tail into another); it redraws
 * at most 5 times a second inside synchronized-output markers (DEC mode 2026: a terminal that knows
 * them paints each frame at once, the others ignore them).
 *
 * `suspend()` (an approval prompt) draws the frame once more, frozen, and leaves it on screen; the
 * next event or `resume()` starts a new frame below. When the stream is not a terminal it falls back
 * to the plain renderer, so redirecting a tty run still gives a readable log.
 */
import { IN_FLIGHT_PHASES, type InstancePhase, type RolloutEvent } from "../engine/events.js";
import { formatDuration } from "../util/duration.js";
import { createOutcomeTracker } from "./outcomes.js";
import { colorEnabled, makeChalk, type OutputStream, type Renderer } from "./output.js";
import { createPlainRenderer, formatPhases } from "./plain.js";
import { type FinishedEvent, formatSummary } from "./summary.js";

interface TtyRendererOptions {
  env?: Record<string, string | undefined>;
  name?: string;
  /** Wave lines per frame (default: what fits the terminal's rows). */
  maxWaves?: number;
  /**
   * The exact number of devices connected, where something knows it (the simulator does); without
   * it the header shows the connection metric's reading, which is an upper bound.
   */
  connected?: () => { connected: number; total: number } | undefined;
}

const ACTIVE = IN_FLIGHT_PHASES;
/** At most 5 redraws a second: enough to follow, little enough for a slow SSH session or a recorder. */
const REDRAW_MS = 200;
/** How far back (rollout time) the ETA's "at a time" looks. */
const CONCURRENCY_TAU_MS = 5 * 60_000;
const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const CSI = "\u001b[";
const SYNC_BEGIN = `${CSI}?2026h`;
const SYNC_END = `${CSI}?2026l`;
const HIDE_CURSOR = `${CSI}?25l`;
const SHOW_CURSOR = `${CSI}?25h`;
const ANSI = new RegExp(`${"\u001b"}\\[[0-9;?]*[A-Za-z]`, "g");
const ANSI_AT_START = new RegExp(`^${"\u001b"}\\[[0-9;?]*[A-Za-z]`);

/** Cut a line (which may hold colour escapes) to `width` visible characters, ending in `…` when cut. */
function fitWidth(line: string, width: number): string {
  const visible = [...line.replace(ANSI, "")];
  if (visible.length <= width) return line;
  // Walk the original, copying escapes whole and counting only visible characters.
  let out = "";
  let n = 0;
  for (let i = 0; i < line.length; ) {
    if (line[i] === "\u001b") {
      const m = ANSI_AT_START.exec(line.slice(i));
      if (m) {
        out += m[0];
        i += m[0].length;
        continue;
      }
    }
    const ch = String.fromCodePoint(line.codePointAt(i) as number);
    if (n === width - 1) break;
    out += ch;
    n++;
    i += ch.length;
  }
  return `${out}…${CSI}0m`;
}

interface WaveView {
  index: number;
  kind: "canary" | "batch";
  size: number;
  phases: Map<string, InstancePhase>;
  started: boolean;
  isFinished: boolean;
  failed: number;
}

type Started = Extract<RolloutEvent, { type: "rollout.started" }>;

export function createTtyRenderer(out: OutputStream, o: TtyRendererOptions = {}): Renderer {
  const env = o.env ?? {};
  if (!out.isTTY) return createPlainRenderer(out, { env, name: o.name });
  const chalk = makeChalk(colorEnabled(out, env));
  // Some CI pseudo-terminals report 0 columns: assume 80 × 24 then.
  const columns = () => out.columns || 80;
  const rows = () => out.rows || 24;
  const waves = new Map<number, WaveView>();
  let started: Started | undefined;
  let fleetLine = "starting";
  let gateLine = "";
  /** A stop notice (Ctrl-C, a lost lock): part of every frame until the run ends, then of the final screen. */
  let noticeLine = "";
  let finalNotice = "";
  let lastProgress: Extract<RolloutEvent, { type: "progress" }> | undefined;
  /** When each instance left `pending`, and how long the settled ones took: the measured per-instance time. */
  const startedAt = new Map<string, number>();
  let settledCount = 0;
  let settledMs = 0;
  /**
   * Instances out at once, outside the canary's gates, averaged over the last few minutes of the
   * rollout's clock (an exponential average, so a window that opens up after the canary shows soon).
   */
  let concurrency: number | undefined;
  let finishedEvent: FinishedEvent | undefined;
  let throttled = 0;
  const outcomes = createOutcomeTracker();
  const early: RolloutEvent[] = [];
  let lastAt = 0;
  /** The live frame: its timer, the lines it last drew (to move back over), the spinner's turn. */
  let timer: ReturnType<typeof setInterval> | undefined;
  let drawn = 0;
  let turn = 0;
  let suspended = false;
  let closed = false;

  /**
   * The header: time so far, the ETA, settled instances. The ETA comes from the measured
   * per-instance time and how many were out at once: 300 of 1,000 settled, 5m each on average with
   * 25 out at a time → 700 × 5m / 25 = ETA 2h20m.
   */
  function header(): string {
    if (!started) return fleetLine;
    const elapsed = Math.max(0, lastAt - started.at);
    let settled = 0;
    for (const w of waves.values())
      for (const p of w.phases.values()) if (!ACTIVE.has(p) && p !== "pending") settled++;
    const left = started.total - settled;
    let eta = "";
    if (settledCount > 0 && left > 0 && !noticeLine) {
      const per = settledMs / settledCount;
      const k = Math.max(1, concurrency ?? 1);
      eta = ` · ETA ${formatDuration((left * per) / k)} (${formatDuration(per)}/instance × ${Math.round(k)})`;
    }
    return `${formatDuration(elapsed)} elapsed · ${settled}/${started.total} settled${eta}`;
  }

  /** The lines under the header: window, devices and capacity, API calls, the gate, a stop notice. */
  function statusLines(): string {
    if (!started) return gateLine;
    const lines: string[] = [];
    const perAz = Object.values(started.window.perAz);
    const azCap = perAz.length ? ` (≤${Math.max(...perAz)}/AZ)` : "";
    const w = lastProgress?.window;
    const bound = w?.boundBy ? ` · bound by ${w.boundBy}` : "";
    lines.push(
      `window ${w ? `${w.out}/` : ""}${w?.limit ?? started.window.maxUnavailable} out${azCap}${bound}`,
    );
    lines.push(devicesLine());
    const calls = lastProgress?.apiCalls;
    const api = `API ${calls !== undefined ? calls.toLocaleString("en-US") : "–"} calls, ${throttled.toLocaleString("en-US")} throttled`;
    const cap = capacityText();
    lines.push(cap ? `${cap} · ${api}` : api);
    if (gateLine) lines.push(gateLine);
    if (noticeLine) lines.push(noticeLine);
    return lines.join("\n");
  }

  /**
   * Devices connected and the fleet's capacity in service: exact when the simulator says, else the
   * metric's reading (each instance's statistic over the last minute summed: an upper bound).
   */
  function devicesLine(): string {
    const p = lastProgress;
    const inService = p
      ? `${p.inService.toLocaleString("en-US")} in service, ${p.outOfService} out`
      : fleetLine;
    const exact = o.connected?.();
    if (exact)
      return `devices ${exact.connected.toLocaleString("en-US")}/${exact.total.toLocaleString("en-US")} connected · ${inService}`;
    if (p?.connections !== undefined) {
      const age = p.connectionsAgeSeconds !== undefined ? `, ${p.connectionsAgeSeconds}s ago` : "";
      return `connections ≤${p.connections.toLocaleString("en-US")} (metric 1-min max${age}) · ${inService}`;
    }
    return inService;
  }

  /** What the instances in service hold, less the headroom: 955 × 250 less 10% → 214,875. */
  function capacityText(): string {
    const cap = started?.capacity;
    const p = lastProgress;
    if (!cap || !p) return "";
    const room = Math.floor(p.inService * cap.perInstanceLimit * (1 - cap.headroomPercent / 100));
    const less = cap.headroomPercent ? ` −${cap.headroomPercent}%` : "";
    return `capacity ${room.toLocaleString("en-US")} (${p.inService}×${cap.perInstanceLimit}${less})`;
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

  /** The wave lines that fit: finished waves at the top fold into one line, the queued tail into another. */
  function waveLines(budget: number, live: boolean): string[] {
    const list = [...waves.values()].sort((a, b) => a.index - b.index);
    const line = (w: WaveView) => `  ${waveMark(w, live)} ${waveTitle(w)}${waveState(w, live)}`;
    if (list.length <= budget) return list.map(line);
    const lines: string[] = [];
    let first = 0;
    while (first < list.length && list[first]?.isFinished && list.length - first > budget - 1) first++;
    if (first > 0) {
      const folded = list.slice(0, first);
      const failed = folded.reduce((n, w) => n + w.failed, 0);
      const size = folded.reduce((n, w) => n + w.size, 0);
      lines.push(
        `  ${failed ? chalk.red("✖") : chalk.green("✔")} waves 0–${first - 1} done · ${size} instances${failed ? chalk.red(` · ${failed} failed`) : ""}`,
      );
    }
    const room = budget - lines.length;
    const rest = list.slice(first);
    if (rest.length <= room) return [...lines, ...rest.map(line)];
    // Only waves not yet started fold into the tail line: one under way is always drawn as itself.
    let lastStarted = -1;
    rest.forEach((w, k) => {
      if (w.started || w.isFinished) lastStarted = k;
    });
    const shown = rest.slice(0, Math.max(0, room - 1, lastStarted + 1));
    const hidden = rest.slice(shown.length);
    if (hidden.length === 0) return [...lines, ...shown.map(line)];
    const size = hidden.reduce((n, w) => n + w.size, 0);
    const from = hidden[0]?.index ?? 0;
    const to = hidden.at(-1)?.index ?? 0;
    return [
      ...lines,
      ...shown.map(line),
      `  ${chalk.dim("◼")} waves ${from}–${to} · ${size} instances${live ? "" : " · queued"}`,
    ];
  }

  function waveMark(w: WaveView, live: boolean): string {
    if (w.isFinished) return w.failed > 0 ? chalk.red("✖") : chalk.green("✔");
    if (w.started) return live ? chalk.cyan(SPINNER[turn % SPINNER.length] as string) : chalk.yellow("⏸");
    return chalk.dim("◼");
  }

  function waveState(w: WaveView, live: boolean): string {
    if (live || w.isFinished) return "";
    return w.started ? " · paused" : " · queued";
  }

  /** The whole frame. `live`: spinners turn; otherwise waves not done are marked paused / queued. */
  function frame(live: boolean): string[] {
    if (!started) return [];
    const status = statusLines().split("\n").filter(Boolean);
    const mark = live
      ? chalk.cyan(SPINNER[turn % SPINNER.length] as string)
      : finishedEvent
        ? finishedEvent.status === "succeeded"
          ? chalk.green("✔")
          : finishedEvent.status === "paused"
            ? chalk.yellow("⏸")
            : chalk.red("✖")
        : chalk.yellow("⏸");
    const lines = [`${mark} ${header()}`, ...status.map((l) => `  ${l}`)];
    lines.push(
      `${chalk.bold(`rollout ${started.name}`)}${started.rolloutId ? chalk.dim(` (${started.rolloutId})`) : ""}`,
    );
    // One row spare for the line the cursor rests on.
    const budget = o.maxWaves ?? Math.max(1, rows() - lines.length - 1);
    lines.push(...waveLines(budget, live));
    const width = columns();
    return lines.map((l) => fitWidth(l, width));
  }

  /** Draw over the previous frame (cursor back up over it), inside synchronized-output markers. */
  function draw(live: boolean): void {
    const lines = frame(live);
    if (lines.length === 0) return;
    const up = drawn > 0 ? `\r${CSI}${drawn}A` : "";
    const body = lines.map((l) => `${l}${CSI}K\n`).join("");
    out.write(`${SYNC_BEGIN}${up}${body}${CSI}J${SYNC_END}`);
    drawn = lines.length;
  }

  function startLive(): void {
    if (timer || suspended || closed || finishedEvent || !started) return;
    out.write(HIDE_CURSOR);
    draw(true);
    timer = setInterval(() => {
      turn++;
      draw(true);
    }, REDRAW_MS);
    timer.unref?.();
  }

  /** Draw the frame one last time, frozen, and leave it on screen as history. */
  function stopLive(): void {
    if (!timer) return;
    clearInterval(timer);
    timer = undefined;
    draw(false);
    drawn = 0;
    out.write(SHOW_CURSOR);
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
        return;
      }
      case "instance.phase":
      case "instance.failed": {
        const w = waves.get(e.wave);
        if (!w) return;
        w.started = true;
        const to = e.type === "instance.failed" ? "failed" : e.to;
        const was = w.phases.get(e.id);
        w.phases.set(e.id, to);
        if (e.type === "instance.phase" && e.from === "pending" && !startedAt.has(e.id))
          startedAt.set(e.id, e.at);
        const since = startedAt.get(e.id);
        // A settle measured once per instance: how long one takes, leaving service to back in it.
        if (
          since !== undefined &&
          !ACTIVE.has(to) &&
          to !== "pending" &&
          (was === undefined || ACTIVE.has(was))
        ) {
          settledCount++;
          settledMs += Math.max(0, e.at - since);
          startedAt.delete(e.id);
        }
        return;
      }
      case "progress": {
        // Concurrency counts the time instances could flow: not the canary's bake or approval.
        const prev = lastProgress;
        if (
          prev?.window &&
          !/^canary/.test(prev.window.boundBy ?? "") &&
          e.at > prev.at &&
          prev.window.out > 0
        ) {
          const a = 1 - Math.exp(-(e.at - prev.at) / CONCURRENCY_TAU_MS);
          concurrency =
            concurrency === undefined ? prev.window.out : concurrency + a * (prev.window.out - concurrency);
        }
        lastProgress = e;
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
        // The last frame shows the outcome's mark; the summary follows at close().
        if (timer) {
          clearInterval(timer);
          timer = undefined;
          draw(false);
          drawn = 0;
          out.write(SHOW_CURSOR);
        }
        return;
      }
      startLive();
    },
    notice(text: string, final?: string) {
      noticeLine = chalk.yellow(text);
      finalNotice = chalk.yellow(final ?? text);
    },
    async suspend() {
      suspended = true;
      stopLive();
    },
    resume() {
      suspended = false;
      startLive();
    },
    async close() {
      stopLive();
      closed = true;
      if (finishedEvent)
        out.write(
          `\n${formatSummary(finishedEvent, chalk, { name: o.name, throttled, problems: outcomes.problems() })}`,
        );
      // The stop notice again, by the lines that follow (resume command), in case the frame scrolled away.
      if (finalNotice) out.write(`${finalNotice}\n`);
    },
  };
}
