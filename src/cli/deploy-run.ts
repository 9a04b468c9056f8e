/**
 * The body of `deploy` / `resume`. Order matters for safety:
 *   1. flags and plan are checked before anything touches AWS (bad input → exit 2, nothing mutated);
 *   2. the fleet is discovered and the waves planned over a connection chosen by `--dry-run`:
 *      a dry run only ever holds the read-only facade, so it cannot mutate by construction;
 *   3. a person confirms (or `--yes`), the local lock is taken, and only then the engine runs.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { AwsConnection, MutableAwsConnection } from "../aws/types.js";
import type { SimSummary } from "../engine/events.js";
import type { FinishedEvent } from "../engine/index.js";
import { formatDryRun } from "../report/dry-run.js";
import { colorEnabled, makeChalk } from "../report/output.js";
import { createRenderer, defaultOutputMode } from "../report/renderer.js";
import { intrinsicTotals } from "../sim/bound.js";
import type { RunningSimulator } from "../sim/index.js";
import { type DeployFlags, resumeCommandLine } from "./commands/deploy-flags.js";
import { UsageError } from "./errors.js";
import { ExitCode, type ExitCodeValue, exitCodeForStatus } from "./exit-codes.js";
import { takeFleetLock } from "./fleet-lock.js";
import type { CliIo } from "./io.js";
import { acquireLock } from "./lock.js";
import { loadPlanFromFlags, planWavesAt } from "./plan-input.js";
import { ask } from "./prompt.js";
import { discoverTargetFleet, openTarget } from "./target.js";
import { throttleReporter } from "./throttle-events.js";
import { rollwaveVersion } from "./version.js";

/** The `sim` block of `rollout.finished`, from the simulator's own metrics. */
export function simSummary(sim: RunningSimulator): SimSummary {
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

/** Is there a rollout in this journal that has not ended (or ended paused)? The engine's replay decides. */
async function unfinished(journalFile: string): Promise<"none" | "finished" | "open"> {
  let text: string;
  try {
    text = await readFile(journalFile, "utf8");
  } catch {
    return "none";
  }
  const { parseJournal, replayJournal } = await import("../engine/index.js");
  const records = parseJournal(text);
  if (records.length === 0) return "none";
  try {
    const { end } = replayJournal(records);
    return end && end.status !== "paused" ? "finished" : "open";
  } catch {
    return "open"; // unreadable as a rollout: let resume report it rather than deploy overwrite it
  }
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
      `add --yes to confirm (and --auto-approve to pass approval gates), or preview first with --dry-run`,
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

  const [{ createAws, createReadOnlyAws }, engine] = await Promise.all([
    import("../aws/connect.js"),
    import("../engine/index.js"),
  ]);

  const target = await openTarget(io, plan, flags);
  const cleanups: (() => Promise<void> | void)[] = [() => target.close()];
  try {
    // A dry run never holds a writer: the read-only facade has no mutating method at all.
    const throttles = throttleReporter(target.clock);
    const mutable: MutableAwsConnection | undefined = flags.dryRun
      ? undefined
      : createAws({ ...target.aws, onThrottle: (op) => throttles.onThrottle(op) });
    const aws: AwsConnection = mutable ?? createReadOnlyAws(target.aws);
    cleanups.unshift(() => aws.close());
    const fleet = await discoverTargetFleet(io, target, plan, aws.reader);
    // The account guard, before a confirmation is asked or a journal written: bad input (exit 2,
    // on stderr). The engine checks again before its first mutating call.
    if (plan.guard.account && fleet.account && fleet.account !== plan.guard.account) {
      throw new UsageError(
        `account guard: the credentials are for account ${fleet.account}, the plan (guard.account) is for ${plan.guard.account}; nothing was changed`,
        "use credentials for that account (--profile, AWS_PROFILE), or correct guard.account in the plan",
      );
    }
    const wavePlan = planWavesAt(fleet, loaded);

    if (flags.dryRun) {
      const report = engine.previewRollout(plan, fleet, wavePlan);
      if (mode === "json") io.stdout.write(`${JSON.stringify(report)}\n`);
      else io.stdout.write(formatDryRun(report, makeChalk(colorEnabled(io.stdout, io.env)), plan.values));
      return ExitCode.ok;
    }
    if (!mutable) throw new Error("internal: a mutating run needs a mutable AWS connection");

    const sim = target.sim;
    if (sim) sim.world.setCapacityFloor(engine.capacityFloor(fleet, wavePlan));
    if (sim && plan.drain.untilConnections !== null) sim.world.setDrainThreshold(plan.drain.untilConnections);

    // Journal and lock: with --simulate the fleet lives only in this process, so its journal
    // defaults to a throwaway directory instead of the project's .rollwave.
    const tempJournal = !flags.journalDir && sim !== undefined;
    const journalDir = flags.journalDir
      ? resolve(io.cwd, flags.journalDir)
      : tempJournal
        ? await mkdtemp(join(tmpdir(), "rollwave-sim-"))
        : resolve(io.cwd, ".rollwave");
    let keepJournal = !tempJournal;
    cleanups.push(async () => {
      if (!keepJournal) await rm(journalDir, { recursive: true, force: true });
    });
    const dir = join(journalDir, plan.name);
    await mkdir(dir, { recursive: true });
    const journalFile = join(dir, "journal.ndjson");
    const release = await acquireLock(join(dir, "lock"), {
      onTakeover: (message) => io.stderr.write(`${message}\n`),
    });
    cleanups.unshift(release);
    const previous = await unfinished(journalFile);
    if (o.resume && previous !== "open") {
      throw new UsageError(
        previous === "none"
          ? `no rollout of ${plan.name} to resume in ${dir}`
          : `the last rollout of ${plan.name} has ended`,
        "start one with `rollwave deploy`",
      );
    }
    if (!o.resume && previous === "open") {
      throw new UsageError(
        `a rollout of ${plan.name} is paused or was interrupted (journal ${journalFile})`,
        "continue it with `rollwave resume`, or move the journal away to start over",
      );
    }
    // The fleet lock (SSM, across machines) unless --simulate or `lock.store: local`: cli/fleet-lock.ts.
    const fleetLock = sim
      ? undefined
      : await takeFleetLock({
          plan,
          reader: mutable.reader,
          writer: mutable.writer,
          clock: target.clock,
          env: io.env,
          resume: o.resume,
          journalFile,
          planFile: file,
          onTakeover: (m) => io.stderr.write(`${m}\n`),
          onWarning: (m) => io.stderr.write(`${m}\n`),
        });
    if (fleetLock) cleanups.unshift(() => fleetLock.release());
    const planned = wavePlan.waves.reduce((n, w) => n + w.instances.length, 0);
    if (!flags.yes) {
      const answer = await ask(
        io,
        `${command === "resume" ? "Resume" : "Roll"} ${plan.name} across ${planned} instances in ${wavePlan.waves.length} waves (${target.label})? [y/N] `,
        ["yes", "no"] as const,
        { fallback: "no" },
      );
      if (answer !== "yes") {
        io.stderr.write("not started: nothing was changed\n");
        return ExitCode.ok;
      }
    }

    // Only now that the start is confirmed: a refused start leaves the directory as it was.
    if (!o.resume && previous === "finished")
      await rename(journalFile, join(dir, `journal-${Date.now()}.ndjson`));
    const journal = await engine.openFileJournal(journalFile);
    cleanups.unshift(() => journal.close());
    const renderer = createRenderer({
      mode,
      stdout: io.stdout,
      env: io.env,
      name: plan.name,
      verbose: flags.verbose === true,
      resumeCommand: resumeCommandLine(file, flags, tempJournal ? journalDir : undefined),
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
    const controller = new AbortController();
    let interrupted = false;
    fleetLock?.onLost((m) => {
      io.stderr.write(`\nlost the fleet lock: ${m}; pausing (no new instances start)\n`);
      controller.abort(new Error(m));
    });
    const offs: (() => void)[] = [];
    const force = (signal: "SIGINT" | "SIGTERM") => () => {
      for (const off of offs.splice(0)) off();
      io.stderr.write(
        "\nforced: stopping now; instances in flight stay as they are (`rollwave resume` picks them up)\n",
      );
      io.forceExit?.(signal);
    };
    const onSignal = () => {
      interrupted = true;
      for (const off of offs.splice(0)) off();
      offs.push(io.onSignal("SIGINT", force("SIGINT")), io.onSignal("SIGTERM", force("SIGTERM")));
      io.stderr.write(
        "\ninterrupted: stopping safely — no new instances start, Auto Scaling processes are resumed (Ctrl-C again to force)\n",
      );
      controller.abort(new Error("interrupted"));
    };
    offs.push(io.onSignal("SIGINT", onSignal), io.onSignal("SIGTERM", onSignal));
    cleanups.unshift(() => {
      for (const off of offs.splice(0)) off();
    });

    const approve = async (gate: { message: string }): Promise<"approve" | "stop"> => {
      await renderer.suspend?.();
      try {
        const a = await ask(io, `${gate.message} [approve/stop] `, ["approve", "stop"] as const, {
          signal: controller.signal,
        });
        return a ?? "stop";
      } finally {
        renderer.resume?.();
      }
    };

    let result: Awaited<ReturnType<typeof engine.runRollout>>;
    try {
      result = await engine.runRollout({
        plan,
        fleet,
        wavePlan,
        aws: mutable,
        clock: target.clock,
        signal: controller.signal,
        emit: throttles.wrap((e) => renderer.onEvent(e)),
        journal,
        resume: o.resume,
        ...(fleetLock ? { rolloutId: fleetLock.rolloutId } : {}),
        source: await planSource(io, file),
        ...(flags.force ? { force: true } : {}),
        ...(flags.autoApprove ? { autoApprove: true } : {}),
        ...(interactive && !flags.autoApprove ? { approve } : {}),
        ...(sim
          ? { finishedExtras: async (): Promise<Partial<FinishedEvent>> => ({ sim: simSummary(sim) }) }
          : {}),
      });
    } finally {
      await renderer.close();
    }
    if (result.status === "failed" && result.reason?.startsWith("account guard")) {
      // The renderers print to stdout; a refused start is an error the shell should see.
      io.stderr.write(`error: ${result.reason}\n`);
    }
    if (result.status === "paused") {
      // A throwaway --simulate journal is kept only when there is something to resume.
      keepJournal = true;
      const dirFlag = tempJournal ? ` --journal-dir ${journalDir}` : "";
      if (mode !== "json" || interrupted) {
        io.stderr.write(
          `paused: continue with \`rollwave resume ${file}${dirFlag}\` and the same flags (journal ${journalFile})\n`,
        );
      }
    }
    return exitCodeForStatus(result.status, interrupted);
  } finally {
    for (const c of cleanups) await c();
  }
}
