/**
 * ELBv2 in the model: load balancers, target groups and per-target health.
 *
 * Health is simulated analytically rather than by running every health check: a target in a steady
 * state (healthy and passing, unhealthy and failing) costs nothing. When the instance's check result
 * flips, the target's transition is scheduled at the check that completes the threshold:
 *
 *   interval 10 s, phase 3.2 s, healthy threshold 3, starts passing at t=41 s
 *   → checks at 43.2, 53.2, 63.2 → healthy at 63.2 s (unless the result flips again first).
 *
 * Each target has its own phase so a fleet's checks are not synchronized.
 */
import {
  SimApiError,
  type SimLoadBalancer,
  type SimTargetGroup,
  type SimTargetHealth,
  type SimTargetRef,
} from "./api.js";
import { type Core, healthPasses, hexId, type Inst, serviceUp } from "./core.js";
import type { TargetGroupSpec } from "./fleet-spec.js";

export type TargetState = SimTargetHealth["state"];

interface Lb {
  arn: string;
  name: string;
  type: "application" | "network";
  scheme: "internet-facing" | "internal";
  /** `load_balancing.cross_zone.enabled` of the load balancer. */
  crossZone: boolean;
  dnsName: string;
  createdAt: number;
  targetGroups: Tg[];
}

export interface Tg {
  arn: string;
  name: string;
  spec: TargetGroupSpec;
  lb: Lb;
  intervalMs: number;
  delayMs: number;
  cameras: boolean;
  targets: Map<string, Target>;
}

export interface Target {
  tg: Tg;
  inst: Inst;
  port: number;
  state: TargetState;
  reason: string | undefined;
  description: string | undefined;
  /** Offset of this target's checks within the interval. */
  phaseMs: number;
  firstCheckAt: number;
  /** Bumped on every state change or reschedule; stale scheduled transitions see a different value. */
  gen: number;
  /** The check result the pending transition is based on (null = none pending). */
  pendingPassing: boolean | null;
  /** NLB: a deregistered target that was healthy still gets new connections until then. */
  newConnectionsUntil: number;
}

const ALB_MAX_TARGETS = 1000;

interface ElbHooks {
  /** A target's state changed (including removal: `to` = "unused" with `removed`). */
  targetChanged(t: Target, from: TargetState, removed: boolean): void;
}

export class Elb {
  readonly lbs: Lb[] = [];
  readonly tgs: Tg[] = [];
  private readonly tgByArn = new Map<string, Tg>();
  /** Targets per instance across all groups. */
  readonly byInst = new Map<Inst, Target[]>();
  /** Non-draining registered targets, and how many of them are unhealthy (for alarms). */
  registered = 0;
  unhealthyRegistered = 0;

  constructor(
    private readonly core: Core,
    private readonly hooks: ElbHooks,
  ) {
    const { spec } = core;
    for (const lbSpec of spec.loadBalancers) {
      const kind = lbSpec.type === "application" ? "app" : "net";
      const lbId = hexId(`lb/${lbSpec.name}`, 16);
      const lb: Lb = {
        arn: `arn:aws:elasticloadbalancing:${spec.region}:${spec.account}:loadbalancer/${kind}/${lbSpec.name}/${lbId}`,
        name: lbSpec.name,
        type: lbSpec.type,
        scheme: lbSpec.scheme,
        crossZone: lbSpec.crossZone ?? lbSpec.type === "application",
        dnsName: `${lbSpec.name}-${lbId.slice(0, 10)}.elb.${spec.region}.amazonaws.com`,
        createdAt: core.now,
        targetGroups: [],
      };
      this.lbs.push(lb);
      for (const tgSpec of lbSpec.targetGroups) {
        const tg: Tg = {
          arn: `arn:aws:elasticloadbalancing:${spec.region}:${spec.account}:targetgroup/${tgSpec.name}/${hexId(`tg/${tgSpec.name}`, 16)}`,
          name: tgSpec.name,
          spec: tgSpec,
          lb,
          intervalMs: tgSpec.healthCheck.interval,
          delayMs: tgSpec.deregistrationDelay,
          cameras: tgSpec.cameras,
          targets: new Map(),
        };
        lb.targetGroups.push(tg);
        this.tgs.push(tg);
        this.tgByArn.set(tg.arn, tg);
      }
    }
  }

  /** Put an instance into a group already healthy (the fleet's state when the simulation starts). */
  seedHealthy(tg: Tg, inst: Inst): void {
    const t = this.newTarget(tg, inst, tg.spec.port);
    t.state = "healthy";
    t.reason = undefined;
    this.add(t);
  }

  tg(arn: string): Tg {
    const tg = this.tgByArn.get(arn);
    if (!tg) throw new SimApiError("TargetGroupNotFound", `Target groups '${arn}' not found`);
    return tg;
  }

  targetsOf(inst: Inst): Target[] {
    return this.byInst.get(inst) ?? [];
  }

