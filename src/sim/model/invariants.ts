/**
 * Invariants the simulator checks independently of whoever drives it. Each violation is recorded
 * once per episode: when the condition first fails, with its time; it is recorded again only after
 * it has held again in between. Example: a floor of 300 in-service instances in ap-northeast-1a,
 * dipping to 298 at t=12:03 and recovering at 12:04, is one violation at 12:03.
 */
import type { CapacityFloor, InvariantViolation } from "./api.js";

export class Invariants {
  readonly violations: InvariantViolation[] = [];
  private readonly active = new Set<string>();
  floor: CapacityFloor | null = null;

  /** Check a condition under `key`; `message` is built only when it fails. */
  check(now: number, key: string, invariant: string, ok: boolean, message: () => string): void {
    if (ok) {
      this.active.delete(key);
      return;
    }
    if (this.active.has(key)) return;
    this.active.add(key);
    this.violations.push({ at: now, invariant, message: message() });
  }

  /** Healthy in-service capacity against the declared floor, per AZ and in total. */
  checkCapacity(now: number, inServiceByAz: Map<string, number>): void {
    const floor = this.floor;
    if (!floor) return;
    for (const [az, min] of Object.entries(floor.perAz ?? {})) {
      const have = inServiceByAz.get(az) ?? 0;
      this.check(
        now,
        `floor:${az}`,
        "capacity-floor",
        have >= min,
        () => `${az}: ${have} in service, floor ${min}`,
      );
    }
    if (floor.total !== undefined) {
      let have = 0;
      for (const n of inServiceByAz.values()) have += n;
      const min = floor.total;
      this.check(
        now,
        "floor:total",
        "capacity-floor",
        have >= min,
        () => `fleet: ${have} in service, floor ${min}`,
      );
    }
  }
}
