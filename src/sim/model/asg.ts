/** Auto Scaling groups in the model: membership and suspended processes (no scaling activity). */

import { isScalingProcess, SCALING_PROCESSES } from "../../util/auto-scaling.js";
import { SimApiError, type SimAutoScalingGroup } from "./api.js";
import { type Core, hexId, type Inst } from "./core.js";

interface Group {
  name: string;
  arn: string;
  azs: string[];
  members: Inst[];
  suspended: Set<string>;
  targetGroupArns: string[];
  createdAt: number;
}

export class AutoScaling {
  readonly groups: Group[] = [];
  private readonly byName = new Map<string, Group>();

  constructor(core: Core, targetGroupArnsOf: (inst: Inst) => string[]) {
    const { spec } = core;
    for (const inst of core.instances) {
      if (!inst.asg) continue;
      let g = this.byName.get(inst.asg);
      if (!g) {
        const id = hexId(`asg/${inst.asg}`, 32);
        g = {
          name: inst.asg,
          arn: `arn:aws:autoscaling:${spec.region}:${spec.account}:autoScalingGroup:${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}:autoScalingGroupName/${inst.asg}`,
          azs: [],
          members: [],
          suspended: new Set(),
          targetGroupArns: targetGroupArnsOf(inst),
          createdAt: core.now,
        };
        this.byName.set(g.name, g);
        this.groups.push(g);
      }
      if (!g.azs.includes(inst.az)) g.azs.push(inst.az);
      g.members.push(inst);
    }
  }

  describe(names: string[] | undefined): SimAutoScalingGroup[] {
    const groups =
      names && names.length > 0 ? this.groups.filter((g) => names.includes(g.name)) : this.groups;
    return groups.map((g) => {
      const live = g.members.filter((i) => i.state !== "terminated");
      return {
        name: g.name,
        arn: g.arn,
        minSize: 0,
        maxSize: g.members.length * 2,
        desiredCapacity: g.members.length,
        azs: [...g.azs],
        targetGroupArns: [...g.targetGroupArns],
        instances: live.map((i) => ({ instanceId: i.id, az: i.az, ...this.lifecycle(i) })),
        suspendedProcesses: [...g.suspended].sort(),
        createdAt: g.createdAt,
      };
    });
  }

  describeInstances(ids: string[] | undefined): {
    instanceId: string;
    groupName: string;
    az: string;
    lifecycleState: string;
    healthStatus: string;
  }[] {
    const out = [];
    const wanted = ids && ids.length > 0 ? new Set(ids) : undefined;
    for (const g of this.groups) {
      for (const i of g.members) {
        if (i.state === "terminated" || (wanted && !wanted.has(i.id))) continue;
        out.push({ instanceId: i.id, groupName: g.name, az: i.az, ...this.lifecycle(i) });
      }
    }
    return out;
  }

  suspend(name: string, processes: string[] | undefined): void {
    const g = this.group(name);
    for (const p of this.processes(processes)) g.suspended.add(p);
  }

  resume(name: string, processes: string[] | undefined): void {
    const g = this.group(name);
    for (const p of this.processes(processes)) g.suspended.delete(p);
  }

  summary(): { name: string; suspendedProcesses: string[] }[] {
    return this.groups.map((g) => ({ name: g.name, suspendedProcesses: [...g.suspended].sort() }));
  }

  private group(name: string): Group {
    const g = this.byName.get(name);
    if (!g)
      throw new SimApiError(
        "ValidationError",
        `AutoScalingGroup name not found - AutoScalingGroup '${name}' not found`,
      );
    return g;
  }

  private processes(list: string[] | undefined): string[] {
    if (!list || list.length === 0) return [...SCALING_PROCESSES];
    for (const p of list) {
      if (!isScalingProcess(p))
        throw new SimApiError("ValidationError", `Process '${p}' is not a valid scaling process`);
    }
    return list;
  }

  private lifecycle(i: Inst): { lifecycleState: string; healthStatus: string } {
    if (i.state === "shutting-down") return { lifecycleState: "Terminating", healthStatus: "Unhealthy" };
    return { lifecycleState: "InService", healthStatus: "Healthy" };
  }
}
