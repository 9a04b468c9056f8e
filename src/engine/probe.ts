/**
 * The probe connection source (`capacity.connections.probe`): a command run on the instances
 * through SSM (AWS-RunShellScript) whose standard output is the instance's connection count.
 *
 * A reading is a *round*: one SendCommand per ≤ 50 instances (`LIMITS.sendCommandInstanceIds`),
 * then one ListCommandInvocations per batch until every invocation has ended or the round's
 * deadline passed. A round costs 2 × ⌈n / 50⌉ calls when it answers at the first poll (1,000
 * instances: 20 SendCommand + 20 ListCommandInvocations), so observe starts one only when it is
 * needed: a fleet round when an admission needs a reading no older than `maxAge`, a drain round for
 * the draining instances whose drain check is due (observe.ts).
 *
 * Fail safe, like the metric: an instance whose probe failed, timed out, printed nothing or printed
 * something that is not a count has no reading, so the capacity check counts it at
 * `perInstanceLimit`. Each such problem is a `W_PROBE_FAILED` warning naming the instance (once per
 * instance and kind of problem, not every round). The reading's time is the round's SendCommand:
 * the count was taken after it, so its age is never understated.
 *
 * Probes are read-only, so re-sending one is harmless: they are not journaled, and their Comment
 * (`rollwave <tag> probe/<round> <plan>`) can never match a step's re-attach prefix
 * (`rollwave <tag> deploy `, reattach.ts). The round number keeps each round its own "step" in
 * SSM's history, so a probe running again on an instance is never mistaken for a step run twice.
 */
import { LIMITS } from "../aws/limits.js";
import type { AwsReader, AwsWriter, CommandInvocationSummary } from "../aws/types.js";
import type { WarningCode } from "./warnings.js";

/** SSM's smallest delivery timeout: a probe that has not answered by then counts as missing. */
export const PROBE_TIMEOUT_MS = LIMITS.ssmDeliveryTimeoutSeconds.min * 1000;
/** First poll of a round: delivery and a one-line command take about a second on a healthy agent. */
const FIRST_POLL_MS = 2_000;
const REPOLL_MS = 3_000;

/** The Comment of a probe round's SendCommands. */
export function probeComment(tag: string, round: number, plan: string): string {
  return `rollwave ${tag} probe/${round} ${plan}`.slice(0, 100);
}

/**
 * A probe's output as a connection count: the trimmed output must be one non-negative integer
 * (`ss … | wc -l` prints `183\n`). Anything else is an error, never a guess.
 */
export function parseProbeOutput(
  output: string | undefined,
): { ok: true; n: number } | { ok: false; why: string } {
  const text = (output ?? "").trim();
  if (text === "") return { ok: false, why: "printed nothing" };
  if (!/^\d{1,9}$/.test(text)) {
    const shown = text.length > 60 ? `${text.slice(0, 60)}…` : text;
    return { ok: false, why: `printed ${JSON.stringify(shown)}, not a connection count` };
  }
  return { ok: true, n: Number(text) };
}

type ProbeKind = "fleet" | "drain";

/** A finished round: the counts it got (instances without one are missing) and when it was sent. */
export interface ProbeReading {
  kind: ProbeKind;
  round: number;
  at: number;
  ids: string[];
  values: Record<string, number>;
  /** Instances without a count, and why. */
  missing: Record<string, string>;
}

interface Batch {
  commandId?: string;
  ids: string[];
  open: Set<string>;
}

interface Round {
  kind: ProbeKind;
  round: number;
  sentAt: number;
  ids: string[];
  batches: Batch[];
  values: Record<string, number>;
  missing: Record<string, string>;
  nextPollAt: number;
  deadline: number;
}

interface ProbeDeps {
  reader: AwsReader;
  writer: AwsWriter;
  command: string;
  /** The rollout's tag (`r:1a2b3c4d`) and the plan's name, for the Comment. */
  tag: string;
  planName: string;
  warn: (code: WarningCode, message: string) => void;
}

const TERMINAL = new Set(["Success", "Failed", "Cancelled", "TimedOut"]);

/** Probe rounds in flight across ticks (runner memory only: a resume simply probes again). */
export class ProbeSource {
  private rounds: Round[] = [];
  private seq = 0;
  /** Problems already reported, per instance, so a broken probe warns once, not every round. */
  private readonly warned = new Map<string, string>();

  constructor(private readonly deps: ProbeDeps) {}

  /** Is a round of this kind in flight (or, for `ids`, one covering any of them)? */
  inFlight(kind: ProbeKind, id?: string): boolean {
    return this.rounds.some((r) => r.kind === kind && (id === undefined || r.ids.includes(id)));
  }

  /** The earliest poll due, for the runner's sleep. */
  nextDueAt(): number {
    let t = Number.POSITIVE_INFINITY;
    for (const r of this.rounds) t = Math.min(t, r.nextPollAt);
    return t;
  }

