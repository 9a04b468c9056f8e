/**
 * The body of `deploy` / `resume`. Order matters for safety:
 *   1. flags and plan are checked before anything touches AWS (bad input → exit 2, nothing mutated);
 *   2. the fleet is discovered and the waves planned over a connection chosen by `--dry-run`:
 *      a dry run only ever holds the read-only facade, so it cannot mutate by construction;
 *   3. a saved plan (`--plan`, saved-plan.ts) is compared with the fleet now, and the account
 *      guard checked: any difference refuses the start (exit 2) before any mutating call;
 *   4. the journal directory is locked, a person confirms (or `--yes`), and only then the engine runs.
 * The wiring (rollout/prepare.ts), the journal and lock (run-journal.ts), signals and closed output
 * (stop.ts) and the saved plan (saved-plan.ts) live in their own modules; `runDeploy` is the story
 * of a deploy, and the helpers above it are its named steps.
 */
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { MutableAwsConnection } from "../aws/types.js";
import { capacityFloor } from "../engine/capacity.js";
import type { SimSummary } from "../engine/events.js";
import type { Journal } from "../engine/journal.js";
import type { FinishedEvent, RolloutResult } from "../engine/run.js";
import type { Fleet } from "../fleet/types.js";
import type { Plan } from "../plan/types.js";
import { formatDryRun } from "../report/dry-run.js";
import { colorEnabled, makeChalk, type Renderer } from "../report/output.js";
import { createRenderer, defaultOutputMode, type OutputMode } from "../report/renderer.js";
import { prepareRollout } from "../rollout/prepare.js";
import { intrinsicTotals } from "../sim/bound.js";
import type { RunningSimulator } from "../sim/index.js";
import type { WavePlan } from "../waves/types.js";
import { ACCOUNT_HINT, accountMismatch } from "./account-guard.js";
import { type DeployFlags, resumeCommandLine } from "./commands/deploy-flags.js";
import { previewCapacity } from "./commands/plan.js";
import {
  CONTROL_POLL_MS,
  controlChannel,
  controlFile,
  controlParameter,
  fileControlStore,
  requesterName,
  ssmControlStore,
} from "./control.js";
import { UsageError } from "./errors.js";
import { ExitCode, type ExitCodeValue, exitCodeForStatus } from "./exit-codes.js";
import { currentFleetOwner, type HeldFleetLock, takeFleetLock } from "./fleet-lock.js";
import { type CliIo, note, type StopCause } from "./io.js";
import { planFileHash } from "./plan-input.js";
import { ask } from "./prompt.js";
import { chooseJournalLocation, claimRunJournal, type RunJournal } from "./run-journal.js";
import { checkSavedPlan, type DeployInput, loadDeployInput } from "./saved-plan.js";
import { DEFAULT_STOP_GRACE_MS, handleStops, stopMessage, stopRecord } from "./stop.js";
import { openTarget, type Target } from "./target.js";
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
  // Unreadable as a file here (it was loaded another way): the variables are still compared.
  const hash = await planFileHash(io, file);
  if (hash) out.planHash = hash;
  const v = rollwaveVersion();
  if (v !== "unknown") out.version = v;
  return out;
}

/** A run-context rule: a real run must be confirmable (a terminal to ask, or --yes). */
function requireConfirmation(command: string, flags: DeployFlags, interactive: boolean): void {
  if (flags.dryRun || flags.yes || interactive) return;
  throw new UsageError(
    `${command} changes the fleet and stdin is not a terminal, so rollwave cannot ask for confirmation`,
    `add --yes to confirm (and --auto-approve to pass approval gates), or list every call first with --dry-run`,
  );
}

/**
 * The account guard, before a confirmation is asked or a journal written: bad input (exit 2, on
 * stderr). The engine checks again before its first mutating call.
 */
