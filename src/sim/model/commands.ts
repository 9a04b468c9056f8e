/**
 * SSM Run Command in the model (AWS-RunShellScript only). An invocation runs the document's
 * `commands` lines in sequence; each line is matched against the spec's behaviours (first match
 * wins) which give it a duration, a failure chance, output and effects on the instance.
 *
 * Life of an invocation:
 *   agent not Online at SendCommand        → Failed / Undeliverable (at once; see README for why)
 *   Pending ─(MaxConcurrency slot, ~0.2–1 s delivery)→ InProgress ─→ Success | Failed | TimedOut
 *   agent offline when delivery arrives    → stays Pending until TimeoutSeconds → TimedOut / Delivery Timed Out
 *   runs past executionTimeout             → TimedOut / Execution Timed Out
 *   parent exceeded MaxErrors, not started → Cancelled / Terminated
 *   CancelCommand                          → Cancelled
 */
import { lognormal } from "../../util/rng.js";
import {
  type Page,
  SimApiError,
  type SimCommand,
  type SimDuplicateExecution,
  type SimExecutionCount,
  type SimInvocation,
  type SimSendCommandInput,
} from "./api.js";
import { type CommandFilterInput, commandFilter } from "./command-filters.js";
import {
  fillTemplate,
  isTerminal,
  parseRunShellScript,
  resolveCount,
  resolveTargets,
  rollUp,
  uuid,
} from "./command-parts.js";
import { type Core, hexId, type Inst } from "./core.js";
import type { CommandBehaviourSpec } from "./fleet-spec.js";
import { page, pageSize } from "./paging.js";

/** What commands may do to an instance; the world implements it. */
interface CommandHost {
  connections(inst: Inst): number;
  holdService(inst: Inst): void;
  /** `crashed`: the line failed, so the service stays down until the next `stopService` line. */
  releaseService(inst: Inst, crashed: boolean): void;
  install(inst: Inst, version: string, bad: boolean): void;
  shed(inst: Inst, rate: number): void;
  /** A command line's duration was drawn (for the intrinsic times). */
  drew?(inst: Inst, step: string, ms: number): void;
  /** Close every connection the instance holds (a `closeConnections` effect). */
  closeConnections(inst: Inst): void;
}

interface Behaviour {
  re: RegExp;
  spec: CommandBehaviourSpec;
  breakRe: RegExp | undefined;
}

interface Inv {
  data: SimInvocation;
  inst: Inst;
  cmd: Cmd;
  gen: number;
  holding: boolean;
  dispatched: boolean;
  visibleAt: number;
  /** Counted as an execution of its step (it started running); `running` until it ends. */
  exec?: { rec: ExecRecord; running: boolean };
}

interface ExecRecord extends SimExecutionCount {
  running: number;
  firstSuccess?: string;
}

interface Cmd {
  data: SimCommand;
  lines: string[];
  invs: Inv[];
  queue: Inv[];
  running: number;
  maxConc: number;
  maxErr: number;
  failures: number;
  cancelRequested: boolean;
  execTimeoutMs: number;
  /** The step this command runs, for execution counts: see `stepOf`. */
  step: string;
}

const DEFAULT_BEHAVIOUR: CommandBehaviourSpec = {
  match: "",
  duration: { p50: 200, p99: 500 },
  failureProbability: 0,
  exitCode: 1,
  stdout: "",
  stderr: "",
  effects: {},
};

export class Commands {
  private readonly behaviours: Behaviour[];
  private failureOverrides: { re: RegExp | undefined; probability: number }[] = [];
  private readonly commands: Cmd[] = [];
  private readonly byId = new Map<string, Cmd>();
  /** Invocations delivered while the instance's agent was offline: they start when it returns. */
  private readonly waiting = new Map<Inst, Set<Inv>>();
  private seq = 0;
  /** Executions per instance and step, in first-execution order. */
  private readonly execs = new Map<string, ExecRecord>();
  private readonly dups: SimDuplicateExecution[] = [];

  constructor(
    private readonly core: Core,
    private readonly host: CommandHost,
  ) {
    this.behaviours = core.spec.commands.map((spec) => ({
      re: new RegExp(spec.match),
      spec,
      breakRe: spec.effects.breakHealthIf ? new RegExp(spec.effects.breakHealthIf) : undefined,
    }));
  }

  /** Override the failure probability of matching command lines (all when `match` is absent). */
  setFailures(probability: number, match?: string): void {
    this.failureOverrides.push({ re: match ? new RegExp(match) : undefined, probability });
  }

