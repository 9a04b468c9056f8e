/**
 * `rollwave abort [--rollback] [plan | rollout-id]` and `rollwave approve [plan | rollout-id]`, from
 * any terminal or CI job (cli/control.ts has the store, engine/control.ts what a request does).
 *
 * A running rollout (a live lock holder of this rollout id): the request is stored next to the lock
 * and the running process applies it at its next read (at most ~10 s), journals it and removes it.
 *
 * A rollout with no process running:
 *   - `abort` of a rollout that ended `paused` with nothing in flight, no instance of its own out of
 *     service and no Auto Scaling process left suspended: ended here, under its locks (the journal's
 *     and, for `lock.store: ssm`, the fleet lock): a `control` record and an `end` record `aborted`.
 *     `resume` then refuses it, as any abort.
 *   - anything else (`abort --rollback`, `approve`, an abort with instances still out after a fast
 *     stop or a crash): the request is stored; the next `rollwave resume` applies it on its first
 *     tick (a resume also counts as the approval by itself, as before).
 * A request names its rollout id, so it is never applied to another rollout.
 *
 * Exit codes: 0 requested (or ended); 2 bad input (no such rollout, it has ended, no rollback step,
 * an abort already pending for `approve`); 4 the fleet lock is held by another rollout; 5 with
 * `--wait`: not handled within the wait; 1 an AWS error.
 */
import type { Command } from "commander";
import { type ControlAction, controlCommand } from "../../engine/control.js";
import { replayJournal } from "../../engine/journal.js";
import { isInFlight } from "../../engine/state.js";
import { systemClock } from "../../util/clock.js";
import { formatDuration } from "../../util/duration.js";
import { newControlRequest } from "../control.js";
import { UsageError } from "../errors.js";
import { ExitCode, type ExitCodeValue } from "../exit-codes.js";
import { acquireFleetLock, currentFleetOwner } from "../fleet-lock.js";
import type { CliIo } from "../io.js";
import { acquireLock } from "../lock.js";
import { addAwsOptions, addVarOptions } from "../options.js";
import { ask } from "../prompt.js";
import {
  connectFor,
  controlStoreFor,
  observeRollout,
  type RemoteFlags,
  type RolloutRef,
  resolveRollout,
} from "../rollout-ref.js";
import type { CommandResult } from "./result.js";
import { addJournalOption } from "./status.js";

interface ControlFlags extends RemoteFlags {
  rollback?: boolean;
  yes?: boolean;
  wait?: boolean;
}

export function registerControl(program: Command, io: CliIo, done: CommandResult): void {
  const abort = program
    .command("abort")
    .description(
      "stop a rollout from any terminal: nothing new starts, in-flight instances come back, it ends aborted (--rollback: run the rollback policy)",
    )
    .argument("[rollout]", "a plan file, or a rollout id (its first characters do)")
    .option(
      "--rollback",
      "roll the updated instances back (the plan's steps.rollback) instead of leaving them",
    )
    .option("-y, --yes", "do not ask for confirmation (required when stdin is not a terminal)")
    .option("--wait", "wait (up to 2 minutes) until the running rollout has handled the request");
  addJournalOption(abort);
  addVarOptions(abort);
  addAwsOptions(abort);
  abort.addHelpText(
    "after",
    `
A running rollout applies the request at its next read (within ~10 s). A paused one with nothing in
flight is ended here; otherwise the request waits for \`rollwave resume\`.
Exit codes: 0 requested or ended; 2 bad input; 4 another rollout holds the fleet lock; 5 --wait ran out.

Examples:
  rollwave abort plans/camera-relay.yaml --yes
  rollwave abort 9b1f2c --rollback --journal /mnt/shared/rollwave`,
  );
  abort.action(async (arg: string | undefined, flags: ControlFlags) => {
    done(await runControl(io, flags.rollback ? "rollback" : "abort", arg, flags));
  });

  const approve = program
    .command("approve")
    .description(
      "pass the approval gate of a rollout waiting for it (deploy --wait-approval), from any terminal",
    )
    .argument("[rollout]", "a plan file, or a rollout id (its first characters do)")
    .option("--wait", "wait (up to 2 minutes) until the running rollout has handled the request");
  addJournalOption(approve);
  addVarOptions(approve);
  addAwsOptions(approve);
  approve.addHelpText(
    "after",
    `
Only a gate that is waiting is passed: an approval is never given in advance (the rollout ignores a
request that comes before the gate, and journals that it did). A paused rollout keeps the request
for \`rollwave resume\`.

Examples:
  rollwave approve plans/camera-relay.yaml
  rollwave approve 9b1f2c --journal /mnt/shared/rollwave --wait`,
  );
  approve.action(async (arg: string | undefined, flags: ControlFlags) => {
    done(await runControl(io, "approve", arg, flags));
  });
}

