import {
  type CapacityFloor,
  type Page,
  SimApiError,
  type SimCommand,
  type SimControlCommand,
  type SimInvocation,
  type SimParameter,
  type SimTargetHealth,
  type SimTargetRef,
  type SimWorld,
} from "../../../src/sim/model/api.js";

/**
 * A small in-memory SimWorld for wire tests: twelve instances in two AZs, one ALB target group,
 * simple paging, and the error codes the real model throws. It records calls so tests can see what
 * the wire layer parsed out of a request.
 */
export type FakeWorld = SimWorld & { calls: { method: string; args: unknown[] }[]; now: number };

export function fakeWorld(): FakeWorld {
  const region = "ap-northeast-1";
  const accountId = "123456789012";
  const instances = Array.from({ length: 12 }, (_, n) => `i-${String(n + 1).padStart(17, "0")}`).map(
    (id, n) => ({
      instanceId: id,
      imageId: "ami-12345678",
      instanceType: "c6i.large",
      az: n % 2 === 0 ? "ap-northeast-1a" : "ap-northeast-1c",
      stateCode: 16,
      stateName: "running",
      privateIp: `10.0.0.${n + 10}`,
      launchTime: Date.UTC(2026, 0, 1),
      tags: { Service: "camera-relay", Name: `relay-${n}`, "Odd & <Tag>": "a<b" },
    }),
  );
  const tgArn = `arn:aws:elasticloadbalancing:${region}:${accountId}:targetgroup/relay-http/0123456789abcdef`;
  const lbArn = `arn:aws:elasticloadbalancing:${region}:${accountId}:loadbalancer/app/relay-alb/0123456789abcdef`;
  const registered = new Map<string, SimTargetHealth>(
    instances.map((i) => [i.instanceId, { id: i.instanceId, port: 8080, az: i.az, state: "healthy" }]),
  );
  const params = new Map<string, SimParameter>();
  const commands: SimCommand[] = [];
  const invocations: SimInvocation[] = [];
  const suspended: string[] = [];
  const calls: { method: string; args: unknown[] }[] = [];

  function paged<T>(items: T[], size: number | undefined, token: string | undefined, code: string): Page<T> {
    const start = token ? Number(token.replace("t", "")) : 0;
    if (!Number.isInteger(start)) throw new SimApiError(code, "The token is not valid");
    const n = size ?? 1000;
    const out: Page<T> = { items: items.slice(start, start + n) };
    if (start + n < items.length) out.nextToken = `t${start + n}`;
    return out;
  }
  function tg(arn: string) {
    if (arn !== tgArn) throw new SimApiError("TargetGroupNotFound", `Target groups '${arn}' not found`);
  }
  function record(method: string, ...args: unknown[]) {
    calls.push({ method, args });
  }

  const world: FakeWorld = {
    region,
    accountId,
    calls,
    now: 0,
    describeInstances(q) {
      record("describeInstances", q);
      let list = instances;
      if (q.instanceIds) list = list.filter((i) => q.instanceIds?.includes(i.instanceId));
      for (const f of q.filters ?? []) {
        if (f.name === "availability-zone") list = list.filter((i) => f.values.includes(i.az));
        else if (f.name.startsWith("tag:")) {
          const k = f.name.slice(4);
          list = list.filter((i) => f.values.includes((i.tags as Record<string, string>)[k] ?? ""));
        }
      }
      return paged(list, q.maxResults, q.nextToken, "InvalidNextToken");
    },
    describeAvailabilityZones: () => [
      { name: "ap-northeast-1a", id: "apne1-az4", state: "available" as const },
      { name: "ap-northeast-1c", id: "apne1-az1", state: "available" as const },
    ],
    describeLoadBalancers(q) {
      record("describeLoadBalancers", q);
      return paged(
        [
          {
            arn: lbArn,
            name: "relay-alb",
            type: "application" as const,
            dnsName: "relay-alb-1.elb.amazonaws.com",
            scheme: "internal" as const,
            azs: ["ap-northeast-1a", "ap-northeast-1c"],
            createdAt: Date.UTC(2025, 5, 1),
          },
        ],
        q.pageSize,
        q.marker,
        "ValidationError",
      );
    },
    describeTargetGroups(q) {
      record("describeTargetGroups", q);
      const groups = [0, 1, 2].map((n) => ({
        arn: n === 0 ? tgArn : `${tgArn}${n}`,
        name: n === 0 ? "relay-http" : `relay-http-${n}`,
        protocol: "HTTP",
        port: 8080,
        loadBalancerArns: [lbArn],
        healthCheck: { intervalSeconds: 10, healthyThreshold: 3, unhealthyThreshold: 2, path: "/healthz" },
        targetType: "instance" as const,
      }));
      return paged(groups, q.pageSize, q.marker, "ValidationError");
    },
    describeTargetGroupAttributes(arn) {
      tg(arn);
      return { "deregistration_delay.timeout_seconds": "30", "stickiness.enabled": "false" };
    },
    describeLoadBalancerAttributes() {
      return { "load_balancing.cross_zone.enabled": "false" };
    },
    describeTargetHealth(arn, targets?: SimTargetRef[]) {
      record("describeTargetHealth", arn, targets);
      tg(arn);
      const all = [...registered.values()];
      return targets
        ? targets.map(
            (t) =>
              registered.get(t.id) ?? {
                id: t.id,
                port: t.port ?? 8080,
                az: "ap-northeast-1a",
                state: "unused" as const,
                reason: "Target.NotRegistered",
                description: "Target is not registered to the target group",
              },
          )
        : all;
    },
    registerTargets(arn, targets) {
      record("registerTargets", arn, targets);
      tg(arn);
      for (const t of targets) {
        const inst = instances.find((i) => i.instanceId === t.id);
        if (!inst) throw new SimApiError("InvalidTarget", `The following targets are not valid: '${t.id}'`);
        registered.set(t.id, {
          id: t.id,
          port: t.port ?? 8080,
          az: inst.az,
          state: "initial",
          reason: "Elb.RegistrationInProgress",
          description: "Target registration is in progress",
        });
      }
    },
    deregisterTargets(arn, targets) {
      record("deregisterTargets", arn, targets);
      tg(arn);
      for (const t of targets) {
        const h = registered.get(t.id);
        if (h) Object.assign(h, { state: "draining", reason: "Target.DeregistrationInProgress" });
      }
    },
    sendCommand(input) {
      record("sendCommand", input);
      const ids = input.instanceIds ?? instances.map((i) => i.instanceId);
      const commandId = `00000000-0000-0000-0000-00000000000${commands.length}`;
      const cmd: SimCommand = {
        commandId,
        documentName: input.documentName,
        comment: input.comment ?? "",
        parameters: input.parameters ?? {},
        instanceIds: ids,
        requestedAt: world.now,
        expiresAfter: world.now + 3_600_000,
        status: "Pending",
        statusDetails: "Pending",
        maxConcurrency: input.maxConcurrency ?? "50",
        maxErrors: input.maxErrors ?? "0",
        targetCount: ids.length,
        completedCount: 0,
        errorCount: 0,
        deliveryTimedOutCount: 0,
        timeoutSeconds: input.timeoutSeconds ?? 3600,
      };
      commands.push(cmd);
      for (const id of ids) {
        invocations.push({
          commandId,
          instanceId: id,
          documentName: input.documentName,
          comment: cmd.comment,
          requestedAt: world.now,
          status: "Success",
          statusDetails: "Success",
          responseCode: 0,
          executionStartedAt: world.now,
          executionEndedAt: world.now + 1500,
          stdout: `${"x".repeat(30_000)}`,
          stderr: "",
        });
      }
      return cmd;
    },
    listCommands(q) {
      return paged(
        commands.filter((c) => !q.commandId || c.commandId === q.commandId),
        q.maxResults,
        q.nextToken,
        "InvalidNextToken",
      );
    },
    listCommandInvocations(q) {
      record("listCommandInvocations", q);
      return paged(
        invocations.filter((i) => !q.commandId || i.commandId === q.commandId),
        q.maxResults,
        q.nextToken,
        "InvalidNextToken",
      );
    },
    getCommandInvocation(commandId, instanceId) {
      const inv = invocations.find((i) => i.commandId === commandId && i.instanceId === instanceId);
      if (!inv) throw new SimApiError("InvocationDoesNotExist", "");
      return inv;
    },
    cancelCommand(commandId, instanceIds) {
      record("cancelCommand", commandId, instanceIds);
      if (!commands.some((c) => c.commandId === commandId)) throw new SimApiError("InvalidCommandId", "");
    },
    describeInstanceInformation(q) {
      record("describeInstanceInformation", q);
      const list = instances
        .filter((i) => !q.instanceIds || q.instanceIds.includes(i.instanceId))
        .map((i) => ({
          instanceId: i.instanceId,
          pingStatus: "Online" as const,
          lastPingAt: world.now,
          platformType: "Linux" as const,
          agentVersion: "3.3.0.0",
          ipAddress: i.privateIp,
        }));
      return paged(list, q.maxResults, q.nextToken, "InvalidNextToken");
    },
    putParameter(p) {
      const old = params.get(p.name);
      if (old && !p.overwrite)
        throw new SimApiError("ParameterAlreadyExists", "The parameter already exists.");
      const version = (old?.version ?? 0) + 1;
      params.set(p.name, {
        name: p.name,
        value: p.value,
        type: (p.type ?? "String") as SimParameter["type"],
        version,
        lastModifiedAt: world.now,
      });
      return { version };
    },
    getParameter(name) {
      const p = params.get(name);
      if (!p) throw new SimApiError("ParameterNotFound", "");
      return p;
    },
    getParameterHistory(q) {
      const p = params.get(q.name);
      if (!p) throw new SimApiError("ParameterNotFound", "");
      return { items: [p] };
    },
    deleteParameter(name) {
      if (!params.delete(name)) throw new SimApiError("ParameterNotFound", "");
    },
    describeAlarms(q) {
      record("describeAlarms", q);
      return paged(
        [
          {
            name: "relay-camera-disconnects",
            arn: `arn:aws:cloudwatch:${region}:${accountId}:alarm:relay-camera-disconnects`,
            state: "OK" as const,
            reason: "Threshold not crossed",
            updatedAt: world.now,
            namespace: "CameraRelay",
            metricName: "ConnectedCameras",
            threshold: 0.99,
            comparison: "LessThanThreshold",
          },
        ],
        q.maxRecords,
        q.nextToken,
        "InvalidNextToken",
      );
    },
    getMetricData(q) {
      record("getMetricData", q);
      return q.queries.map((m) => ({
        id: m.id,
        label: m.metricName,
        timestamps: [q.end - 60_000, q.end - 120_000],
        values: [42, 41],
        statusCode: "Complete" as const,
      }));
    },
    describeAutoScalingGroups(q) {
      record("describeAutoScalingGroups", q);
      return paged(
        [
          {
            name: "camera-relay-a",
            arn: `arn:aws:autoscaling:${region}:${accountId}:autoScalingGroup:1:autoScalingGroupName/camera-relay-a`,
            minSize: 1,
            maxSize: 10,
            desiredCapacity: 5,
            azs: ["ap-northeast-1a"],
            targetGroupArns: [tgArn],
            instances: instances.map((i) => ({
              instanceId: i.instanceId,
              az: i.az,
              lifecycleState: "InService",
              healthStatus: "Healthy",
            })),
            suspendedProcesses: [...suspended],
            createdAt: Date.UTC(2025, 0, 1),
          },
        ],
        q.maxRecords,
        q.nextToken,
        "InvalidNextToken",
      );
    },
    describeAutoScalingInstances(q) {
      record("describeAutoScalingInstances", q);
      return paged(
        instances
          .filter((i) => !q.instanceIds || q.instanceIds.includes(i.instanceId))
          .map((i) => ({
            instanceId: i.instanceId,
            groupName: "camera-relay-a",
            az: i.az,
            lifecycleState: "InService",
            healthStatus: "HEALTHY",
          })),
        q.maxRecords,
        q.nextToken,
        "InvalidNextToken",
      );
    },
    suspendProcesses(group, processes) {
      record("suspendProcesses", group, processes);
      for (const p of processes ?? ["Launch", "Terminate"]) if (!suspended.includes(p)) suspended.push(p);
    },
    resumeProcesses(group, processes) {
      record("resumeProcesses", group, processes);
      for (const p of processes ?? [...suspended]) suspended.splice(suspended.indexOf(p), 1);
    },
    getCallerIdentity: () => ({
      account: accountId,
      arn: `arn:aws:iam::${accountId}:user/simulator`,
      userId: "AIDASIMULATOR",
    }),
    advanceTo(now: number) {
      world.now = Math.max(world.now, now);
    },
    control(cmd: SimControlCommand) {
      record("control", cmd);
      if (cmd.op === "terminateInstance" && !instances.some((i) => i.instanceId === cmd.instanceId)) {
        throw new SimApiError("InvalidInstanceID.NotFound", `no instance ${cmd.instanceId}`);
      }
    },
    setCapacityFloor(floor: CapacityFloor | null) {
      record("setCapacityFloor", floor);
    },
    state: () => ({
      now: world.now,
      instances: [],
      targetGroups: [],
      autoScalingGroups: [],
      executions: [],
      duplicates: [],
      intrinsic: [],
      drainThreshold: 0,
    }),
    setDrainThreshold() {},
    metrics: () => ({
      now: world.now,
      cameras: {
        total: 0,
        connected: 0,
        minConnected: 0,
        refused: 0,
        disconnectSeconds: { p50: 0, p99: 0, max: 0 },
        reconnectsPerCamera: 0,
        serversAtLimit: 0,
        cut: 0,
      },
      maxLoadRatio: 0,
      invariantViolations: [],
      floorDipsFromFaults: [],
      series: [],
    }),
  };
  return world;
}