  describeLoadBalancers(): SimLoadBalancer[] {
    return this.lbs.map((lb) => ({
      arn: lb.arn,
      name: lb.name,
      type: lb.type,
      dnsName: lb.dnsName,
      scheme: lb.scheme,
      azs: [...this.core.spec.azs],
      createdAt: lb.createdAt,
    }));
  }

  describeTargetGroup(tg: Tg): SimTargetGroup {
    const hc = tg.spec.healthCheck;
    return {
      arn: tg.arn,
      name: tg.name,
      protocol: tg.spec.protocol,
      port: tg.spec.port,
      loadBalancerArns: [tg.lb.arn],
      healthCheck: {
        intervalSeconds: hc.interval / 1000,
        healthyThreshold: hc.healthyThreshold,
        unhealthyThreshold: hc.unhealthyThreshold,
        ...(hc.path ? { path: hc.path } : {}),
      },
      targetType: "instance",
    };
  }

  /** Whether the group routes across zones: its own setting, else its load balancer's. */
  crossZone(tg: Tg): boolean {
    return tg.spec.crossZone ?? tg.lb.crossZone;
  }

  lbAttributes(lb: Lb): Record<string, string> {
    const a: Record<string, string> = {
      "load_balancing.cross_zone.enabled": String(lb.crossZone),
      "deletion_protection.enabled": "false",
    };
    if (lb.type === "application") a["idle_timeout.timeout_seconds"] = "60";
    return a;
  }

  attributes(tg: Tg): Record<string, string> {
    const a: Record<string, string> = {
      "deregistration_delay.timeout_seconds": String(tg.delayMs / 1000),
      "stickiness.enabled": "false",
      "load_balancing.cross_zone.enabled":
        tg.spec.crossZone === undefined ? "use_load_balancer_configuration" : String(tg.spec.crossZone),
    };
    if (tg.lb.type === "network") {
      a["deregistration_delay.connection_termination.enabled"] = String(tg.spec.connectionTermination);
      a["preserve_client_ip.enabled"] = "true";
      a["proxy_protocol_v2.enabled"] = "false";
    } else {
      a["slow_start.duration_seconds"] = "0";
      a["load_balancing.algorithm.type"] = "least_outstanding_requests";
    }
    return a;
  }

  describeTargetHealth(tg: Tg, refs: SimTargetRef[] | undefined): SimTargetHealth[] {
    if (!refs || refs.length === 0) return [...tg.targets.values()].map((t) => this.health(t));
    return refs.map((ref) => {
      const inst = this.core.byId.get(ref.id);
      if (!inst) throw new SimApiError("InvalidTarget", `The following targets are not valid: '${ref.id}'`);
      const port = ref.port ?? tg.spec.port;
      const t = tg.targets.get(key(ref.id, port));
      if (t) return this.health(t);
      return {
        id: ref.id,
        port,
        az: inst.az,
        state: "unused",
        reason: "Target.NotRegistered",
        description: "Target is not registered to the target group",
      };
    });
  }

  register(tg: Tg, refs: SimTargetRef[]): void {
    const bad = refs.filter((r) => this.core.byId.get(r.id)?.state !== "running").map((r) => r.id);
    if (bad.length > 0) {
      throw new SimApiError(
        "InvalidTarget",
        `The following targets are not in a running state and cannot be registered: '${bad.join("', '")}'`,
      );
    }
    const fresh = refs.filter((r) => !tg.targets.has(key(r.id, r.port ?? tg.spec.port))).length;
    if (tg.lb.type === "application" && tg.targets.size + fresh > ALB_MAX_TARGETS) {
      throw new SimApiError(
        "TooManyTargets",
        `You've reached the limit on the number of targets (${ALB_MAX_TARGETS})`,
      );
    }
    for (const ref of refs) {
      const inst = this.core.byId.get(ref.id) as Inst;
      const port = ref.port ?? tg.spec.port;
      const existing = tg.targets.get(key(ref.id, port));
      if (existing && existing.state !== "draining") continue; // registering twice is a no-op
      if (existing) {
        // Re-registering a draining target cancels the deregistration: health checks start over.
        this.startInitial(existing);
        continue;
      }
      const t = this.newTarget(tg, inst, port);
      this.add(t);
      this.startInitial(t);
    }
  }

  deregister(tg: Tg, refs: SimTargetRef[]): void {
    for (const ref of refs) {
      if (!this.core.byId.has(ref.id)) {
        throw new SimApiError("InvalidTarget", `The following targets are not valid: '${ref.id}'`);
      }
    }
    for (const ref of refs) {
      // A target registered with a port override only matches that port: deregistering without it
      // silently succeeds and leaves the target in service (as in AWS).
      const t = tg.targets.get(key(ref.id, ref.port ?? tg.spec.port));
      if (!t || t.state === "draining") continue;
      const lag = tg.spec.newConnectionsAfterDeregistration;
      t.newConnectionsUntil = t.state === "healthy" && lag > 0 ? this.core.now + lag : 0;
      this.setState(t, "draining", "Target.DeregistrationInProgress", "Target deregistration is in progress");
      this.scheduleRemoval(t);
      if (t.newConnectionsUntil > 0) this.core.at(t.newConnectionsUntil, () => this.core.hooks.touch(t.inst));
    }
  }

