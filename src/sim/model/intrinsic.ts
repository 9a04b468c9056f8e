/**
 * The intrinsic time each instance needed, as the simulator drew it (rollout-speed issue §1): what
 * no scheduler could have made shorter, against which a rollout's makespan is judged.
 *
 * Per instance, summed over its cycles (a cycle: the instance leaves service and comes back):
 * - **commands**: every command line's duration as drawn, by step (lines run one after another on
 *   an instance, so these add up);
 * - **drain**: from the start of its drain (the first of: a target deregistered, shedding begun) until
 *   its connections reached the drain threshold (0 unless set; see `setDrainThreshold`), or until
 *   the deregistration delay ended, whichever came first;
 * - **health**: from its (last) registration until it was healthy in every target group it belongs
 *   to, i.e. until health checks could first pass the healthy threshold;
 * - **displaced**: its connections when its drain started.
 *
 * `stableFor` belongs to the plan, not the fleet: the bound adds it (src/sim/bound.ts).
 */
import type { SimIntrinsic } from "./api.js";
import type { Core, Inst } from "./core.js";

interface Rec {
  cycles: number;
  commandMs: number;
  stepMs: Map<string, number>;
  drainMs: number;
  healthMs: number;
  displaced: number;
  drainsEndedByDelay: number;
  /** Open cycle: when the drain started; undefined = not in a cycle. */
  cycleStart?: number;
  /** The drain is still waiting for the threshold or the delay. */
  draining: boolean;
  delayTimer: boolean;
  registeredAt?: number;
}

export class IntrinsicTimes {
  private threshold = 0;
  private readonly recs: Rec[];

  constructor(
    private readonly core: Core,
    count: number,
  ) {
    this.recs = Array.from({ length: count }, () => ({
      cycles: 0,
      commandMs: 0,
      stepMs: new Map(),
      drainMs: 0,
      healthMs: 0,
      displaced: 0,
      drainsEndedByDelay: 0,
      draining: false,
      delayTimer: false,
    }));
  }

  /** The plan's `drain.until.connections`: a drain counts as done once connections are at most this. */
  setDrainThreshold(n: number): void {
    this.threshold = n;
  }

  get drainThreshold(): number {
    return this.threshold;
  }

  commandDrawn(inst: Inst, step: string, ms: number): void {
    const r = this.rec(inst);
    r.commandMs += ms;
    r.stepMs.set(step, (r.stepMs.get(step) ?? 0) + ms);
  }

  /**
   * A drain began (shedding, or a target deregistered with `delayMs`). The first opens the cycle and
   * fixes the displaced count; a deregistration starts the delay that ends the drain at the latest.
   */
  drainStarted(inst: Inst, connections: number, delayMs?: number): void {
    const r = this.rec(inst);
    const now = this.core.now;
    if (r.cycleStart === undefined) {
      r.cycleStart = now;
      r.registeredAt = undefined;
      r.displaced += connections;
      r.draining = true;
      if (connections <= this.threshold) this.endDrain(r, false);
    }
    if (delayMs !== undefined && r.draining && !r.delayTimer) {
      r.delayTimer = true;
      const start = r.cycleStart;
      this.core.after(delayMs, () => {
        if (r.cycleStart === start && r.draining) this.endDrain(r, true);
      });
    }
  }

  /** A connection left the instance; `remaining` are still on it. */
  connectionsLeft(inst: Inst, remaining: number): void {
    const r = this.recs[inst.idx];
    if (r?.draining && remaining <= this.threshold) this.endDrain(r, false);
  }

  registered(inst: Inst): void {
    const r = this.rec(inst);
    if (r.cycleStart !== undefined) r.registeredAt = this.core.now;
  }

  /** The instance is healthy in every group it belongs to: its cycle ends. */
  backInService(inst: Inst): void {
    const r = this.rec(inst);
    if (r.cycleStart === undefined || r.registeredAt === undefined) return;
    if (r.draining) this.endDrain(r, false);
    r.healthMs += this.core.now - r.registeredAt;
    r.cycles++;
    r.cycleStart = undefined;
    r.registeredAt = undefined;
    r.delayTimer = false;
  }

  snapshot(instances: Inst[]): SimIntrinsic[] {
    return instances.map((inst) => {
      const r = this.rec(inst);
      return {
        instanceId: inst.id,
        az: inst.az,
        cycles: r.cycles,
        commandMs: Math.round(r.commandMs),
        stepMs: Object.fromEntries([...r.stepMs].map(([k, v]) => [k, Math.round(v)])),
        drainMs: Math.round(r.drainMs),
        healthMs: Math.round(r.healthMs),
        serviceMs: Math.round(r.commandMs + r.drainMs + r.healthMs),
        displaced: r.displaced,
        drainsEndedByDelay: r.drainsEndedByDelay,
      };
    });
  }

  private endDrain(r: Rec, byDelay: boolean): void {
    r.draining = false;
    r.drainMs += this.core.now - (r.cycleStart as number);
    if (byDelay) r.drainsEndedByDelay++;
  }

  private rec(inst: Inst): Rec {
    return this.recs[inst.idx] as Rec;
  }
}
