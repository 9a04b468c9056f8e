/**
 * The body of `deploy` / `resume`. Order matters for safety:
 *   1. flags and plan are checked before anything touches AWS (bad input → exit 2, nothing mutated);
 *   2. the fleet is discovered and the waves planned over a connection chosen by `--dry-run`:
 *      a dry run only ever holds the read-only facade, so it cannot mutate by construction;
 *   3. the journal directory is locked, a person confirms (or `--yes`), and only then the engine runs.
 * The wiring (rollout/prepare.ts), the journal and lock (run-journal.ts) and signals and closed output (stop.ts)
 * live in their own modules; this file is the story of a deploy.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { SimSummary } from "../engine/events.js";
import type { ApprovalAnswer, ApprovalRequest, FinishedEvent } from "../engine/index.js";
import type { Fleet } from "../fleet/types.js";
import type { Plan } from "../plan/types.js";
import { approvalChoices, formatApproval } from "../report/approval.js";
import { formatDryRun } from "../report/dry-run.js";
import { colorEnabled, makeChalk, type Renderer } from "../report/output.js";
import { createRenderer, defaultOutputMode } from "../report/renderer.js";
import { intrinsicTotals } from "../sim/bound.js";
import type { RunningSimulator } from "../sim/index.js";
import type { WavePlan } from "../waves/types.js";
import { type DeployFlags, resumeCommandLine } from "./commands/deploy-flags.js";
import { previewCapacity } from "./commands/plan.js";
import { UsageError } from "./errors.js";
import { ExitCode, type ExitCodeValue, exitCodeForStatus } from "./exit-codes.js";
import { takeFleetLock } from "./fleet-lock.js";
import { type CliIo, note } from "./io.js";
import { loadPlanFromFlags } from "./plan-input.js";
import { ask } from "./prompt.js";
import { claimRunJournal } from "./run-journal.js";
import { keepSimSnapshot, loadSimRestore } from "./sim-snapshot.js";
import { DEFAULT_STOP_GRACE_MS, handleStops, stopMessage, stopRecord } from "./stop.js";
import { openTarget } from "./target.js";
import { throttleReporter } from "./throttle-events.js";
import { rollwaveVersion } from "./version.js";

/** The `sim` block of `rollout.finished`, from the simulator's own metrics. */
function simSummary(sim: RunningSimulator): SimSummary {
  const m = sim.metrics();
  const state = sim.state();
  return {
    duplicateExecutions: state.duplicates.length,
    intrinsic: intrinsicTotals(state.intrinsic),
    invariantViolations: m.invariantViolations.length,
    cameras: {
      total: m.cameras.total,
      minConnected: m.cameras.minConnected,
      refused: m.cameras.refused,
      p99DisconnectSeconds: m.cameras.disconnectSeconds.p99,
      reconnectsPerCamera: m.cameras.reconnectsPerCamera,
      cut: m.cameras.cut,
    },
    maxLoadRatio: m.maxLoadRatio,
  };
}

/** The simulator's camera series, for the HTML report. */
function simCameras(sim: RunningSimulator): { total: number; series: { at: number; connected: number }[] } {
  const m = sim.metrics();
  return { total: m.cameras.total, series: m.series.map((p) => ({ at: p.t, connected: p.connected })) };
}

/** The plan file, its hash and rollwave's version, for the journal header (resume compares them). */
async function planSource(io: CliIo, file: string) {
  const out: { planFile: string; planHash?: string; version?: string } = { planFile: file };
  try {
    out.planHash = `sha256:${createHash("sha256")
      .update(await readFile(resolve(io.cwd, file)))
      .digest("hex")}`;
  } catch {
    // Unreadable as a file here (it was loaded another way): the variables are still compared.
  }
  const v = rollwaveVersion();
  if (v !== "unknown") out.version = v;
  return out;
}

/**
 * The account guard, before a confirmation is asked or a journal written: bad input (exit 2, on
 * stderr). The engine checks again before its first mutating call.
 */
function checkAccountGuard(plan: Plan, fleet: Fleet): void {
  if (plan.guard.account && fleet.account && fleet.account !== plan.guard.account) {
    throw new UsageError(
      `account guard: the credentials are for account ${fleet.account}, the plan (guard.account) is for ${plan.guard.account}; nothing was changed`,
      "use credentials for that account (--profile, AWS_PROFILE), or correct guard.account in the plan",
    );
  }
}

/** "Roll camera-relay across 1000 instances in 12 waves (aws eu-west-1)? [y/N]": true for yes. */
async function confirmStart(
  io: CliIo,
  command: "deploy" | "resume",
  name: string,
  wavePlan: WavePlan,
  label: string,
): Promise<boolean> {
  const planned = wavePlan.waves.reduce((n, w) => n + w.instances.length, 0);
  const answer = await ask(
    io,
    `${command === "resume" ? "Resume" : "Roll"} ${name} across ${planned} instances in ${wavePlan.waves.length} waves (${label})? [y/N] `,
    ["yes", "no"] as const,
    { fallback: "no" },
  );
  return answer === "yes";
}