  /** The instance's check result may have changed: (re)schedule its targets' transitions. */
  reevaluate(inst: Inst): void {
    for (const t of this.targetsOf(inst)) this.reevaluateTarget(t);
  }

  /** Terminated instances are unusable at once and deregistered automatically after the delay. */
  instanceGone(inst: Inst): void {
    for (const t of [...this.targetsOf(inst)]) {
      if (t.state === "draining") continue;
      this.setState(t, "unused", "Target.InvalidState", "Target is in the terminated state");
      this.scheduleRemoval(t);
    }
  }

  private health(t: Target): SimTargetHealth {
    let reason = t.reason;
    let description = t.description;
    if (t.state === "initial") {
      const checking = this.core.now >= t.firstCheckAt;
      reason = checking ? "Elb.InitialHealthChecking" : "Elb.RegistrationInProgress";
      description = checking ? "Initial health checks in progress" : "Target registration is in progress";
    }
    return {
      id: t.inst.id,
      port: t.port,
      az: t.inst.az,
      state: t.state,
      ...(reason ? { reason } : {}),
      ...(description ? { description } : {}),
    };
  }

  private newTarget(tg: Tg, inst: Inst, port: number): Target {
    return {
      tg,
      inst,
      port,
      state: "initial",
      reason: "Elb.RegistrationInProgress",
      description: undefined,
      phaseMs: Math.floor(this.core.rng() * tg.intervalMs),
      firstCheckAt: this.core.now,
      gen: 0,
      pendingPassing: null,
      newConnectionsUntil: 0,
    };
  }

  private add(t: Target): void {
    t.tg.targets.set(key(t.inst.id, t.port), t);
    const list = this.byInst.get(t.inst);
    if (list) list.push(t);
    else this.byInst.set(t.inst, [t]);
    this.count(t.state, +1);
  }

  private scheduleRemoval(t: Target): void {
    const gen = t.gen;
    this.core.after(t.tg.delayMs, () => {
      if (t.gen !== gen) return; // re-registered meanwhile
      t.tg.targets.delete(key(t.inst.id, t.port));
      const list = this.byInst.get(t.inst) ?? [];
      list.splice(list.indexOf(t), 1);
      this.count(t.state, -1);
      const from = t.state;
      t.gen++;
      this.hooks.targetChanged(t, from, true);
    });
  }

  private startInitial(t: Target): void {
    t.firstCheckAt = this.nextCheck(t);
    this.setState(t, "initial", "Elb.RegistrationInProgress", undefined);
    this.reevaluateTarget(t);
  }

  /** First check strictly after now, at this target's phase. */
  private nextCheck(t: Target): number {
    const iv = t.tg.intervalMs;
    const k = Math.floor((this.core.now - t.phaseMs) / iv) + 1;
    return k * iv + t.phaseMs;
  }

  private reevaluateTarget(t: Target): void {
    if (t.state === "draining" || t.state === "unused") return;
    const passing = healthPasses(t.inst, this.core.now);
    const settled = (t.state === "healthy" && passing) || (t.state === "unhealthy" && !passing);
    if (settled) {
      if (t.pendingPassing !== null) {
        t.gen++;
        t.pendingPassing = null;
      }
      return;
    }
    if (t.pendingPassing === passing) return; // already counting towards this outcome
    const hc = t.tg.spec.healthCheck;
    const checks = passing ? hc.healthyThreshold : hc.unhealthyThreshold;
    const due = this.nextCheck(t) + (checks - 1) * t.tg.intervalMs;
    const gen = ++t.gen;
    t.pendingPassing = passing;
    this.core.at(due, () => {
      if (t.gen !== gen) return;
      t.pendingPassing = null;
      if (passing) this.setState(t, "healthy", undefined, undefined);
      else {
        const [reason, description] = this.failureReason(t);
        this.setState(t, "unhealthy", reason, description);
      }
    });
  }

  private failureReason(t: Target): [string, string] {
    const alb = t.tg.lb.type === "application";
    if (!serviceUp(t.inst) || this.core.now < t.inst.flapUntil) {
      return alb
        ? ["Target.Timeout", "Request timed out"]
        : ["Target.FailedHealthChecks", "Health checks failed"];
    }
    return alb
      ? ["Target.ResponseCodeMismatch", "Health checks failed with these codes: [503]"]
      : ["Target.FailedHealthChecks", "Health checks failed"];
  }

  private setState(
    t: Target,
    state: TargetState,
    reason: string | undefined,
    description: string | undefined,
  ): void {
    const from = t.state;
    t.gen++;
    t.pendingPassing = null;
    this.count(from, -1);
    t.state = state;
    t.reason = reason;
    t.description = description;
    this.count(state, +1);
    if (from !== state) this.hooks.targetChanged(t, from, false);
  }

  private count(state: TargetState, d: number): void {
    if (state === "draining" || state === "unused") return;
    this.registered += d;
    if (state === "unhealthy") this.unhealthyRegistered += d;
  }
}

function key(id: string, port: number): string {
  return `${id}:${port}`;
}