function checkAccountGuard(plan: Plan, fleet: Fleet): void {
  const mismatch = accountMismatch(plan, fleet);
  if (mismatch) throw new UsageError(`${mismatch}; nothing was changed`, ACCOUNT_HINT);
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

/** An approval gate asked at the terminal, with the live display paused while it waits. */
function approvalPrompt(io: CliIo, renderer: Renderer, signal: AbortSignal) {
  return async (gate: { message: string }): Promise<"approve" | "stop"> => {
    await renderer.suspend?.();
    try {
      const a = await ask(io, `${gate.message} [approve/stop] `, ["approve", "stop"] as const, { signal });
      return a ?? "stop";
    } finally {
      renderer.resume?.();
    }
  };
}

/**
 * `deploy --dry-run`: every call, the account and Region, the capacity math, what a failure sets
 * off and the ETA, over a read-only connection (it has no mutating method at all).
 */
async function printDryRun(
  io: CliIo,
  input: DeployInput,
  target: Target,
  mode: OutputMode,
): Promise<ExitCodeValue> {
  const { plan } = input.loaded;
  const { aws, fleet, wavePlan } = await prepareRollout({
    ...wiringOf(input, target),
    aws: target.aws,
    readOnly: true,
  });
  let capacity: Awaited<ReturnType<typeof previewCapacity>>;
  try {
    await checkSavedPlan(io, input, fleet, wavePlan);
    checkAccountGuard(plan, fleet);
    capacity = await previewCapacity(plan, fleet, wavePlan, aws.reader, () => target.clock.now());
  } finally {
    aws.close();
  }
  const { dryRunRollout } = await import("../engine/dry-run.js");
  const report = dryRunRollout(plan, fleet, wavePlan, capacity);
  if (mode === "json") io.stdout.write(`${JSON.stringify(report)}\n`);
  else
    io.stdout.write(
      formatDryRun(report, makeChalk(colorEnabled(io.stdout, io.env)), plan.values, target.label),
    );
  return ExitCode.ok;
}

function wiringOf(input: DeployInput, target: Target) {
  const sim = target.sim;
  return {
    plan: input.loaded.plan,
    source: input.file,
    locate: input.loaded.locate,
    ...(sim ? { simulator: sim.world } : {}),
  };
}

/**
 * The journal directory's lock and the fleet lock (SSM, across machines; not under --simulate or
 * with `lock.store: local`), each released by a cleanup pushed to `cleanups` (run in order).
 */
async function holdRollout(
  io: CliIo,
  o: { input: DeployInput; aws: MutableAwsConnection; target: Target; resume: boolean },
  cleanups: (() => Promise<void> | void)[],
) {
  const { plan } = o.input.loaded;
  const flags = o.input.flags;
  const location = chooseJournalLocation(io, {
    ...(flags.journal ? { journal: flags.journal } : {}),
    ...(flags.journalDir !== undefined ? { journalDir: flags.journalDir } : {}),
    planJournal: plan.journal,
    simulated: o.target.sim !== undefined,
  });
  const runJournal = await claimRunJournal(io, {
    planName: plan.name,
    ...(location ? { location } : {}),
    simulated: o.target.sim !== undefined,
    resume: o.resume,
    // The journal in S3 uses the fleet's connection settings; path-style against an endpoint.
    aws: { ...o.target.aws, forcePathStyle: Boolean(o.target.aws.endpointUrl || io.env.AWS_ENDPOINT_URL) },
  });
  cleanups.unshift(() => runJournal.release());
  const fleetLock = o.target.sim
    ? undefined
    : await takeFleetLock({
        plan,
        reader: o.aws.reader,
        writer: o.aws.writer,
        clock: o.target.clock,
        env: io.env,
        resume: o.resume,
        journalRecords: runJournal.previous,
        planFile: o.input.file,
        onTakeover: (m) => io.stderr.write(`${m}\n`),
        onWarning: (m) => io.stderr.write(`${m}\n`),
      });
  if (fleetLock) cleanups.unshift(() => fleetLock.release());
  return { runJournal, fleetLock };
}

/** The renderer for the chosen output, with the HTML report when asked for (or under --simulate). */
function openRenderer(
  io: CliIo,
  o: {
    mode: OutputMode;
    flags: DeployFlags;
    plan: Plan;
    fleet: Fleet;
    wavePlan: WavePlan;
    sim?: RunningSimulator;
    journal: Journal;
    resumeCommand: string;
  },
): Renderer {
  const { flags, sim } = o;
  return createRenderer({
    mode: o.mode,
    stdout: io.stdout,
    env: io.env,
    name: o.plan.name,
    verbose: flags.verbose === true,
    resumeCommand: o.resumeCommand,
    ...(flags.report || sim
      ? {
          report: {
            file: flags.report
              ? resolve(io.cwd, flags.report)
              : join(tmpdir(), `rollwave-report-${o.plan.name}-${process.pid}.html`),
            journal: () => o.journal.read(),
            extras: () => ({
              floor: capacityFloor(o.fleet, o.wavePlan).perAz,
              ...(sim ? { cameras: simCameras(sim) } : {}),
            }),
          },
        }
      : {}),
  });
}

/**
 * The fast stop's grace ran out with the engine still waiting on in-flight instances: append the
 * final journal record (what is still out, and why) and say so on stderr with the resume command.
 */
async function recordFastStop(
  io: CliIo,
  o: {
    cause: StopCause;
    graceMs: number;
    journal: Journal;
    journalFile: string;
    resumeCommand: string;
    now: number;
  },
): Promise<void> {
  const { replayJournal } = await import("../engine/journal.js");
  let replayed: ReturnType<typeof replayJournal> | undefined;
  try {
    replayed = replayJournal(await o.journal.read());
  } catch {
    replayed = undefined;
  }
  const stop = stopRecord(replayed, { cause: o.cause, graceMs: o.graceMs, at: o.now });
  let recorded = true;
  try {
    await o.journal.append(stop.record);
  } catch {
    recorded = false;
  }
  try {
    io.stderr.write(
      stopMessage({
        ...stop,
        cause: o.cause,
        resumeCommand: o.resumeCommand,
        journalFile: o.journalFile,
        recorded,
      }),
    );
  } catch {
    // stderr is closed as well: the journal holds the same.
  }
}

/** A lost fleet lock (someone else's now) pauses the rollout as a stop does: no new instances start. */
function pauseOnLostLock(io: CliIo, fleetLock: HeldFleetLock | undefined, stop: AbortSignal): AbortSignal {
  const lockLost = new AbortController();
  fleetLock?.onLost((m) => {
    io.stderr.write(`\nlost the fleet lock: ${m}; pausing (no new instances start)\n`);
    lockLost.abort(new Error(m));
  });
  return AbortSignal.any([stop, lockLost.signal]);
}

/** How the run ended, on stderr where it matters: a refused start, a pause and its resume command. */
function sayEnding(
  io: CliIo,
  result: RolloutResult,
  o: { mode: OutputMode; interrupted: boolean; runJournal: RunJournal; file: string },
): void {
  if (result.status === "failed" && result.reason?.startsWith("account guard")) {
    // The renderers print to stdout; a refused start is an error the shell should see.
    io.stderr.write(`error: ${result.reason}\n`);
  }
  if (result.status !== "paused") return;
  // A throwaway --simulate journal is kept only when there is something to resume.
  o.runJournal.keep();
  const dirFlag = o.runJournal.tempDir ? ` --journal-dir ${o.runJournal.tempDir}` : "";
  if (o.mode !== "json" || o.interrupted) {
    io.stderr.write(
      `paused: continue with \`rollwave resume ${o.file}${dirFlag}\` and the same flags (journal ${o.runJournal.file})\n`,
    );
  }
}

/**
 * The story of a deploy (or a resume): check the input, discover the fleet and plan the waves, check
 * the saved plan and the account, hold the journal and the fleet lock, confirm, run the engine under
 * the stop handling, and turn its ending into an exit code.
 */
export async function runDeploy(
  io: CliIo,
  file: string | undefined,
  cliFlags: DeployFlags,
  o: { resume: boolean },
): Promise<ExitCodeValue> {
  const mode = cliFlags.output ?? defaultOutputMode(io.stdout, io.env);
  const interactive = io.stdin.isTTY === true;
  const command = o.resume ? "resume" : "deploy";
  requireConfirmation(command, cliFlags, interactive);
  const input = await loadDeployInput(io, file, cliFlags, { interactive });
  const { flags, loaded } = input;
  const { plan } = loaded;
  const target = await openTarget(io, plan, flags);
  const sim = target.sim;
  const cleanups: (() => Promise<void> | void)[] = [() => target.close()];
  // Set when a fast stop's grace ran out: the engine is still running, so the process is ended.
  let exitNow = false;
  try {
    note(io, `discovering the fleet (${target.label})…`);
    if (flags.dryRun) return await printDryRun(io, input, target, mode);
    const throttles = throttleReporter(target.clock);
    const { aws, fleet, wavePlan } = await prepareRollout({
      ...wiringOf(input, target),
      aws: { ...target.aws, onThrottle: (op) => throttles.onThrottle(op) },
    });
    cleanups.unshift(() => aws.close());
    await checkSavedPlan(io, input, fleet, wavePlan);
    checkAccountGuard(plan, fleet);
    if (sim && plan.drain.untilConnections !== null) sim.world.setDrainThreshold(plan.drain.untilConnections);
    const { runJournal, fleetLock } = await holdRollout(
      io,
      { input, aws, target, resume: o.resume },
      cleanups,
    );
    // Control requests (`rollwave abort`/`approve` from any terminal) wait next to the lock: a sibling
    // SSM parameter of the fleet lock, or a file beside a local journal (cli/control.ts).
    const control = controlChannel(
      fleetLock
        ? ssmControlStore(aws, controlParameter(plan.lock.parameter))
        : fileControlStore(controlFile(dirname(runJournal.file))),
      {
        clock: target.clock,
        pollMs: fleetLock ? CONTROL_POLL_MS : 0,
        onWarning: (m) => io.stderr.write(`${m}\n`),
      },
    );
    if (!flags.yes && !(await confirmStart(io, command, plan.name, wavePlan, target.label))) {
      io.stderr.write("not started: nothing was changed\n");
      return ExitCode.ok;
    }

    // Only now that the start is confirmed: a refused start leaves the directory as it was.
    const journal = await runJournal.open();
    const resumeCommand = resumeCommandLine(input.file, flags, runJournal.tempDir);
    const renderer = openRenderer(io, {
      mode,
      flags,
      plan,
      fleet,
      wavePlan,
      ...(sim ? { sim } : {}),
      journal,
      resumeCommand,
    });
    const graceMs = flags.stopGrace ?? DEFAULT_STOP_GRACE_MS;
    const stops = handleStops(io, { graceMs, interactive });
    cleanups.unshift(() => stops.dispose());
    const runSignal = pauseOnLostLock(io, fleetLock, stops.signal);
    const { runRollout } = await import("../engine/run.js");
    let first: { r: RolloutResult } | { cause: StopCause };
    let rendererOpen = true;
    try {
      const running = runRollout({
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
        source: {
          ...(await planSource(io, input.file)),
          startedBy: requesterName(currentFleetOwner(io.env)),
        },
        control,
        ...(flags.waitApproval !== undefined && !flags.autoApprove
          ? { approvalWaitMs: flags.waitApproval }
          : {}),
        ...(flags.force ? { force: true } : {}),
        ...(flags.autoApprove ? { autoApprove: true } : {}),
        ...(interactive && !flags.autoApprove && flags.waitApproval === undefined
          ? { approve: approvalPrompt(io, renderer, runSignal) }
          : {}),
        ...(sim
          ? { finishedExtras: async (): Promise<Partial<FinishedEvent>> => ({ sim: simSummary(sim) }) }
          : {}),
      });
      first = await Promise.race([running.then((r) => ({ r })), stops.expired.then((cause) => ({ cause }))]);
      if ("cause" in first) {
        runJournal.keep();
        rendererOpen = false;
        await within(500, renderer.close());
      }
    } finally {
      if (rendererOpen) await renderer.close();
    }
    if ("cause" in first) {
      const at = { graceMs, journal, journalFile: runJournal.file, resumeCommand, now: target.clock.now() };
      await recordFastStop(io, { cause: first.cause, ...at });
      exitNow = true;
      return ExitCode.interrupted;
    }
    sayEnding(io, first.r, { mode, interrupted: stops.interrupted, runJournal, file: input.file });
    return exitCodeForStatus(first.r.status, stops.interrupted);
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
