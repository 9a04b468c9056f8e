/**
 * `rollwave status [plan | rollout-id] [--watch] [--output json]` and `rollwave list`.
 *
 * status: where a rollout stands, from its journal plus one fresh read-only observation (the lock's
 * owner and heartbeat, a pending control request, the target health of the instances out of
 * service). Its exit code is a CI gate: 0 succeeded, 1 failed / rolled back / aborted, 3 paused or
 * stopped (its process is gone: `resume` continues), 5 still running; 2 bad input. `--watch`
 * refreshes until the rollout is no longer running (Ctrl-C → 130, `--timeout` → 5).
 *
 * list: the rollouts of a journal location, newest first, from their journals alone.
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import { replayJournal } from "../../engine/journal.js";
import { occupiesSlot } from "../../engine/state.js";
import { deriveStatus, type RolloutStatusView } from "../../engine/status.js";
import { colorEnabled, makeChalk } from "../../report/output.js";
import { formatList, formatStatus, type ListRow, statusLine } from "../../report/status.js";
import { parseDuration } from "../../util/duration.js";
import { ExitCode, type ExitCodeValue, exitCodeForState } from "../exit-codes.js";
import type { CliIo } from "../io.js";
import { journalSource } from "../journal-source.js";
import { addAwsOptions, addVarOptions, outputOption, parseInteger } from "../options.js";
import {
  connectFor,
  observeRollout,
  type RemoteFlags,
  type RolloutRef,
  resolveRollout,
} from "../rollout-ref.js";
import type { CommandResult } from "./result.js";

interface StatusFlags extends RemoteFlags {
  watch?: boolean;
  output?: "text" | "json";
  interval?: number;
  timeout?: number;
}

function durationArg(name: string) {
  return (value: string): number => {
    const ms = parseDuration(value);
    if (ms === undefined || ms <= 0)
      throw new InvalidArgumentError(`${name} must be a duration such as 5s or 30m, got '${value}'`);
    return ms;
  };
}

/** `--journal <dir>` (and `--journal-dir`, the name deploy and resume use). */
export function addJournalOption(cmd: Command): Command {
  return cmd
    .addOption(new Option("--journal <dir>", "where the rollouts' journals are (default .rollwave)"))
    .addOption(new Option("--journal-dir <dir>", "same as --journal").hideHelp());
}

export function registerStatus(program: Command, io: CliIo, done: CommandResult): void {
  const cmd = program
    .command("status")
    .description(
      "show where a rollout stands (from its journal and one read-only look at AWS); exit code usable as a CI gate",
    )
    .argument(
      "[rollout]",
      "a plan file, or a rollout id (its first characters do); default: the only plan in the journal location",
    )
    .option(
      "--watch",
      "refresh until the rollout is no longer running (a line per change without a terminal)",
    )
    .option(
      "--interval <duration>",
      "with --watch: how often to look (default 5s)",
      durationArg("--interval"),
    )
    .option(
      "--timeout <duration>",
      "with --watch: give up after this long (exit 5 if still running)",
      durationArg("--timeout"),
    )
    .addOption(
      outputOption(
        ["text", "json"],
        "text (default) or json (the documented status object; NDJSON with --watch)",
      ),
    );
  addJournalOption(cmd);
  addVarOptions(cmd);
  addAwsOptions(cmd);
  cmd.addHelpText(
    "after",
    `
Exit codes: 0 succeeded; 1 failed, rolled back or aborted; 3 paused, or its process is gone
(\`rollwave resume\` continues); 5 still running; 2 bad input (no such rollout).

Examples:
  rollwave status plans/camera-relay.yaml
  rollwave status 9b1f2c --journal /mnt/shared/rollwave --output json
  rollwave status plans/camera-relay.yaml --watch --timeout 2h      # a CI gate`,
  );
  cmd.action(async (arg: string | undefined, flags: StatusFlags) => {
    done(await runStatus(io, arg, flags));
  });

  const list = program
    .command("list")
    .description("list the recent rollouts of a journal location (newest first)")
    .option("--limit <n>", "at most this many (default 20)", parseInteger("--limit", 1, 10_000))
    .addOption(outputOption(["text", "json"], "text (default) or json (an array)"));
  addJournalOption(list);
  list.action(async (flags: { journal?: string; journalDir?: string; limit?: number; output?: string }) => {
    done(await runList(io, flags));
  });
}