async function runControl(
  io: CliIo,
  action: ControlAction,
  arg: string | undefined,
  flags: ControlFlags,
): Promise<ExitCodeValue> {
  const ref = await resolveRollout(io, arg, flags);
  const id = ref.header.rolloutId;
  const replayed = replayJournal(ref.records);
  const end = replayed.end;
  if (end && end.status !== "paused")
    throw new UsageError(
      `rollout ${id} of ${ref.header.name} has ended (${end.status}${end.reason ? `: ${end.reason}` : ""}): nothing to ${action === "approve" ? "approve" : "abort"}`,
      "`rollwave status` shows it; a new rollout starts with `rollwave deploy`",
    );
  if (action === "rollback" && ref.plan && ref.plan.steps.rollback === null)
    throw new UsageError(
      `${ref.header.name} has no rollback step (steps.rollback): abort --rollback has nothing to run`,
      "use `rollwave abort` to stop without rolling back",
    );
  const interactive = io.stdin.isTTY === true;
  if (action !== "approve" && !flags.yes && !interactive)
    throw new UsageError(
      `${controlCommand(action)} stops a rollout and stdin is not a terminal, so rollwave cannot ask for confirmation`,
      "add --yes",
    );
  const conn = await connectFor(io, ref, flags, { write: true });
  try {
    const clock = conn?.clock ?? systemClock;
    const obs = await observeRollout(ref, conn, []);
    if (obs.ownerError) throw new Error(obs.ownerError);
    const store = controlStoreFor(ref, conn);
    const pending = await store.get();
    if (
      action === "approve" &&
      pending !== undefined &&
      pending !== "invalid" &&
      pending.rolloutId === id &&
      pending.action !== "approve"
    )
      throw new UsageError(
        `${controlCommand(pending.action)} from ${pending.requestedBy} (${pending.at}) is pending for rollout ${id}: an approval does not replace it`,
        "`rollwave status` shows when it is handled",
      );
    const owner = currentFleetOwner(io.env);
    const request = newControlRequest(action, id, owner, clock.now());
    const where = obs.owner?.user
      ? `${obs.owner.user}@${obs.owner.host}${obs.owner.ciJob ? ` (CI job ${obs.owner.ciJob})` : ""}`
      : obs.owner?.pid
        ? `pid ${obs.owner.pid}${obs.owner.host ? ` on ${obs.owner.host}` : ""}`
        : "";
    if (action !== "approve" && !flags.yes) {
      const state = obs.alive ? `running on ${where}` : end ? "paused" : "not running (its process is gone)";
      const answer = await ask(
        io,
        `${action === "rollback" ? "Abort and roll back" : "Abort"} rollout ${id} of ${ref.header.name} (${state})? [y/N] `,
        ["yes", "no"] as const,
        { fallback: "no" },
      );
      if (answer !== "yes") {
        io.stderr.write("not requested\n");
        return ExitCode.ok;
      }
    }

    if (obs.alive) {
      await store.put(request);
      io.stderr.write(
        `requested ${controlCommand(action).replace("rollwave ", "")} of rollout ${id} (${ref.header.name}, running on ${where}) in ${store.label}; it is applied at the rollout's next read (within ~10 s) and journaled\n`,
      );
      if (!flags.wait) {
        io.stderr.write(
          `follow it with: rollwave status ${[ref.planFile ?? id, ...ref.commandArgs].join(" ")} --watch\n`,
        );
        return ExitCode.ok;
      }
      return await waitHandled(io, ref, store, request.id);
    }

    // No process is running this rollout.
    const nothingOut =
      !Object.values(replayed.state.instances).some(
        (i) => isInFlight(i) || (i.out && i.phase !== "failed"),
      ) && Object.keys(replayed.suspended).length === 0;
    if (action === "abort" && end?.status === "paused" && nothingOut) {
      await endPaused(io, ref, conn, request, clock.now());
      // A request left for this rollout (an approval waiting for resume) has nothing to wait for now.
      if (pending !== undefined && pending !== "invalid" && pending.rolloutId === id)
        await store.remove(pending.id);
      io.stderr.write(
        `rollout ${id} of ${ref.header.name} was paused with nothing in flight: ended as aborted in its journal (${ref.entry.where}); \`rollwave resume\` now refuses it\n`,
      );
      return ExitCode.ok;
    }
    await store.put(request);
    const resume = [
      "rollwave",
      "resume",
      ref.planFile ?? ref.header.name,
      ...Object.entries(ref.header.vars).flatMap(([k, v]) => ["--var", `${k}=${v}`]),
      ...ref.commandArgs,
    ].join(" ");
    const why = end
      ? action === "abort"
        ? "it is paused with instances still out of service or Auto Scaling processes still suspended, which only a running rollout brings back"
        : "it is paused"
      : "its process is gone (no end record, no live lock)";
    const after =
      action === "approve"
        ? "the next `resume` applies it (a resume also counts as the approval by itself)"
        : action === "rollback"
          ? "the next `resume` applies it on its first tick: in-flight work finishes, then updated instances roll back"
          : "the next `resume` applies it on its first tick: in-flight instances come back, then the rollout ends aborted";
    io.stderr.write(
      `rollout ${id} of ${ref.header.name} is not running: ${why}. The request is stored in ${store.label}; ${after}:\n  ${resume}\n`,
    );
    return ExitCode.ok;
  } finally {
    await conn?.close();
  }
}