  /**
   * Send a round to `ids` (one SendCommand per 50). Throws when no batch could be sent (the caller
   * keeps its older reading and says why); a batch that failed alone leaves its instances missing.
   */
  async start(kind: ProbeKind, ids: string[], now: number): Promise<void> {
    if (ids.length === 0) return;
    const round = ++this.seq;
    const r: Round = {
      kind,
      round,
      sentAt: now,
      ids,
      batches: [],
      values: {},
      missing: {},
      nextPollAt: now + FIRST_POLL_MS,
      deadline: now + PROBE_TIMEOUT_MS + FIRST_POLL_MS,
    };
    const seconds = PROBE_TIMEOUT_MS / 1000;
    const sends: Promise<void>[] = [];
    let failures = 0;
    let firstError = "";
    for (let k = 0; k < ids.length; k += LIMITS.sendCommandInstanceIds) {
      const batch: Batch = { ids: ids.slice(k, k + LIMITS.sendCommandInstanceIds), open: new Set() };
      r.batches.push(batch);
      sends.push(
        this.deps.writer
          .sendCommand({
            instanceIds: batch.ids,
            commands: [this.deps.command],
            timeoutSeconds: seconds,
            executionTimeoutSeconds: seconds,
            comment: probeComment(this.deps.tag, round, this.deps.planName),
          })
          .then(
            ({ commandId }) => {
              batch.commandId = commandId;
              for (const id of batch.ids) batch.open.add(id);
            },
            (e: unknown) => {
              failures++;
              firstError ||= (e as Error).message;
              for (const id of batch.ids)
                r.missing[id] = `the probe could not be sent: ${(e as Error).message}`;
            },
          ),
      );
    }
    await Promise.all(sends);
    if (failures === r.batches.length) throw new Error(`SendCommand (probe) failed: ${firstError}`);
    this.rounds.push(r);
  }

  /** Poll the rounds that are due; return those that finished (every instance answered, or the deadline passed). */
  async poll(now: number): Promise<ProbeReading[]> {
    const due = this.rounds.filter((r) => r.nextPollAt <= now);
    await Promise.all(due.map((r) => this.pollRound(r, now)));
    const done: ProbeReading[] = [];
    for (const r of due) {
      const open = r.batches.some((b) => b.open.size > 0);
      if (open && now < r.deadline) {
        r.nextPollAt = Math.min(r.deadline, now + REPOLL_MS);
        continue;
      }
      for (const b of r.batches)
        for (const id of b.open) r.missing[id] = `no answer within ${PROBE_TIMEOUT_MS / 1000}s`;
      this.rounds = this.rounds.filter((x) => x !== r);
      for (const [id, why] of Object.entries(r.missing)) this.report(id, why);
      for (const id of Object.keys(r.values)) this.warned.delete(id);
      done.push({
        kind: r.kind,
        round: r.round,
        at: r.sentAt,
        ids: r.ids,
        values: r.values,
        missing: r.missing,
      });
    }
    return done;
  }

  private async pollRound(r: Round, now: number): Promise<void> {
    await Promise.all(
      r.batches
        .filter((b) => b.commandId !== undefined && b.open.size > 0)
        .map(async (b) => {
          let rows: CommandInvocationSummary[];
          try {
            rows = await this.deps.reader.listCommandInvocations(b.commandId as string);
          } catch (e) {
            // Unanswered instances become missing at the deadline: fail safe, no guess.
            if (now + REPOLL_MS >= r.deadline)
              this.deps.warn(
                "W_OBSERVE_FAILED",
                `ListCommandInvocations (probe) failed: ${(e as Error).message}`,
              );
            return;
          }
          for (const inv of rows) {
            if (!b.open.has(inv.instanceId) || !TERMINAL.has(inv.status)) continue;
            b.open.delete(inv.instanceId);
            if (inv.status !== "Success") {
              const err = inv.stderr?.trim().split("\n")[0];
              r.missing[inv.instanceId] =
                `the probe ended ${inv.status} (${inv.statusDetails}${inv.responseCode !== undefined && inv.responseCode >= 0 ? `, exit ${inv.responseCode}` : ""})${err ? `: ${err}` : ""}`;
              continue;
            }
            const p = parseProbeOutput(inv.output);
            if (p.ok) r.values[inv.instanceId] = p.n;
            else r.missing[inv.instanceId] = `the probe ${p.why}`;
          }
        }),
    );
  }

  private report(id: string, why: string): void {
    // The kind of problem, without the numbers in it, decides whether it is new.
    const kind = why.replace(/\d+/g, "N");
    if (this.warned.get(id) === kind) return;
    this.warned.set(id, kind);
    this.deps.warn(
      "W_PROBE_FAILED",
      `${id}: ${why}; counted at perInstanceLimit until a probe answers with a count`,
    );
  }
}