  send(input: SimSendCommandInput): SimCommand {
    const core = this.core;
    const { lines, execTimeout, timeoutSeconds } = parseRunShellScript(input);
    const insts = resolveTargets(core, input);
    const n = insts.length;
    const maxConcurrency = input.maxConcurrency ?? "50";
    const maxErrors = input.maxErrors ?? "0";
    let id = uuid(hexId(`cmd/${this.seq++}/${core.now}`, 32));
    while (this.byId.has(id)) id = uuid(hexId(`cmd/${this.seq++}/${core.now}`, 32));
    const data: SimCommand = {
      commandId: id,
      documentName: input.documentName,
      comment: input.comment ?? "",
      parameters: input.parameters ?? {},
      instanceIds: insts.map((i) => i.id),
      requestedAt: core.now,
      expiresAfter: core.now + timeoutSeconds * 1000,
      status: "Pending",
      statusDetails: "Pending",
      maxConcurrency,
      maxErrors,
      targetCount: n,
      completedCount: 0,
      errorCount: 0,
      deliveryTimedOutCount: 0,
      timeoutSeconds,
    };
    const cmd: Cmd = {
      data,
      lines,
      invs: [],
      queue: [],
      running: 0,
      maxConc: Math.max(1, resolveCount(maxConcurrency, n, Math.ceil, "MaxConcurrency")),
      maxErr: resolveCount(maxErrors, n, Math.floor, "MaxErrors"),
      failures: 0,
      cancelRequested: false,
      execTimeoutMs: execTimeout * 1000,
      step: stepOf(input.documentName, data.comment, lines),
    };
    for (const inst of insts) {
      const inv: Inv = {
        data: {
          commandId: id,
          instanceId: inst.id,
          documentName: input.documentName,
          comment: data.comment,
          requestedAt: core.now,
          status: "Pending",
          statusDetails: "Pending",
          responseCode: -1,
          stdout: "",
          stderr: "",
        },
        inst,
        cmd,
        gen: 0,
        holding: false,
        dispatched: false,
        // GetCommandInvocation answers InvocationDoesNotExist this long after SendCommand.
        visibleAt: core.now + 1000 + core.rng() * 1000,
      };
      cmd.invs.push(inv);
      if (!inst.ssmOnline || inst.state !== "running") {
        this.finish(inv, "Failed", "Undeliverable", -1);
        continue;
      }
      cmd.queue.push(inv);
      core.after(timeoutSeconds * 1000, () => {
        if (notStarted(inv)) this.finish(inv, "TimedOut", "Delivery Timed Out", -1);
      });
    }
    this.commands.push(cmd);
    this.byId.set(id, cmd);
    this.pump(cmd);
    this.aggregate(cmd);
    return { ...data };
  }

  list(q: {
    commandId?: string;
    instanceId?: string;
    filters?: CommandFilterInput[];
    maxResults?: number;
    nextToken?: string;
  }): Page<SimCommand> {
    const size = pageSize(q.maxResults, 1, 50, 50, "ValidationException");
    const keep = commandFilter(q.filters, "ListCommands");
    let cmds: Cmd[];
    if (q.commandId) cmds = [this.get(q.commandId)];
    else cmds = [...this.commands].reverse();
    if (q.instanceId) cmds = cmds.filter((c) => c.data.instanceIds.includes(q.instanceId as string));
    cmds = cmds.filter((c) => keep(c.data));
    return page(
      cmds.map((c) => ({ ...c.data })),
      size,
      q.nextToken,
      "InvalidNextToken",
    );
  }

  listInvocations(q: {
    commandId?: string;
    instanceId?: string;
    filters?: CommandFilterInput[];
    details: boolean;
    maxResults?: number;
    nextToken?: string;
  }): Page<SimInvocation> {
    const size = pageSize(q.maxResults, 1, 50, 50, "ValidationException");
    const keep = commandFilter(q.filters, "ListCommandInvocations");
    const cmds = q.commandId ? [this.get(q.commandId)] : [...this.commands].reverse();
    const invs = cmds
      .flatMap((c) => (q.instanceId ? c.invs.filter((i) => i.inst.id === q.instanceId) : c.invs))
      .filter((i) => keep(i.data));
    return page(
      invs.map((i) => view(i, q.details ? 2500 : 0, q.details ? 2500 : 0)),
      size,
      q.nextToken,
      "InvalidNextToken",
    );
  }

  getInvocation(commandId: string, instanceId: string): SimInvocation {
    const inv = this.byId.get(commandId)?.invs.find((i) => i.inst.id === instanceId);
    if (!inv || this.core.now < inv.visibleAt) {
      throw new SimApiError("InvocationDoesNotExist", "An error occurred (InvocationDoesNotExist)");
    }
    return view(inv, 24_000, 8_000);
  }

  cancel(commandId: string, instanceIds?: string[]): void {
    const cmd = this.get(commandId);
    cmd.cancelRequested = true;
    for (const inv of cmd.invs) {
      if (instanceIds && instanceIds.length > 0 && !instanceIds.includes(inv.inst.id)) continue;
      if (!isTerminal(inv.data.status)) this.finish(inv, "Cancelled", "Cancelled", -1);
    }
  }

