/**
 * Shared state of the model: the clock's "now" while events run, the seeded RNG, the event queue and
 * the instances. Each concern (target health, cameras, commands, telemetry …) lives in its own file
 * and talks to the others only through the `Hooks` the world wires up.
 */
import { createRng, type Rng } from "../../util/rng.js";
import type { FleetSpecFile } from "./fleet-spec.js";
import { EventQueue } from "./queues.js";

type Ec2State = "running" | "shutting-down" | "terminated";

/** One simulated EC2 instance and the relay service on it. */
export interface Inst {
  idx: number;
  id: string;
  az: string;
  azIdx: number;
  group: string;
  asg: string | undefined;
  instanceType: string;
  imageId: string;
  privateIp: string;
  launchTime: number;
  tags: Record<string, string>;
  state: Ec2State;
  ssmOnline: boolean;
  /** Commands currently holding the service down (`stopService` effects), plus one while crashed. */
  serviceHolds: number;
  /** A `stopService` line failed: the service stays down until the next one runs. */
  crashed: boolean;
  installedVersion: string;
  installedBad: boolean;
  previousVersion: string;
  /** What the running process is: the installed version as of the last (re)start. */
  runningVersion: string;
  runningBad: boolean;
  /** Connections shed per second after a drain command; 0 = not shedding. */
  shedRate: number;
  /** Health checks fail until this time (a flap). */
  flapUntil: number;
  /** Derived, maintained by the world: healthy in every target group it is registered in. */
  inService: boolean;
  /**
   * An injected fault (termination, health flap) hit it while it was in service; cleared when it is
   * in service again. While set and out of service, the floor check does not blame the driver.
   */
  lostToFault: boolean;
  /** Derived: lostToFault and not in service (counted per AZ by the world). */
  excused: boolean;
  /** When it last became `excused` (out of service by a fault). */
  lostAt: number;
  /** Derived: has at least one draining target. */
  draining: boolean;
}

export function serviceUp(i: Inst): boolean {
  return i.state === "running" && i.serviceHolds === 0;
}

/** Whether a health check against this instance passes at `now`. */
export function healthPasses(i: Inst, now: number): boolean {
  return serviceUp(i) && !i.runningBad && now >= i.flapUntil;
}

/** Callbacks between concerns; the world implements them. */
interface Hooks {
  /** Something about this instance changed (state, service, target health, shedding …). */
  touch(inst: Inst): void;
}

export class Core {
  now: number;
  readonly rng: Rng;
  readonly events = new EventQueue();
  readonly instances: Inst[] = [];
  readonly byId = new Map<string, Inst>();
  hooks: Hooks = { touch: () => {} };

  constructor(
    readonly spec: FleetSpecFile,
    start: number,
    seed: number,
  ) {
    this.now = start;
    this.rng = createRng(seed);
  }

  /** Run `fn` at `at` (never in the past). */
  at(at: number, fn: () => void): void {
    this.events.schedule(Math.max(at, this.now), fn);
  }

  after(ms: number, fn: () => void): void {
    this.events.schedule(this.now + Math.max(0, ms), fn);
  }
}

/** Deterministic ids from names, independent of the seed (so a fleet's ids are stable). */
export function hexId(text: string, length: number): string {
  let out = "";
  let h1 = 0x811c9dc5;
  let round = 0;
  while (out.length < length) {
    let h = h1 ^ round++;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    h1 = h;
    out += h.toString(16).padStart(8, "0");
  }
  return out.slice(0, length);
}
