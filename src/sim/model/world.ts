/**
 * `createWorld`: the simulator's fleet model behind the `SimWorld` interface (./api.ts). It wires the
 * concerns together — instances, target health, cameras, commands, metrics and alarms, invariants,
 * Auto Scaling, parameters — and runs them on one event queue in simulated time.
 *
 * Every API method whose answer depends on time first advances the model to the clock's now, so
 * answers are never staler than the clock, whether or not a ticker calls `advanceTo`.
 */
import type { Clock } from "../../util/clock.js";
import {
  type CapacityFloor,
  SimApiError,
  type SimMetricsSnapshot,
  type SimStateSnapshot,
  type SimWorld,
} from "./api.js";
import { AutoScaling } from "./asg.js";
import { Cameras } from "./cameras.js";
import { Commands } from "./commands.js";
import { Core, type Inst, serviceUp } from "./core.js";
import { describeLoadBalancers, describeTargetGroups } from "./elb-api.js";
import { createControl } from "./faults.js";
import { camerasRoutePerZone, type FleetSpecFile } from "./fleet-spec.js";
import {
  availabilityZones,
  buildInstances,
  describeInstanceInformation,
  describeInstances,
} from "./instances.js";
import { IntrinsicTimes } from "./intrinsic.js";
import { Invariants } from "./invariants.js";
import { Alarms, Metrics } from "./metrics-alarms.js";
import { page, pageSize } from "./paging.js";
import { Parameters } from "./params.js";
import { Series } from "./series.js";
import { Elb, type Target, type TargetState, type Tg } from "./target-health.js";

interface WorldOptions {
  clock: Clock;
  /** Seed for every random choice (phases, durations, failures, jitter). Default 1. */
  seed?: number;
}

/**
 * A removal is not blamed for a server lost to a fault after the driver's last read of the group
 * (it could not have seen it), but only within this long: a driver must act on a view of the group
 * at most this old. Generous, because a compressed clock turns real delays into simulated minutes.
 */
const UNSEEN_MS = 10 * 60_000;

/** How long a terminated instance shows `shutting-down` before `terminated`. */
const SHUTDOWN_MS = 20_000;

