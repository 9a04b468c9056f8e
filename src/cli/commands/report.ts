/**
 * `rollwave report <plan | journal> [--out report.html]`: the HTML report of a rollout, drawn from
 * its journal, offline (no AWS call). Given a plan, it reads `<journal-dir>/<plan name>/journal.ndjson`
 * and also draws each AZ's capacity floor (the plan's window over the journaled fleet); given a
 * journal file (`*.ndjson`), it draws everything but the floor.
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import type { JournalRecord } from "../../engine/journal.js";
import type { EngineState } from "../../engine/state.js";
import type { Fleet } from "../../fleet/types.js";
import type { Plan } from "../../plan/types.js";
import { UsageError } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import type { CliIo } from "../io.js";
import { addVarOptions } from "../options.js";
import { loadPlanFromFlags, type VarFlags } from "../plan-input.js";
import type { CommandResult } from "./result.js";

interface ReportFlags extends VarFlags {
  out: string;
  journalDir?: string;
}

/** The fleet as it stood when the rollout began, from the journal's begin record. */
function journaledFleet(state: EngineState): Fleet {
  return {
    region: null,
    account: null,
    source: "inventory",
    autoScalingGroups: [],
    targetGroups: [],
    instances: Object.values(state.instances).map((i) => ({
      id: i.id,
      az: i.az,
      state: "running",
      tags: {},
      ssm: "Online",
      targets: i.targets.map((t) => ({
        targetGroupArn: t.arn,
        ...(t.port !== undefined ? { port: t.port } : {}),
        state: "healthy" as const,
      })),
    })),
  };
}

/** Each AZ's capacity floor as the deploy declared it: the plan's window over the journaled fleet. */
async function floorFor(plan: Plan, records: JournalRecord[]): Promise<Record<string, number> | undefined> {
  const begin = records.find((r) => r.type === "begin");
  if (begin?.type !== "begin") return undefined;
  const [{ planWaves }, { capacityFloor }] = await Promise.all([
    import("../../waves/plan-waves.js"),
    import("../../engine/capacity.js"),
  ]);
  const fleet = journaledFleet(begin.state);
  try {
    return capacityFloor(fleet, planWaves(fleet, plan)).perAz;
  } catch {
    return undefined; // the plan no longer fits this journal: draw without the floor
  }
}

export function registerReport(program: Command, io: CliIo, done: CommandResult): void {
  const cmd = program
    .command("report")
    .description("write an HTML report (timeline, capacity per AZ, failures) of a rollout from its journal")
    .argument("<plan-or-journal>", "plan file (reads its journal from --journal-dir), or a journal.ndjson")
    .option("--out <file>", "where to write the report", "rollwave-report.html")
    .option("--journal-dir <dir>", "where the plan's journal lives (default .rollwave)");
  addVarOptions(cmd);
  cmd.addHelpText(
    "after",
    `
Examples:
  rollwave report plans/camera-relay.yaml --out report.html
  rollwave report .rollwave/camera-relay/journal.ndjson --out report.html`,
  );
  cmd.action(async (input: string, flags: ReportFlags) => {
    const { parseJournal } = await import("../../engine/journal.js");
    const { writeReport } = await import("../../report/report-file.js");
    const isJournal = /\.ndjson$|\.jsonl$/.test(input);
    let plan: Plan | undefined;
    let journalFile = resolve(io.cwd, input);
    if (!isJournal) {
      ({ plan } = await loadPlanFromFlags(io, input, flags, { requireVars: false }));
      journalFile = join(resolve(io.cwd, flags.journalDir ?? ".rollwave"), plan.name, "journal.ndjson");
    }
    let text: string;
    try {
      text = await readFile(journalFile, "utf8");
    } catch {
      throw new UsageError(
        `no journal at ${journalFile}`,
        isJournal
          ? "pass the journal.ndjson a deploy wrote (in .rollwave/<plan name>/ or --journal-dir)"
          : "pass --journal-dir where the deploy kept it, or the journal file itself",
      );
    }
    const records = parseJournal(text);
    if (!records.some((r) => r.type === "begin")) {
      throw new UsageError(`${journalFile} holds no rollout (no begin record)`, "is it a rollwave journal?");
    }
    const floor = plan ? await floorFor(plan, records) : undefined;
    const out = resolve(io.cwd, flags.out);
    await writeReport(out, records, floor ? { floor } : {});
    io.stdout.write(`report: ${out}\n`);
    done(ExitCode.ok);
  });
}
