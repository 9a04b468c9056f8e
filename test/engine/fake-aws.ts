/**
 * A second, small AWS for the engine's unit tests: in memory, on a ManualClock, so a test steps
 * time exactly and runs in milliseconds. The simulator (src/sim) is the AWS model of record; this
 * fake exists for speed and for faults a test must place at an exact moment. When the two
 * disagree, the simulator (and aws-facts.md) is right and this file is fixed.
 *
 * What it models:
 *  - ELBv2 target health per group: `initial` for `healthyAfterMs` after RegisterTargets, then
 *    `healthy` (or `unhealthy` on `badVersion`); after DeregisterTargets `draining` for
 *    `drainDelayMs`, then absent; `unused` (Target.InvalidState) once the instance is not running.
 *    Like ELB, a target registered with a port is deregistered only with that port; RegisterTargets
 *    throws InvalidTarget for an instance that is not running.
 *  - SSM Run Command: SendCommand refuses more than 50 ids; each invocation is invisible for
 *    `visibleAfterMs` (real SSM's InvocationDoesNotExist), `InProgress` for `commandMs`, then
 *    Success, Failed (exit 1, with stderr) or Undeliverable (agent offline or instance not
 *    running); `commandResult` decides per instance, `commandOutput` what a success prints (read
 *    at SendCommand), `commandDuration` how long it runs, `sendError` makes SendCommand throw. A
 *    successful `deploy X` command puts the instance on version X, one mentioning `rollback` puts
 *    it back on v1.
 *  - Auto Scaling suspend/resume per group (the suspended set), DescribeAlarms from `alarms`,
 *    the connection metric from `connections`, EC2 states (`terminate(id)`), STS identity.
 *  - Call counting per `Service.Action`, a log of every mutation with its time (`mutations`), and
 *    `failNext[action]` to make the next such mutating call throw.
 *
 * What it does not model (use the simulator, test/integration, for these):
 *  - the wire: no HTTP, SDK, pagination, batching limits on reads, throttling or retries;
 *  - discovery: DescribeTargetGroups, DescribeInstanceInformation and DescribeAutoScalingInstances
 *    answer empty, and DescribeInstances returns no tags (tests build the Fleet directly);
 *  - time inside a command or a drain: no connections that fall as an instance drains, no cameras,
 *    no load, no health-check intervals or thresholds (health flips at fixed times);
 *  - SSM's delivery and execution timeouts (a command takes `commandMs`, whatever its timeouts),
 *    MaxConcurrency/MaxErrors, and output truncation;
 *  - Auto Scaling itself (no launches, terminations or rebalancing while processes run);
 *  - the parameter store (getParameter answers null).
 */
import type {
  AlarmStateSummary,
  ApiCallCounts,
  AutoScalingGroupSummary,
  AwsReader,
  AwsWriter,
  CommandInvocationSummary,
  MutableAwsConnection,
  SendCommandRequest,
  TargetHealthDescription,
  TargetRef,
} from "../../src/aws/types.js";
import type { Clock } from "../../src/util/clock.js";

interface FakeTarget {
  port?: number;
  registeredAt?: number;
  deregisteredAt?: number;
}

interface FakeInstance {
  id: string;
  az: string;
  state: string;
  ssmOnline: boolean;
  version: string;
  asg?: string;
}

interface FakeInvocation {
  instanceId: string;
  endsAt: number;
  visibleAt: number;
  result: "Success" | "Failed" | "Undeliverable" | "Execution Timed Out";
  stderr?: string;
  output?: string;
}

export interface FakeOptions {
  account?: string;
  drainDelayMs?: number;
  healthyAfterMs?: number;
  commandMs?: number;
  /** Invocations are invisible this long after SendCommand (InvocationDoesNotExist in real SSM). */
  visibleAfterMs?: number;
  /** Health fails for instances on this version. */
  badVersion?: string;
}