export function createWorld(spec: FleetSpecFile, o: WorldOptions): SimWorld {
  const clock = o.clock;
  const core = new Core(spec, clock.now(), o.seed ?? 1);
  buildInstances(core);
  const n = core.instances.length;
  const invariants = new Invariants();
  const cameras = new Cameras(core, n, camerasRoutePerZone(spec));
  const intrinsic = new IntrinsicTimes(core, n);
  cameras.onLeave = (i, remaining) => intrinsic.connectionsLeft(core.instances[i] as Inst, remaining);
  const inServiceByAz = new Map<string, number>(spec.azs.map((az) => [az, 0]));
  const lostByAz = new Map<string, number>(spec.azs.map((az) => [az, 0]));
  /** When the driver last read each target group's health (DescribeTargetHealth), by ARN. */
  const healthReadAt = new Map<string, number>();
  const counts = { inService: 0, draining: 0 };
  let terminatedCount = 0;

  const elb = new Elb(core, {
    targetChanged(t: Target, from: TargetState, removed: boolean) {
      if (!removed && t.state === "draining" && from !== "draining") {
        // A drain ends at the latest when the camera group's delay does (for an instance without
        // one, the first group's): other groups' deregistrations only open the drain.
        const hasCameraTg = (homeTgs.get(t.inst.group) ?? []).some((g) => g.cameras);
        const delay = t.tg.cameras || !hasCameraTg ? t.tg.delayMs : undefined;
        intrinsic.drainStarted(t.inst, cameras.connections(t.inst.idx), delay);
      }
      if (t.tg.cameras) {
        const nlb = t.tg.lb.type === "network";
        // ALB closes what is left at the end of the delay; an NLB only with connection termination on.
        if (removed && from === "draining" && (!nlb || t.tg.spec.connectionTermination))
          cameras.dropAll(t.inst.idx);
        // An NLB resets the flows of a target that turns unhealthy.
        if (!removed && nlb && t.state === "unhealthy") cameras.dropAll(t.inst.idx);
      }
      touch(t.inst);
    },
  });
  /** The target groups each instance is meant to be in (by its group), for "in service". */
  const homeTgs = new Map<string, Tg[]>(
    spec.instanceGroups.map((g) => [
      g.name,
      elb.tgs.filter((tg) => !tg.spec.instanceGroups || tg.spec.instanceGroups.includes(g.name)),
    ]),
  );

  function touch(inst: Inst): void {
    const targets = elb.targetsOf(inst);
    const home = homeTgs.get(inst.group) ?? [];
    const inService =
      inst.state === "running" &&
      home.length > 0 &&
      home.every((tg) => targets.some((t) => t.tg === tg && t.state === "healthy"));
    const draining = targets.some((t) => t.state === "draining");
    if (inService !== inst.inService) {
      inst.inService = inService;
      const d = inService ? 1 : -1;
      counts.inService += d;
      inServiceByAz.set(inst.az, (inServiceByAz.get(inst.az) ?? 0) + d);
      if (inService) {
        intrinsic.backInService(inst);
        inst.lostToFault = false;
      }
    }
    const excused = inst.lostToFault && !inService;
    if (excused !== inst.excused) {
      inst.excused = excused;
      if (excused) inst.lostAt = core.now;
      lostByAz.set(inst.az, (lostByAz.get(inst.az) ?? 0) + (excused ? 1 : -1));
    }
    if (draining !== inst.draining) {
      inst.draining = draining;
      counts.draining += draining ? 1 : -1;
    }
    const accepting =
      serviceUp(inst) &&
      inst.shedRate === 0 &&
      targets.some(
        (t) =>
          t.tg.cameras &&
          (t.state === "healthy" || (t.state === "draining" && core.now < t.newConnectionsUntil)),
      );
    cameras.setAccepting(inst.idx, accepting);
    const now = core.now;
    const conns = cameras.connections(inst.idx);
    invariants.check(
      now,
      `stopped:${inst.id}`,
      "no-connections-on-stopped-server",
      serviceUp(inst) || conns === 0,
      () => `${inst.id} has ${conns} connections while its service is down`,
    );
    invariants.check(
      now,
      `limit:${inst.id}`,
      "connection-limit",
      conns <= cameras.limit,
      () => `${inst.id} has ${conns} connections, limit ${cameras.limit}`,
    );
    invariants.checkCapacity(now, inServiceByAz, lostByAz);
  }
  core.hooks.touch = touch;

  function dropService(inst: Inst): void {
    inst.shedRate = 0;
    cameras.stopShed(inst.idx);
    cameras.dropAll(inst.idx);
  }

  const commands = new Commands(core, {
    connections: (inst) => cameras.connections(inst.idx),
    holdService(inst) {
      // A restart after a failed one takes over the crash's hold instead of adding one.
      if (inst.crashed) inst.crashed = false;
      else inst.serviceHolds++;
      if (inst.serviceHolds === 1) {
        // A restart on a server taken out of rotation (a deploy after its drain) cuts the cameras
        // still on it, like a close command; on a server in service it is an outage, not a drain's cut.
        const left = inst.inService ? 0 : cameras.connections(inst.idx);
        dropService(inst);
        cameras.cut += left;
      }
      elb.reevaluate(inst);
      touch(inst);
    },
    releaseService(inst, crashed) {
      if (crashed && !inst.crashed)
        inst.crashed = true; // a failed restart leaves the service down
      else inst.serviceHolds--;
      if (inst.serviceHolds === 0) {
        // The process comes back running whatever is installed now.
        inst.runningVersion = inst.installedVersion;
        inst.runningBad = inst.installedBad;
      }
      elb.reevaluate(inst);
      touch(inst);
    },
    install(inst, version, bad) {
      inst.previousVersion = inst.installedVersion;
      inst.installedVersion = version;
      inst.installedBad = bad;
    },
    drew: (inst, step, ms) => intrinsic.commandDrawn(inst, step, ms),
    shed(inst, rate) {
      if (!serviceUp(inst)) return;
      intrinsic.drainStarted(inst, cameras.connections(inst.idx));
      inst.shedRate = rate;
      cameras.startShed(inst.idx, rate);
      touch(inst);
    },
    // drain.closeCommand: the stragglers are cut and reconnect elsewhere at once.
    closeConnections(inst) {
      cameras.cut += cameras.dropAll(inst.idx);
      touch(inst);
    },
  });

  // The fleet starts steady: every instance registered and healthy in its groups, cameras connected.
  for (const inst of core.instances) {
    for (const tg of homeTgs.get(inst.group) ?? []) elb.seedHealthy(tg, inst);
    touch(inst);
  }
  cameras.setSlow(spec.faults.slowDrainShare);
  cameras.connectAll();
  // Load over time: each step ramps the cameras online, a second at a time, to its load.
  const base = spec.cameras.total;
  for (const step of spec.cameras.schedule) {
    core.after(step.at, () => {
      const from = cameras.online;
      const to = base * step.load;
      const seconds = Math.max(1, Math.round(step.over / 1000));
      for (let k = 1; k <= seconds; k++)
        core.after(k * 1000 - 1000, () => cameras.setOnline(from + ((to - from) * k) / seconds));
    });
  }

  const metricsRing = new Metrics(core, {
    connections: (i) => cameras.connections(i),
    connected: () => cameras.connected,
  });
  const alarms = new Alarms(core);
  const series = new Series();
  const asg = new AutoScaling(core, (inst) => (homeTgs.get(inst.group) ?? []).map((tg) => tg.arn));
  const params = new Parameters(`arn:aws:ssm:${spec.region}:${spec.account}:parameter`);

  // Per-second sampler: time series, alarm inputs, and the counting invariant.
  const everySecond = () => {
    const total = cameras.online;
    const registered = elb.registered;
    alarms.accumulate({
      connectedShare: total === 0 ? 1 : cameras.connected / total,
      connectedCameras: cameras.connected,
      disconnectedCameras: total - cameras.connected,
      unhealthyRegisteredShare: registered === 0 ? 0 : elb.unhealthyRegistered / registered,
      inServiceShare: n === 0 ? 0 : counts.inService / n,
      refusedPerMinute: refusedPerMinute(),
    });
    const running = core.instances.length - terminatedCount;
    series.record({
      t: core.now,
      connected: cameras.connected,
      inService: counts.inService,
      draining: counts.draining,
      outOfService: Math.max(0, running - counts.inService - counts.draining),
      maxLoadRatio: Math.round(cameras.currentMaxLoad() * 1000) / 1000,
    });
    const members = cameras.countMembers();
    invariants.check(
      core.now,
      "camera-count",
      "no-camera-counted-twice",
      members === cameras.connected,
      () => `${members} connections on servers but ${cameras.connected} cameras connected`,
    );
    core.after(1000, everySecond);
  };
  let refusedMark = { at: core.now, refused: 0, rate: 0 };
  function refusedPerMinute(): number {
    if (core.now - refusedMark.at >= 60_000) {
      refusedMark = { at: core.now, refused: cameras.refused, rate: cameras.refused - refusedMark.refused };
    }
    return refusedMark.rate;
  }
  everySecond();
  const sampleMetrics = () => {
    metricsRing.sample();
    core.after(spec.metrics.sampleEvery, sampleMetrics);
  };
  sampleMetrics();
  alarms.start();

  function terminate(inst: Inst): void {
    if (inst.state !== "running") return;
    inst.state = "shutting-down";
    dropService(inst);
    commands.instanceGone(inst);
    elb.instanceGone(inst);
    touch(inst);
    core.after(SHUTDOWN_MS, () => {
      inst.state = "terminated";
      terminatedCount++;
      touch(inst);
    });
  }

  const control = createControl(core, { elb, cameras, commands, terminate });
  for (const { at, ...fault } of spec.faults.scheduled) core.after(at, () => control(fault));

  function advanceTo(now: number): void {
    if (now <= core.now) return;
    const events = core.events;
    for (;;) {
      const te = events.peekTime();
      const tc = cameras.nextDue();
      const t = Math.min(te, tc);
      if (t > now) break;
      core.now = t;
      if (te <= tc) events.pop().run();
      else cameras.runNext();
    }
    core.now = now;
  }
  /** Bring the model up to the clock before answering. */
  const sync = () => advanceTo(clock.now());

  const world: SimWorld = {
    accountId: spec.account,
    region: spec.region,

    describeInstances(q) {
      sync();
      return describeInstances(core, q);
    },
    describeAvailabilityZones: () => availabilityZones(core),

    describeLoadBalancers(q) {
      sync();
      return describeLoadBalancers(elb, q);
    },
    describeTargetGroups(q) {
      sync();
      return describeTargetGroups(elb, q);
    },
    describeTargetGroupAttributes(arn) {
      return elb.attributes(elb.tg(arn));
    },
    describeLoadBalancerAttributes(arn) {
      const lb = elb.lbs.find((x) => x.arn === arn);
      if (!lb) throw new SimApiError("LoadBalancerNotFound", `Load balancer '${arn}' not found`);
      return elb.lbAttributes(lb);
    },
    describeTargetHealth(arn, targets) {
      sync();
      healthReadAt.set(arn, core.now);
      return elb.describeTargetHealth(elb.tg(arn), targets);
    },
    registerTargets(arn, targets) {
      sync();
      elb.register(elb.tg(arn), targets);
      for (const t of targets) {
        const inst = core.byId.get(t.id);
        if (inst) intrinsic.registered(inst);
      }
    },
    deregisterTargets(arn, targets) {
      sync();
      const before = targets.map((t) => core.byId.get(t.id)).filter((i) => i?.inService) as Inst[];
      elb.deregister(elb.tg(arn), targets);
      const removed = before.filter((i) => !i.inService);
      if (removed.length === 0) return;
      // Servers lost to faults since the driver last read this group (within UNSEEN_MS), which it
      // could not have seen yet: not held against this removal.
      const since = Math.max(healthReadAt.get(arn) ?? Number.NEGATIVE_INFINITY, core.now - UNSEEN_MS);
      const unseen = new Map<string, number>();
      for (const i of core.instances)
        if (i.excused && i.lostAt > since) unseen.set(i.az, (unseen.get(i.az) ?? 0) + 1);
      for (const inst of removed)
        invariants.checkRemoval(core.now, inst.id, inst.az, inServiceByAz, lostByAz, unseen);
    },

    sendCommand(input) {
      sync();
      return commands.send(input);
    },
    listCommands(q) {
      sync();
      return commands.list(q);
    },
    listCommandInvocations(q) {
      sync();
      return commands.listInvocations(q);
    },
    getCommandInvocation(commandId, instanceId) {
      sync();
      return commands.getInvocation(commandId, instanceId);
    },
    cancelCommand(commandId, instanceIds) {
      sync();
      commands.cancel(commandId, instanceIds);
    },
    describeInstanceInformation(q) {
      sync();
      return describeInstanceInformation(core, q);
    },
    putParameter(p) {
      sync();
      return params.put(p, core.now);
    },
    getParameter: (name) => params.get(name),
    getParameterHistory(q) {
      const size = pageSize(q.maxResults, 1, 50, 50, "ValidationException");
      return page(params.history(q.name), size, q.nextToken, "InvalidNextToken");
    },
    deleteParameter: (name) => params.delete(name),

    describeAlarms(q) {
      sync();
      const size = pageSize(q.maxRecords, 1, 100, 50, "InvalidParameterValue");
      let list = alarms.list();
      if (q.alarmNames?.length) list = list.filter((a) => q.alarmNames?.includes(a.name));
      if (q.stateValue) list = list.filter((a) => a.state === q.stateValue);
      return page(list, size, q.nextToken, "InvalidNextToken");
    },
    getMetricData(q) {
      sync();
      return metricsRing.getMetricData(q);
    },

    describeAutoScalingGroups(q) {
      sync();
      const size = pageSize(q.maxRecords, 1, 100, 50, "ValidationError");
      return page(asg.describe(q.names), size, q.nextToken, "InvalidNextToken");
    },
    describeAutoScalingInstances(q) {
      sync();
      const size = pageSize(q.maxRecords, 1, 50, 50, "ValidationError");
      if ((q.instanceIds?.length ?? 0) > 50) {
        throw new SimApiError("ValidationError", "InstanceIds: at most 50 instance ids per call");
      }
      return page(asg.describeInstances(q.instanceIds), size, q.nextToken, "InvalidNextToken");
    },
    suspendProcesses: (group, processes) => asg.suspend(group, processes),
    resumeProcesses: (group, processes) => asg.resume(group, processes),

    getCallerIdentity: () => ({
      account: spec.account,
      arn: `arn:aws:iam::${spec.account}:user/rollwave-sim`,
      userId: "AIDASIMULATOR00000001",
    }),

    advanceTo,
    control(cmd) {
      sync();
      control(cmd);
    },
    setCapacityFloor(floor: CapacityFloor | null) {
      sync();
      invariants.floor = floor;
      invariants.checkCapacity(core.now, inServiceByAz, lostByAz);
    },
    setDrainThreshold(connections: number) {
      intrinsic.setDrainThreshold(connections);
    },
    state(): SimStateSnapshot {
      sync();
      return {
        now: core.now,
        instances: core.instances.map((inst) => ({
          id: inst.id,
          az: inst.az,
          state: inst.state,
          version: inst.installedVersion,
          ssm: inst.ssmOnline && inst.state === "running" ? "Online" : "ConnectionLost",
          serviceUp: serviceUp(inst),
          connections: cameras.connections(inst.idx),
          targets: Object.fromEntries(elb.targetsOf(inst).map((t) => [t.tg.name, t.state])),
        })),
        targetGroups: elb.tgs.map((tg) => ({
          arn: tg.arn,
          name: tg.name,
          type: tg.lb.type,
          targets: tg.targets.size,
        })),
        autoScalingGroups: asg.summary(),
        executions: commands.executions(),
        duplicates: commands.duplicates(),
        intrinsic: intrinsic.snapshot(core.instances),
        drainThreshold: intrinsic.drainThreshold,
      };
    },
    metrics(): SimMetricsSnapshot {
      sync();
      return {
        now: core.now,
        cameras: cameras.stats(),
        maxLoadRatio: Math.round(cameras.maxLoadRatio * 1000) / 1000,
        invariantViolations: [...invariants.violations],
        floorDipsFromFaults: [...invariants.faultDips],
        series: series.samples(),
      };
    },
  };
  return world;
}