  /** The instance's agent came back: invocations delivered meanwhile start now. */
  agentOnline(inst: Inst): void {
    const set = this.waiting.get(inst);
    if (!set) return;
    this.waiting.delete(inst);
    for (const inv of set) this.start(inv);
  }

  /** The instance died: whatever ran on it fails. */
  instanceGone(inst: Inst): void {
    for (const cmd of this.commands) {
      if (isTerminal(cmd.data.status)) continue;
      for (const inv of cmd.invs) {
        if (inv.inst !== inst || isTerminal(inv.data.status)) continue;
        inv.data.stderr += "instance terminated\n";
        this.finish(inv, "Failed", "Failed", -1);
      }
    }
  }

  /** How many times each step started running on each instance, and how often it succeeded. */
  executions(): SimExecutionCount[] {
    return [...this.execs.values()].map(({ instanceId, step, runs, successes }) => ({
      instanceId,
      step,
      runs,
      successes,
    }));
  }

  /** Executions of a step on an instance where it had already succeeded, or was still running. */
  duplicates(): SimDuplicateExecution[] {
    return this.dups.map((d) => ({ ...d }));
  }

  private countExecution(inv: Inv): void {
    const key = `${inv.inst.id}\u0000${inv.cmd.step}`;
    let rec = this.execs.get(key);
    if (!rec) {
      rec = { instanceId: inv.inst.id, step: inv.cmd.step, runs: 0, successes: 0, running: 0 };
      this.execs.set(key, rec);
    }
    rec.runs++;
    if (rec.firstSuccess !== undefined || rec.running > 0) {
      this.dups.push({
        at: this.core.now,
        instanceId: inv.inst.id,
        step: rec.step,
        commandId: inv.cmd.data.commandId,
        kind: rec.firstSuccess !== undefined ? "after-success" : "while-running",
        ...(rec.firstSuccess !== undefined ? { succeededIn: rec.firstSuccess } : {}),
      });
    }
    rec.running++;
    inv.exec = { rec, running: true };
  }

  private get(commandId: string): Cmd {
    const cmd = this.byId.get(commandId);
    if (!cmd) throw new SimApiError("InvalidCommandId", `Command ${commandId} was not found`);
    return cmd;
  }

  /** Dispatch queued invocations while the command has free concurrency and has not hit MaxErrors. */
  private pump(cmd: Cmd): void {
    while (cmd.running < cmd.maxConc && cmd.queue.length > 0 && cmd.failures <= cmd.maxErr) {
      const inv = cmd.queue.shift() as Inv;
      if (isTerminal(inv.data.status)) continue;
      inv.dispatched = true;
      cmd.running++;
      const gen = inv.gen;
      this.core.after(200 + this.core.rng() * 800, () => {
        if (inv.gen !== gen || inv.data.status !== "Pending") return;
        if (!inv.inst.ssmOnline || inv.inst.state !== "running") {
          // SSM keeps retrying an unavailable node until the delivery timeout.
          inv.data.status = "Delayed";
          inv.data.statusDetails = "Delayed";
          this.aggregate(inv.cmd);
          const set = this.waiting.get(inv.inst) ?? new Set<Inv>();
          set.add(inv);
          this.waiting.set(inv.inst, set);
          return;
        }
        this.start(inv);
      });
    }
    if (cmd.failures > cmd.maxErr) {
      for (const inv of cmd.queue)
        if (!isTerminal(inv.data.status)) this.finish(inv, "Cancelled", "Terminated", -1);
      cmd.queue.length = 0;
    }
  }

  private start(inv: Inv): void {
    if (!notStarted(inv)) return;
    inv.data.status = "InProgress";
    inv.data.statusDetails = "In Progress";
    inv.data.executionStartedAt = this.core.now;
    this.countExecution(inv);
    const gen = inv.gen;
    this.core.after(inv.cmd.execTimeoutMs, () => {
      if (inv.gen === gen && inv.data.status === "InProgress")
        this.finish(inv, "TimedOut", "Execution Timed Out", -1);
    });
    this.aggregate(inv.cmd);
    this.step(inv, 0);
  }