export class FakeAws implements MutableAwsConnection {
  readonly instances = new Map<string, FakeInstance>();
  readonly groups = new Map<string, Map<string, FakeTarget>>();
  readonly asgs = new Map<string, { suspended: Set<string> }>();
  readonly alarms: AlarmStateSummary[] = [];
  readonly connections: Record<string, number> = {};
  readonly commands = new Map<
    string,
    { req: SendCommandRequest; invocations: FakeInvocation[]; at: number }
  >();
  /** Every mutating call, in order. */
  readonly mutations: { at: number; action: string; detail: string }[] = [];
  private counts: ApiCallCounts = { total: 0, byAction: {}, throttled: 0 };
  private seq = 0;
  /** Decide the result of a command on an instance (default: success). */
  commandResult: (req: SendCommandRequest, id: string) => "Success" | "Failed" = () => "Success";
  /** Standard output of a successful invocation (e.g. a connection probe's count). */
  commandOutput: (req: SendCommandRequest, id: string) => string | undefined = () => undefined;
  /** How long a command runs (default `commandMs`). */
  commandDuration: (req: SendCommandRequest) => number = () => this.opts.commandMs;
  /** SendCommand throws this message when it returns one (before anything is sent). */
  sendError: (req: SendCommandRequest) => string | undefined = () => undefined;
  /** SendCommand calls that succeed in "AWS" but throw to the caller (an ambiguous error). */
  loseSendAnswer = 0;
  /** When set, GetMetricData throws this message. */
  metricError: string | undefined;
  /** Clock time of every GetMetricData call. */
  readonly metricReads: number[] = [];
  /** Make a mutating call throw (e.g. to test retries). */
  failNext: Partial<Record<string, string>> = {};
  readonly opts: Required<Omit<FakeOptions, "badVersion">> & { badVersion?: string };

  constructor(
    private readonly clock: Clock,
    opts: FakeOptions = {},
  ) {
    this.opts = {
      account: "111122223333",
      drainDelayMs: 30_000,
      healthyAfterMs: 20_000,
      commandMs: 30_000,
      visibleAfterMs: 2_000,
      ...opts,
    };
  }

  addInstance(id: string, az: string, groups: string[], asg?: string, port?: number) {
    this.instances.set(id, {
      id,
      az,
      state: "running",
      ssmOnline: true,
      version: "v1",
      ...(asg ? { asg } : {}),
    });
    for (const g of groups) {
      const m = this.groups.get(g) ?? new Map<string, FakeTarget>();
      m.set(id, { registeredAt: -1e12, ...(port ? { port } : {}) });
      this.groups.set(g, m);
    }
    if (asg && !this.asgs.has(asg)) this.asgs.set(asg, { suspended: new Set() });
  }

  terminate(id: string) {
    const i = this.instances.get(id);
    if (i) i.state = "terminated";
  }

  private count(action: string) {
    this.counts.total++;
    this.counts.byAction[action] = (this.counts.byAction[action] ?? 0) + 1;
  }

  private mutate(action: string, detail: string) {
    this.count(action);
    this.mutations.push({ at: this.clock.now(), action, detail });
    const msg = this.failNext[action];
    if (msg) {
      delete this.failNext[action];
      throw new Error(msg);
    }
  }

  calls(): ApiCallCounts {
    return { total: this.counts.total, byAction: { ...this.counts.byAction }, throttled: 0 };
  }

  close() {}

  private health(id: string, t: FakeTarget): TargetHealthDescription | undefined {
    const now = this.clock.now();
    const inst = this.instances.get(id);
    const base = t.port === undefined ? { id } : { id, port: t.port };
    if (inst && inst.state !== "running") return { ...base, state: "unused", reason: "Target.InvalidState" };
    if (t.deregisteredAt !== undefined) {
      if (now < t.deregisteredAt + this.opts.drainDelayMs)
        return { ...base, state: "draining", reason: "Target.DeregistrationInProgress" };
      return undefined;
    }
    if (t.registeredAt === undefined) return undefined;
    if (now < t.registeredAt + this.opts.healthyAfterMs)
      return { ...base, state: "initial", reason: "Elb.InitialHealthChecking" };
    if (inst && this.opts.badVersion && inst.version === this.opts.badVersion) {
      return { ...base, state: "unhealthy", reason: "Target.ResponseCodeMismatch" };
    }
    return { ...base, state: "healthy" };
  }