async function look(
  ref: RolloutRef,
  conn: Awaited<ReturnType<typeof connectFor>>,
): Promise<RolloutStatusView> {
  const { state } = replayJournal(ref.records);
  const out = Object.values(state.instances)
    .filter((i) => i.out || occupiesSlot(i))
    .map((i) => ({ id: i.id, targets: i.targets.map((t) => t.arn) }));
  const obs = await observeRollout(ref, conn, out);
  return deriveStatus(ref.records, obs, {
    ...(ref.planFile !== undefined ? { planFile: ref.planFile } : {}),
    commandArgs: ref.commandArgs,
  });
}

/** What changes between two looks, without the time of the look and the heartbeat's age. */
function changeKey(v: RolloutStatusView): string {
  const { observation: _o, owner, ...rest } = v;
  return JSON.stringify({
    ...rest,
    owner: owner ? { ...owner, heartbeatAgeSeconds: 0, heartbeatAt: "" } : null,
  });
}

async function runStatus(io: CliIo, arg: string | undefined, flags: StatusFlags): Promise<ExitCodeValue> {
  const ref = await resolveRollout(io, arg, flags);
  const conn = await connectFor(io, ref, flags, { write: false });
  const chalk = makeChalk(colorEnabled(io.stdout, io.env));
  const json = flags.output === "json";
  try {
    if (!flags.watch) {
      const v = await look(ref, conn);
      io.stdout.write(json ? `${JSON.stringify(v)}\n` : formatStatus(v, chalk));
      return exitCodeForState(v.state);
    }
    let stop: "signal" | undefined;
    let wake: (() => void) | undefined;
    const off = io.onSignal("SIGINT", () => {
      stop = "signal";
      wake?.();
    });
    const offTerm = io.onSignal("SIGTERM", () => {
      stop = "signal";
      wake?.();
    });
    const started = Date.now();
    const tty = io.stdout.isTTY === true && !json;
    let lastKey: string | undefined;
    try {
      for (;;) {
        ref.records = await ref.entry.records();
        const v = await look(ref, conn);
        const key = changeKey(v);
        if (tty) io.stdout.write(`\u001b[H\u001b[2J${formatStatus(v, chalk)}`);
        else if (key !== lastKey) io.stdout.write(json ? `${JSON.stringify(v)}\n` : `${statusLine(v)}\n`);
        lastKey = key;
        if (v.state !== "running") {
          if (!tty && !json) io.stdout.write(formatStatus(v, chalk));
          return exitCodeForState(v.state);
        }
        if (flags.timeout !== undefined && Date.now() - started >= flags.timeout) {
          io.stderr.write(`still running after --timeout: exit ${ExitCode.running}\n`);
          return ExitCode.running;
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, flags.interval ?? 5_000);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        if (stop) return ExitCode.interrupted;
      }
    } finally {
      off();
      offTerm();
    }
  } finally {
    await conn?.close();
  }
}

async function runList(
  io: CliIo,
  flags: { journal?: string; journalDir?: string; limit?: number; output?: string },
) {
  const source = journalSource(flags.journal ?? flags.journalDir, io.cwd);
  const rows: ListRow[] = [];
  for (const e of (await source.entries()).slice(0, flags.limit ?? 20)) {
    let records: Awaited<ReturnType<typeof e.records>>;
    try {
      records = await e.records();
    } catch (err) {
      io.stderr.write(`warning: ${e.where}: ${err instanceof Error ? err.message : String(err)}\n`);
      continue;
    }
    const header = records.find((r) => r.type === "header");
    const end = [...records]
      .reverse()
      .find((r) => r.type === "end" || r.type === "resume" || r.type === "decision");
    const first = records[0];
    const row: ListRow = {
      rolloutId: header?.type === "header" ? header.rolloutId : "unknown",
      plan: e.plan,
      startedAt: first ? new Date(first.at).toISOString() : "",
      // Without the lock no one can tell running from killed: `status` looks.
      state: end?.type === "end" ? end.status : "open (running, or its process is gone: see status)",
      journal: e.where,
    };
    if (header?.type === "header" && header.startedBy) row.startedBy = header.startedBy;
    if (end?.type === "end" && end.reason) row.reason = end.reason;
    rows.push(row);
  }
  io.stdout.write(flags.output === "json" ? `${JSON.stringify(rows)}\n` : formatList(rows));
  return ExitCode.ok;
}