  private step(inv: Inv, index: number): void {
    if (index >= inv.cmd.lines.length) {
      this.finish(inv, "Success", "Success", 0);
      return;
    }
    const line = inv.cmd.lines[index] as string;
    const match = this.match(line);
    const spec = match.b?.spec ?? DEFAULT_BEHAVIOUR;
    const groups = match.m ?? [line];
    const rng = this.core.rng;
    const duration = spec.duration.p50 > 0 ? lognormal(rng, spec.duration.p50, spec.duration.p99) : 0;
    this.host.drew?.(inv.inst, inv.cmd.step, duration);
    const failed = rng() < this.failureProbability(line, spec.failureProbability);
    const { effects } = spec;
    if (effects.stopService) {
      inv.holding = true;
      this.host.holdService(inv.inst);
    }
    const gen = inv.gen;
    this.core.after(duration, () => {
      if (inv.gen !== gen) return;
      this.release(inv, failed);
      if (failed) {
        inv.data.stderr += this.fill(spec.stderr || `${line}: failed`, groups, inv) + "\n";
        this.finish(inv, "Failed", "Failed", spec.exitCode);
        return;
      }
      if (effects.setVersion) {
        const inst = inv.inst;
        const version =
          effects.setVersion === "previous"
            ? inst.previousVersion
            : this.fill(effects.setVersion, groups, inv);
        this.host.install(inst, version, match.b?.breakRe?.test(version) ?? false);
      }
      if (effects.shed !== undefined) {
        const rate = Number(
          typeof effects.shed === "number" ? effects.shed : this.fill(effects.shed, groups, inv),
        );
        if (rate > 0) this.host.shed(inv.inst, rate);
      }
      if (effects.closeConnections) this.host.closeConnections(inv.inst);
      const out = this.fill(spec.stdout, groups, inv);
      if (out !== "") inv.data.stdout += out + "\n";
      this.step(inv, index + 1);
    });
  }

  private match(line: string): { b: Behaviour | undefined; m: RegExpExecArray | null } {
    for (const b of this.behaviours) {
      const m = b.re.exec(line);
      if (m) return { b, m };
    }
    return { b: undefined, m: null };
  }

  private failureProbability(line: string, base: number): number {
    for (let i = this.failureOverrides.length - 1; i >= 0; i--) {
      const o = this.failureOverrides[i] as { re: RegExp | undefined; probability: number };
      if (!o.re || o.re.test(line)) return o.probability;
    }
    return base;
  }

  private release(inv: Inv, crashed = false): void {
    if (!inv.holding) return;
    inv.holding = false;
    this.host.releaseService(inv.inst, crashed);
  }

  private finish(inv: Inv, status: SimInvocation["status"], details: string, code: number): void {
    const cmd = inv.cmd;
    inv.gen++;
    this.release(inv);
    this.waiting.get(inv.inst)?.delete(inv);
    const wasRunning = inv.dispatched;
    inv.dispatched = false;
    inv.data.status = status;
    inv.data.statusDetails = details;
    if (inv.exec?.running) {
      inv.exec.running = false;
      inv.exec.rec.running--;
      if (status === "Success") {
        inv.exec.rec.successes++;
        inv.exec.rec.firstSuccess ??= cmd.data.commandId;
      }
    }
    if (code !== -1 || inv.data.executionStartedAt !== undefined) inv.data.responseCode = code;
    if (inv.data.executionStartedAt !== undefined) inv.data.executionEndedAt = this.core.now;
    if ((status === "Failed" && details !== "Undeliverable") || details === "Execution Timed Out")
      cmd.failures++;
    if (wasRunning) {
      cmd.running--;
      this.pump(cmd);
    }
    this.aggregate(cmd);
  }

  private fill(text: string, groups: ArrayLike<string | undefined>, inv: Inv): string {
    return fillTemplate(text, groups, {
      connections: () => this.host.connections(inv.inst),
      version: inv.inst.installedVersion,
      instanceId: inv.inst.id,
    });
  }

  private aggregate(cmd: Cmd): void {
    rollUp(
      cmd.data,
      cmd.maxErr,
      cmd.invs.map((i) => i.data),
      cmd.cancelRequested,
    );
  }
}

/**
 * Which step a command runs, so that executions can be counted per instance and step. rollwave's
 * commands carry the Comment `rollwave <plan> <step>`, possibly followed by more words (such as an
 * idempotency token): the step is those first three words, whatever follows. Any other non-empty
 * Comment is the step as a whole; with no Comment, the document and its command lines are.
 */
export function stepOf(documentName: string, comment: string, lines: string[]): string {
  const rollwave = /^rollwave\s+(\S+)\s+(\S+)/.exec(comment);
  if (rollwave) return `rollwave ${rollwave[1]} ${rollwave[2]}`;
  if (comment.trim() !== "") return comment.trim();
  return `${documentName}: ${lines.join("; ")}`;
}

function notStarted(inv: Inv): boolean {
  return inv.data.status === "Pending" || inv.data.status === "Delayed";
}

function view(inv: Inv, maxOut: number, maxErr: number): SimInvocation {
  return { ...inv.data, stdout: inv.data.stdout.slice(0, maxOut), stderr: inv.data.stderr.slice(0, maxErr) };
}