  readonly reader: AwsReader = {
    getCallerIdentity: async () => {
      this.count("STS.GetCallerIdentity");
      return { account: this.opts.account, arn: `arn:aws:iam::${this.opts.account}:user/test` };
    },
    describeInstances: async (q) => {
      this.count("EC2.DescribeInstances");
      return (q.instanceIds ?? [...this.instances.keys()])
        .map((id) => this.instances.get(id))
        .filter((i): i is FakeInstance => !!i)
        .map((i) => ({ id: i.id, az: i.az, state: i.state, tags: {} }));
    },
    describeTargetGroups: async () => {
      this.count("ELBv2.DescribeTargetGroups");
      return [];
    },
    describeTargetHealth: async (arn) => {
      this.count("ELBv2.DescribeTargetHealth");
      const out: TargetHealthDescription[] = [];
      for (const [id, t] of this.groups.get(arn) ?? []) {
        const h = this.health(id, t);
        if (h) out.push(h);
      }
      return out;
    },
    describeInstanceInformation: async () => {
      this.count("SSM.DescribeInstanceInformation");
      return {};
    },
    describeAutoScalingInstances: async () => {
      this.count("AutoScaling.DescribeAutoScalingInstances");
      return {};
    },
    describeAutoScalingGroups: async (names) => {
      this.count("AutoScaling.DescribeAutoScalingGroups");
      const out: AutoScalingGroupSummary[] = [];
      for (const n of names) {
        const g = this.asgs.get(n);
        if (g) out.push({ name: n, suspendedProcesses: [...g.suspended], instanceIds: [] });
      }
      return out;
    },
    listCommandInvocations: async (commandId) => {
      this.count("SSM.ListCommandInvocations");
      const c = this.commands.get(commandId);
      const now = this.clock.now();
      const out: CommandInvocationSummary[] = [];
      for (const inv of c?.invocations ?? []) {
        if (now < inv.visibleAt) continue;
        if (now < inv.endsAt) {
          out.push({
            instanceId: inv.instanceId,
            status: "InProgress",
            statusDetails: "InProgress",
            responseCode: -1,
          });
          continue;
        }
        if (inv.result === "Success")
          out.push({
            instanceId: inv.instanceId,
            status: "Success",
            statusDetails: "Success",
            responseCode: 0,
            finishedAt: inv.endsAt,
            ...(inv.output !== undefined ? { output: inv.output } : {}),
          });
        else if (inv.result === "Undeliverable")
          out.push({ instanceId: inv.instanceId, status: "Failed", statusDetails: "Undeliverable" });
        else if (inv.result === "Execution Timed Out")
          out.push({ instanceId: inv.instanceId, status: "TimedOut", statusDetails: "Execution Timed Out" });
        else
          out.push({
            instanceId: inv.instanceId,
            status: "Failed",
            statusDetails: "Failed",
            responseCode: 1,
            stderr: inv.stderr ?? "",
          });
      }
      return out;
    },
    listCommands: async ({ instanceId, after }) => {
      this.count("SSM.ListCommands");
      return [...this.commands.entries()]
        .filter(([, c]) => c.req.instanceIds.includes(instanceId) && c.at >= after.getTime())
        .map(([commandId, c]) => ({
          commandId,
          comment: c.req.comment ?? "",
          requestedAt: c.at,
          instanceIds: c.req.instanceIds,
        }));
    },
    describeAlarms: async (names) => {
      this.count("CloudWatch.DescribeAlarms");
      return this.alarms.filter((a) => names.includes(a.name));
    },
    getInstanceMetric: async (q) => {
      this.count("CloudWatch.GetMetricData");
      this.metricReads.push(this.clock.now());
      if (this.metricError) throw new Error(this.metricError);
      const out: Record<string, number> = {};
      for (const id of q.instanceIds)
        if (this.connections[id] !== undefined) out[id] = this.connections[id] as number;
      return out;
    },
    getParameter: async () => null,
  };

