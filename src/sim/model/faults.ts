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

  const control = (cmd: SimControlCommand): void => {
    switch (cmd.op) {
      case "terminateInstance": {
        const inst = instanceFor(cmd.instanceId);
        if (inst.inService) inst.lostToFault = true;
        parts.terminate(inst);
        return;
      }
      case "ssmAgent": {
        const inst = instanceFor(cmd.instanceId);
        inst.ssmOnline = cmd.online;
        if (cmd.online) commands.agentOnline(inst);
        return;
      }
      case "healthFlap": {
        // Checks fail until the flap ends; the targets follow at their own thresholds.
        const inst = instanceFor(cmd.instanceId);
        if (inst.inService) inst.lostToFault = true;
        inst.flapUntil = Math.max(inst.flapUntil, core.now + cmd.seconds * 1000);
        elb.reevaluate(inst);
        core.at(inst.flapUntil, () => {
          // A flap too short to turn a target unhealthy cost nothing: it excuses nothing later.
          if (inst.inService && core.now >= inst.flapUntil) inst.lostToFault = false;
          elb.reevaluate(inst);
        });
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
      case "churn": {
        // How many of each is fixed now (a share of the instances running now); when and on which
        // instance is drawn from the seeded RNG, so a seed replays the same storm.
        const running = core.instances.filter((i) => i.state === "running").length;
        const spanMs = cmd.overSeconds * 1000;
        const times = (share: number | undefined) =>
          Array.from({ length: Math.round((share ?? 0) * running) }, () => Math.floor(core.rng() * spanMs));
        const live = () => core.instances.some((i) => i.state === "running");
        for (const t of times(cmd.terminate))
          core.after(t, () => live() && control({ op: "terminateInstance", instanceId: "random" }));
        for (const t of times(cmd.ssmOffline)) {
          core.after(t, () => {
            if (!live()) return;
            const inst = instanceFor("random");
            control({ op: "ssmAgent", instanceId: inst.id, online: false });
            if (cmd.offlineSeconds !== undefined)
              core.after(cmd.offlineSeconds * 1000, () =>
                control({ op: "ssmAgent", instanceId: inst.id, online: true }),
              );
          });
        }
        for (const t of times(cmd.healthFlap))
          core.after(
            t,
            () =>
              live() && control({ op: "healthFlap", instanceId: "random", seconds: cmd.flapSeconds ?? 60 }),
          );
        return;
      }
    }
  };
  return control;
}
