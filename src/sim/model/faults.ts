/**
 * Model-level faults (`SimWorld.control` and the spec's `faults.scheduled`). `instanceId: "random"`
 * picks a running instance with the world's seeded RNG, so a scheduled "terminate a random instance
 * at 15m" hits the same instance on every replay of a seed.
 */
import { SimApiError, type SimControlCommand } from "./api.js";
import type { Cameras } from "./cameras.js";
import type { Commands } from "./commands.js";
import type { Core, Inst } from "./core.js";
import type { Elb } from "./target-health.js";

export function createControl(
  core: Core,
  parts: { elb: Elb; cameras: Cameras; commands: Commands; terminate(inst: Inst): void },
): (cmd: SimControlCommand) => void {
  const { elb, cameras, commands } = parts;

  function instanceFor(id: string): Inst {
    if (id === "random") {
      const live = core.instances.filter((i) => i.state === "running");
      const pick = live[Math.floor(core.rng() * live.length)];
      if (!pick) throw new SimApiError("InvalidInstanceID.NotFound", "no running instance to pick");
      return pick;
    }
    const inst = core.byId.get(id);
    if (!inst) throw new SimApiError("InvalidInstanceID.NotFound", `The instance ID '${id}' does not exist`);
    return inst;
  }

  return (cmd) => {
    switch (cmd.op) {
      case "terminateInstance":
        parts.terminate(instanceFor(cmd.instanceId));
        return;
      case "ssmAgent": {
        const inst = instanceFor(cmd.instanceId);
        inst.ssmOnline = cmd.online;
        if (cmd.online) commands.agentOnline(inst);
        return;
      }
      case "healthFlap": {
        // Checks fail until the flap ends; the targets follow at their own thresholds.
        const inst = instanceFor(cmd.instanceId);
        inst.flapUntil = Math.max(inst.flapUntil, core.now + cmd.seconds * 1000);
        elb.reevaluate(inst);
        core.at(inst.flapUntil, () => elb.reevaluate(inst));
        return;
      }
      case "slowDrain":
        cameras.setSlow(
          cmd.share,
          cmd.instanceIds?.map((id) => instanceFor(id).idx),
        );
        return;
      case "commandFailures":
        if (cmd.match !== undefined) {
          try {
            new RegExp(cmd.match);
          } catch {
            throw new SimApiError("ValidationException", `not a valid regular expression: ${cmd.match}`);
          }
        }
        commands.setFailures(cmd.probability, cmd.match);
        return;
    }
  };
}