/**
 * An approval gate asked at the terminal, with the live display paused while it waits: what the bake
 * saw, then approve / stop / rollback. No answer (stdin closed) is `stop`: the run pauses.
 */
function approvalPrompt(io: CliIo, renderer: Renderer, signal: AbortSignal) {
  return async (req: ApprovalRequest): Promise<ApprovalAnswer> => {
    await renderer.suspend?.();
    try {
      const chalk = makeChalk(colorEnabled(io.stderr, io.env));
      io.stderr.write("\n");
      const a = await ask(io, formatApproval(req, chalk), approvalChoices(req), { signal });
      return a ?? "stop";
    } finally {
      renderer.resume?.();
    }
  };
}

export async function runDeploy(
  io: CliIo,
  file: string,
  flags: DeployFlags,
  o: { resume: boolean },
): Promise<ExitCodeValue> {
  const mode = flags.output ?? defaultOutputMode(io.stdout, io.env);
  const interactive = io.stdin.isTTY === true;
  const command = o.resume ? "resume" : "deploy";
  if (!flags.dryRun && !flags.yes && !interactive) {
    throw new UsageError(
      `${command} changes the fleet and stdin is not a terminal, so rollwave cannot ask for confirmation`,
      `add --yes to confirm (and --auto-approve to pass approval gates), or list every call first with --dry-run`,
    );
  }
  const loaded = await loadPlanFromFlags(io, file, flags, {
    requireVars: true,
    // A dry run never pauses, so it earns no "cannot be approved" warning.
    nonInteractive: !interactive && !flags.dryRun,
    autoApprove: flags.autoApprove ?? false,
    forRollout: !flags.dryRun,
  });
  const { plan } = loaded;
  const [{ prepareRollout }, engine] = await Promise.all([
    import("../rollout/prepare.js"),
    import("../engine/index.js"),
  ]);

  // `resume --simulate`: the simulated fleet comes back from the snapshot beside the journal.
  const restored =
    o.resume && flags.simulate && !flags.dryRun && flags.journalDir
      ? await loadSimRestore(resolve(io.cwd, flags.journalDir, plan.name))
      : undefined;
  const target = await openTarget(io, plan, flags, restored ?? {});
  const sim = target.sim;
  const cleanups: (() => Promise<void> | void)[] = [() => target.close()];
  // Set when a fast stop's grace ran out: the engine is still running, so the process is ended.
  let exitNow = false;
  try {
    note(io, `discovering the fleet (${target.label})…`);
    const wiring = { plan, source: file, locate: loaded.locate, ...(sim ? { simulator: sim.world } : {}) };
    if (flags.dryRun) {
      // A dry run never holds a writer: the read-only facade has no mutating method at all.
      const { aws, fleet, wavePlan } = await prepareRollout({ ...wiring, aws: target.aws, readOnly: true });
      let capacity: Awaited<ReturnType<typeof previewCapacity>>;
      try {
        checkAccountGuard(plan, fleet);
        capacity = await previewCapacity(plan, fleet, wavePlan, aws.reader, () => target.clock.now());
      } finally {
        aws.close();
      }
      const report = engine.dryRunRollout(plan, fleet, wavePlan);
      if (capacity) report.capacity = capacity;
      if (mode === "json") io.stdout.write(`${JSON.stringify(report)}\n`);
      else io.stdout.write(formatDryRun(report, makeChalk(colorEnabled(io.stdout, io.env)), plan.values));
      return ExitCode.ok;
    }
    const throttles = throttleReporter(target.clock);
    const { aws, fleet, wavePlan } = await prepareRollout({
      ...wiring,
      aws: { ...target.aws, onThrottle: (op) => throttles.onThrottle(op) },
    });
    cleanups.unshift(() => aws.close());
    checkAccountGuard(plan, fleet);
    if (sim && plan.drain.untilConnections !== null) sim.world.setDrainThreshold(plan.drain.untilConnections);

    const runJournal = await claimRunJournal(io, {
      planName: plan.name,
      ...(flags.journalDir ? { journalDir: flags.journalDir } : {}),
      simulated: sim !== undefined,
      resume: o.resume,
    });
    cleanups.unshift(() => runJournal.release());
    // The fleet lock (SSM, across machines) unless --simulate or `lock.store: local`: cli/fleet-lock.ts.
    const fleetLock = sim
      ? undefined
      : await takeFleetLock({
          plan,
          reader: aws.reader,
          writer: aws.writer,
          clock: target.clock,
          env: io.env,
          resume: o.resume,
          journalFile: runJournal.file,
          planFile: file,
          onTakeover: (m) => io.stderr.write(`${m}\n`),
          onWarning: (m) => io.stderr.write(`${m}\n`),
        });
    if (fleetLock) cleanups.unshift(() => fleetLock.release());
    if (!flags.yes && !(await confirmStart(io, command, plan.name, wavePlan, target.label))) {
      io.stderr.write("not started: nothing was changed\n");
      return ExitCode.ok;
    }

    // Only now that the start is confirmed: a refused start leaves the directory as it was.
    const journal = await runJournal.open();
    if (sim) {
      const snapshots = keepSimSnapshot(sim.world, dirname(runJournal.file));
      cleanups.unshift(() => snapshots.stop());
    }
    const resumeCommand = resumeCommandLine(file, flags, runJournal.tempDir);
    const renderer = createRenderer({
      mode,
      stdout: io.stdout,
      env: io.env,
      name: plan.name,
      verbose: flags.verbose === true,
      resumeCommand,
      ...(sim ? { connected: () => sim.world.connected() } : {}),
      ...(flags.report || sim
        ? {
            report: {
              file: flags.report
                ? resolve(io.cwd, flags.report)
                : join(tmpdir(), `rollwave-report-${plan.name}-${process.pid}.html`),
              journal: () => journal.read(),
              extras: () => ({
                floor: engine.capacityFloor(fleet, wavePlan).perAz,
                ...(sim ? { cameras: simCameras(sim) } : {}),
              }),
            },
          }
        : {}),
    });
    const graceMs = flags.stopGrace ?? DEFAULT_STOP_GRACE_MS;
    const notice = renderer.notice
      ? (text: string, final?: string) => renderer.notice?.(text, final)
      : undefined;
    const stops = handleStops(io, { graceMs, interactive, ...(notice ? { notice } : {}) });
    cleanups.unshift(() => stops.dispose());
    // A lost fleet lock (someone else's now) pauses the rollout as a stop does: no new instances start.
    const lockLost = new AbortController();
    fleetLock?.onLost((m) => {
      if (notice) notice(`lost the fleet lock: ${m}; pausing (no new instances start)`);
      else io.stderr.write(`\nlost the fleet lock: ${m}; pausing (no new instances start)\n`);
      lockLost.abort(new Error(m));
    });
    const runSignal = AbortSignal.any([stops.signal, lockLost.signal]);
    let result: Awaited<ReturnType<typeof engine.runRollout>>;
    let rendererOpen = true;
    try {
      const running = engine.runRollout({
        plan,
        fleet,
        wavePlan,
        aws,
        clock: target.clock,
        signal: runSignal,
        emit: throttles.wrap((e) => renderer.onEvent(e)),
        journal,
        resume: o.resume,
        ...(fleetLock ? { rolloutId: fleetLock.rolloutId } : {}),
        source: await planSource(io, file),
        ...(flags.force ? { force: true } : {}),
        ...(flags.autoApprove ? { autoApprove: true } : {}),
        ...(interactive && !flags.autoApprove ? { approve: approvalPrompt(io, renderer, runSignal) } : {}),
        ...(sim
          ? { finishedExtras: async (): Promise<Partial<FinishedEvent>> => ({ sim: simSummary(sim) }) }
          : {}),
      });
      const first = await Promise.race([
        running.then((r) => ({ r })),
        stops.expired.then((cause) => ({ cause })),
      ]);
      if ("cause" in first) {
        // The fast stop's grace ran out with the engine still waiting on in-flight instances.
        runJournal.keep();
        rendererOpen = false;
        await within(500, renderer.close());
        let replayed: ReturnType<typeof engine.replayJournal> | undefined;
        try {
          replayed = engine.replayJournal(await journal.read());
        } catch {
          replayed = undefined;
        }
        const stop = stopRecord(replayed, { cause: first.cause, graceMs, at: target.clock.now() });
        let recorded = true;
        try {
          await journal.append(stop.record);
        } catch {
          recorded = false;
        }
        try {
          io.stderr.write(
            stopMessage({
              ...stop,
              cause: first.cause,
              resumeCommand,
              journalFile: runJournal.file,
              recorded,
            }),
          );
        } catch {
          // stderr is closed as well: the journal holds the same.
        }
        exitNow = true;
        return ExitCode.interrupted;
      }
      result = first.r;
    } finally {
      if (rendererOpen) await renderer.close();
    }
    if (result.status === "failed" && result.reason?.startsWith("account guard")) {
      // The renderers print to stdout; a refused start is an error the shell should see.
      io.stderr.write(`error: ${result.reason}\n`);
    }
    if (result.status === "paused") {
      // A throwaway --simulate journal is kept only when there is something to resume.
      runJournal.keep();
      if (mode !== "json" || stops.interrupted) {
        // The complete command, as it can be pasted: same plan, variables, flags and journal directory.
        io.stderr.write(`paused: continue with \`${resumeCommand}\` (journal ${runJournal.file})\n`);
      }
    }
    return exitCodeForStatus(result.status, stops.interrupted);
  } finally {
    if (exitNow) {
      // The engine is still waiting on in-flight instances: release the lock and the journal as far
      // as a second allows, then end the process (`rollwave resume` continues from the journal).
      await within(
        1_000,
        (async () => {
          for (const c of cleanups) await c();
        })(),
      );
      io.exitNow?.(ExitCode.interrupted);
    } else for (const c of cleanups) await c();
  }
}

/** Wait for `p`, but no longer than `ms` (a stream that never drains must not hold up an exit). */
async function within(ms: number, p: Promise<unknown>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    p.catch(() => undefined),
    new Promise((r) => {
      timer = setTimeout(r, ms);
    }),
  ]);
  clearTimeout(timer);
}