  readonly writer: AwsWriter = {
    deregisterTargets: async (arn, targets) => {
      this.mutate("ELBv2.DeregisterTargets", `${arn} ${targets.map(targetLabel).join(",")}`);
      const g = this.groups.get(arn);
      for (const t of targets) {
        const cur = g?.get(t.id);
        // Like ELB: a target registered with a port override is only deregistered with that port.
        if (cur && cur.deregisteredAt === undefined && cur.port === t.port) {
          cur.deregisteredAt = this.clock.now();
          cur.registeredAt = undefined;
        }
      }
    },
    registerTargets: async (arn, targets: TargetRef[]) => {
      this.mutate("ELBv2.RegisterTargets", `${arn} ${targets.map(targetLabel).join(",")}`);
      const g = this.groups.get(arn) ?? new Map<string, FakeTarget>();
      for (const t of targets) {
        const inst = this.instances.get(t.id);
        if (inst?.state !== "running") throw new Error(`InvalidTarget: ${t.id} is not running`);
        g.set(t.id, { registeredAt: this.clock.now(), ...(t.port ? { port: t.port } : {}) });
      }
      this.groups.set(arn, g);
    },
    sendCommand: async (req) => {
      this.mutate(
        "SSM.SendCommand",
        `${req.instanceIds.length} ${req.instanceIds.join(",")} ${req.commands.join(";")}`,
      );
      if (req.instanceIds.length > 50) throw new Error("more than 50 instance ids");
      const refused = this.sendError(req);
      if (refused) throw new Error(refused);
      const id = `cmd-${String(++this.seq).padStart(6, "0")}`;
      const now = this.clock.now();
      const invocations: FakeInvocation[] = req.instanceIds.map((iid) => {
        const inst = this.instances.get(iid);
        const deliverable = inst?.state === "running" && inst.ssmOnline;
        const result = deliverable ? this.commandResult(req, iid) : "Undeliverable";
        if (deliverable && result === "Success") {
          const m = /deploy (\S+)/.exec(req.commands.join("\n"));
          if (m && inst) inst.version = m[1] as string;
          if (/rollback/.test(req.commands.join("\n")) && inst) inst.version = "v1";
        }
        const output = result === "Success" ? this.commandOutput(req, iid) : undefined;
        return {
          instanceId: iid,
          endsAt: now + this.commandDuration(req),
          visibleAt: now + Math.min(this.opts.visibleAfterMs, this.commandDuration(req)),
          result,
          stderr: "boom: exit 1\nsecond line",
          ...(output !== undefined ? { output } : {}),
        };
      });
      this.commands.set(id, { req, invocations, at: now });
      if (this.loseSendAnswer > 0) {
        // The command went through, but its answer is lost (a timeout after the SDK's retries).
        this.loseSendAnswer--;
        throw new Error("TimeoutError: socket hang up");
      }
      return { commandId: id };
    },
    cancelCommand: async (commandId, instanceIds) => {
      this.mutate("SSM.CancelCommand", `${commandId} ${(instanceIds ?? []).join(",")}`);
    },
    // The engine never takes the fleet lock (the CLI does): a call here is a bug the log shows.
    putParameter: async (p) => {
      this.mutate("SSM.PutParameter", p.name);
      return { version: 1 };
    },
    deleteParameter: async (name) => {
      this.mutate("SSM.DeleteParameter", name);
      return true;
    },
    suspendProcesses: async (group, processes) => {
      this.mutate("AutoScaling.SuspendProcesses", `${group} ${processes.join(",")}`);
      for (const p of processes) this.asgs.get(group)?.suspended.add(p);
    },
    resumeProcesses: async (group, processes) => {
      this.mutate("AutoScaling.ResumeProcesses", `${group} ${processes.join(",")}`);
      for (const p of processes) this.asgs.get(group)?.suspended.delete(p);
    },
  };

  /** Instance ids currently routed (registered and healthy) in every group they are in. */
  inService(): string[] {
    const out: string[] = [];
    for (const id of this.instances.keys()) {
      let ok = true;
      let any = false;
      for (const g of this.groups.values()) {
        const t = g.get(id);
        if (!t) continue;
        any = true;
        if (this.health(id, t)?.state !== "healthy") ok = false;
      }
      if (any && ok) out.push(id);
    }
    return out;
  }
}

/** `i-00001:8080`, or the bare id without a port override: what a mutation's detail records. */
function targetLabel(t: TargetRef): string {
  return t.port === undefined ? t.id : `${t.id}:${t.port}`;
}