/** End a paused rollout with nothing in flight, under its locks: a control record, then `end aborted`. */
async function endPaused(
  io: CliIo,
  ref: RolloutRef,
  conn: Awaited<ReturnType<typeof connectFor>>,
  request: ReturnType<typeof newControlRequest>,
  now: number,
) {
  const releases: (() => Promise<void>)[] = [];
  try {
    if (ref.entry.dir) releases.push(await acquireLock(`${ref.entry.dir}/lock`));
    if (conn?.writer) {
      const lock = await acquireFleetLock({
        reader: conn.reader,
        writer: conn.writer,
        clock: conn.clock,
        parameter: ref.lock.parameter,
        staleAfterMs: ref.lock.staleAfterMs,
        rolloutId: ref.header.rolloutId,
        resume: true,
        planFile: ref.planFile ?? ref.header.name,
        owner: currentFleetOwner(io.env),
        heartbeatMs: 3_600_000,
        onTakeover: (m) => io.stderr.write(`${m}\n`),
      });
      releases.push(() => lock.release());
    }
    // Re-read under the locks: a resume may have started (and ended) meanwhile.
    const records = await ref.entry.records();
    const end = replayJournal(records).end;
    if (end?.status !== "paused" || records.length !== ref.records.length)
      throw new UsageError(
        `rollout ${ref.header.rolloutId} changed while rollwave took its locks`,
        "run `rollwave status` and try again",
      );
    const journal = await ref.entry.open();
    try {
      const message = `aborted while paused by ${request.requestedBy}: nothing was in flight`;
      await journal.append({ type: "control", at: now, request, outcome: "applied", message });
      await journal.append({
        type: "end",
        at: now,
        status: "aborted",
        reason: `${message}${end.reason ? `; it had paused: ${end.reason}` : ""}`,
      });
    } finally {
      await journal.close();
    }
  } finally {
    for (const r of releases.reverse()) await r().catch(() => undefined);
  }
}

/** `--wait`: poll the store until the running rollout has removed (handled) the request. */
async function waitHandled(
  io: CliIo,
  ref: RolloutRef,
  store: ReturnType<typeof controlStoreFor>,
  requestId: string,
): Promise<ExitCodeValue> {
  const limitMs = 120_000;
  const started = Date.now();
  while (Date.now() - started < limitMs) {
    const r = await store.get();
    if (r === undefined || r === "invalid" || r.id !== requestId) {
      const records = await ref.entry.records().catch(() => []);
      const rec = records.find((x) => x.type === "control" && x.request.id === requestId);
      io.stderr.write(
        rec?.type === "control"
          ? `handled: ${rec.outcome}: ${rec.message}\n`
          : "handled by the running rollout (its journal is elsewhere: `rollwave status` there shows the outcome)\n",
      );
      return ExitCode.ok;
    }
    await new Promise((res) => setTimeout(res, 500));
  }
  io.stderr.write(
    `not handled within ${formatDuration(limitMs)}: the request stays stored; \`rollwave status\` shows it\n`,
  );
  return ExitCode.running;
}
