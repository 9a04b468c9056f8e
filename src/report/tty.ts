/**
 * The live terminal view: one listr2 view, a task per wave whose title carries its counts per phase,
 * and a "fleet" line on top with in-service / out-of-service instances, connected cameras and the
 * gate being waited on. The engine drives it purely through events; nothing here polls.
 *
 *   ✔ fleet: 980 in service · 20 out of service · 179,412 connections
 *   ❯ waves
 *     ✔ wave 0 canary · 3/3 done
 *     ⠙ wave 1 batch · 12/20 done · draining 5 · deploying 3
 *     ◼ wave 2 batch · 50 instances
 *
 * When the stream is not a terminal it falls back to the plain renderer, so redirecting a tty run
 * to a file still gives a readable log.
 */
import { Listr, ListrLogger, ProcessOutput } from "listr2";
import type { InstancePhase, RolloutEvent } from "../engine/events.js";
import { colorEnabled, makeChalk, type OutputStream, type Renderer } from "./output.js";
import { createPlainRenderer, formatPhases } from "./plain.js";
import { formatSummary } from "./summary.js";

export interface TtyRendererOptions {
  env?: Record<string, string | undefined>;
  name?: string;
  /**
   * Where listr2 sends stray stderr output while it owns the screen. Must not be `out` itself:
   * listr2 wraps each stream's write while rendering. Default: discarded.
   */
  err?: OutputStream;
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

interface WaveView {
  index: number;
  kind: "canary" | "batch";
  size: number;
  phases: Map<string, InstancePhase>;
  succeeded: number;
  failed: number;
  started: boolean;
  finished: Deferred;
  title(): string;
}

const ACTIVE: InstancePhase[] = [
  "preDrain",
  "deregistering",
  "draining",
  "deploying",
  "validating",
  "registering",
  "warming",
  "rollingBack",
];

export function createTtyRenderer(out: OutputStream, o: TtyRendererOptions = {}): Renderer {
  const env = o.env ?? {};
  if (!out.isTTY) return createPlainRenderer(out, { env, name: o.name });
  const chalk = makeChalk(colorEnabled(out, env));
  const waves = new Map<number, WaveView>();
  const done = deferred();
  let fleetLine = "starting";
  let gateLine = "";
  let finishedEvent: Extract<RolloutEvent, { type: "rollout.finished" }> | undefined;
  let running: Promise<unknown> | undefined;
  let fleetTask: { title: string; output: string } | undefined;
  const pending: RolloutEvent[] = [];

  function waveView(index: number, kind: "canary" | "batch", size: number): WaveView {
    const view: WaveView = {
      index,
      kind,
      size,
      phases: new Map(),
      succeeded: 0,
      failed: 0,
      started: false,
      finished: deferred(),
      title() {
        const counts: Partial<Record<InstancePhase, number>> = {};
        let finishedCount = 0;
        for (const p of this.phases.values()) {
          if (ACTIVE.includes(p)) counts[p] = (counts[p] ?? 0) + 1;
          else if (p !== "pending") finishedCount++;
        }
        const head = `wave ${index} ${kind === "canary" ? chalk.cyan(kind) : kind}`;
        if (!this.started) return `${head} · ${size} instances`;
        const failed = [...this.phases.values()].filter((p) => p === "failed").length;
        const parts = [`${finishedCount}/${size} done`];
        if (failed > 0) parts.push(chalk.red(`${failed} failed`));
        const active = formatPhases(counts);
        if (active) parts.push(active);
        return `${head} · ${parts.join(" · ")}`;
      },
    };
    return view;
  }

  function refresh() {
    if (fleetTask) {
      fleetTask.title = `fleet: ${fleetLine}`;
      fleetTask.output = gateLine;
    }
  }

  function start(e: Extract<RolloutEvent, { type: "rollout.started" }>) {
    for (const w of e.waves) waves.set(w.index, waveView(w.index, w.kind, w.size));
    fleetLine = `${e.total} instances · window ${e.window.maxUnavailable}${e.dryRun ? " · dry run" : ""}`;
    const waveTasks = [...waves.values()].map((w) => ({
      title: w.title(),
      task: async (_: unknown, task: { title: string }) => {
        const timer = setInterval(() => {
          task.title = w.title();
        }, 100);
        try {
          await w.finished.promise;
        } finally {
          clearInterval(timer);
          task.title = w.title();
        }
        if (w.failed > 0) throw new Error(`${w.failed} failed`);
      },
    }));
    const list = new Listr(
      [
        {
          title: `fleet: ${fleetLine}`,
          task: async (_: unknown, task: { title: string; output: string }) => {
            fleetTask = task;
            refresh();
            await done.promise;
          },
        },
        {
          title: `rollout ${e.name}`,
          task: (_: unknown, task) => task.newListr(waveTasks, { concurrent: false, exitOnError: false }),
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
              out as NodeJS.WriteStream,
              (o.err ?? { write: () => true }) as NodeJS.WriteStream,
              { leaveEmptyLine: false },
            ),
          }),
          collapseSubtasks: false,
          showErrorMessage: false,
        },
      },
    );
    running = list.run().catch(() => undefined);
  }

  function apply(e: RolloutEvent) {
    switch (e.type) {
      case "rollout.started":
        start(e);
        return;
      case "wave.started": {
        const w = waves.get(e.index);
        if (w) {
          w.started = true;
          for (const id of e.instanceIds) if (!w.phases.has(id)) w.phases.set(id, "pending");
        }
        return;
      }
      case "wave.finished": {
        const w = waves.get(e.index);
        if (w) {
          w.succeeded = e.succeeded;
          w.failed = e.failed;
          w.finished.resolve();
        }
        return;
      }
      case "instance.phase":
      case "instance.failed": {
        const w = waves.get(e.wave);
        if (w) {
          w.started = true;
          w.phases.set(e.id, e.type === "instance.failed" ? "failed" : e.to);
        }
        return;
      }
      case "progress": {
        const conn =
          e.connections !== undefined ? ` · ${e.connections.toLocaleString("en-US")} connections` : "";
        fleetLine = `${e.inService} in service · ${e.outOfService} out of service${conn}`;
        refresh();
        return;
      }
      case "gate.waiting":
        gateLine = `${chalk.yellow("waiting")} ${e.gate}: ${e.message}`;
        refresh();
        return;
      case "gate.passed":
        gateLine = `${chalk.green("passed")} ${e.gate}: ${e.message}`;
        refresh();
        return;
      case "policy.triggered":
        gateLine = chalk.red(`failure policy: ${e.failed} failed (max ${e.maxFailed}) → ${e.action}`);
        refresh();
        return;
      case "warning":
        gateLine = `${chalk.yellow("warning")} ${e.code}: ${e.message}`;
        refresh();
        return;
      case "rollout.finished":
        finishedEvent = e;
        return;
      default:
        return;
    }
  }

  async function finish(): Promise<void> {
    for (const w of waves.values()) w.finished.resolve();
    done.resolve();
    if (running) await running;
  }

  return {
    onEvent(e) {
      if (finishedEvent) return;
      if (!running && e.type !== "rollout.started") {
        pending.push(e);
        return;
      }
      apply(e);
      if (e.type === "rollout.started") for (const p of pending.splice(0)) apply(p);
      if (e.type === "rollout.finished") void finish();
    },
    async close() {
      await finish();
      if (finishedEvent) out.write(`\n${formatSummary(finishedEvent, chalk, { name: o.name })}`);
    },
  };
}
