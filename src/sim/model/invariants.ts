/**
 * Invariants the simulator checks independently of whoever drives it. Each violation is recorded
 * once per episode: when the condition first fails, with its time; it is recorded again only after
 * it has held again in between. Example: a floor of 300 in-service instances in ap-northeast-1a,
 * dipping to 298 at t=12:03 and recovering at 12:04, is one violation at 12:03.
 */
import type { CapacityFloor, InvariantViolation } from "./api.js";

export class Invariants {
  readonly violations: InvariantViolation[] = [];
  /** Dips below the floor that injected faults account for (see `checkCapacity`): not violations. */
  readonly faultDips: InvariantViolation[] = [];
  private readonly active = new Set<string>();
  floor: CapacityFloor | null = null;

  /** Check a condition under `key`; `message` is built only when it fails. */
  check(now: number, key: string, invariant: string, ok: boolean, message: () => string): void {
    this.episode(this.violations, now, key, invariant, ok, message);
  }

  /**
   * Healthy in-service capacity against the declared floor, per AZ and in total. `lostByAz` counts
   * instances that were in service when an injected fault (termination, health flap) took them out
   * and are not back yet: no driver can keep a floor against a server that dies under it, so such
   * a dip is recorded in `faultDips`, not as a violation. What the driver does about it is checked
   * by `checkRemoval`.
   */
  checkCapacity(now: number, inServiceByAz: Map<string, number>, lostByAz?: Map<string, number>): void {
    const floor = this.floor;
    if (!floor) return;
    const scopes: [string, string, number, number, number][] = [];
    for (const [az, min] of Object.entries(floor.perAz ?? {}))
      scopes.push([`floor:${az}`, az, min, inServiceByAz.get(az) ?? 0, lostByAz?.get(az) ?? 0]);
    if (floor.total !== undefined) {
      let have = 0;
      let lost = 0;
      for (const n of inServiceByAz.values()) have += n;
      for (const n of lostByAz?.values() ?? []) lost += n;
      scopes.push(["floor:total", "fleet", floor.total, have, lost]);
    }
    for (const [key, where, min, have, lost] of scopes) {
      this.check(
        now,
        key,
        "capacity-floor",
        have + lost >= min,
        () => `${where}: ${have} in service, floor ${min}${lost ? ` (${lost} lost to faults)` : ""}`,
      );
      this.episode(
        this.faultDips,
        now,
        `dip:${key}`,
        "capacity-floor",
        have >= min || have + lost < min,
        () => `${where}: ${have} in service, floor ${min}, ${lost} lost to faults`,
      );
    }
  }

  /**
   * The driver took `id` out of service (DeregisterTargets): whatever faults took before, it must
   * not take an instance out while that leaves fewer in service than the floor. A driver that
   * counts lost servers against its window waits instead. `unseenByAz`: servers lost so recently
   * that the driver could not have seen it (after its last read of the group): counted as in service.
   */
  checkRemoval(
    now: number,
    id: string,
    az: string,
    inServiceByAz: Map<string, number>,
    lostByAz?: Map<string, number>,
    unseenByAz?: Map<string, number>,
  ): void {
    const floor = this.floor;
    if (!floor) return;
    const inAz = (inServiceByAz.get(az) ?? 0) + (unseenByAz?.get(az) ?? 0);
    const minAz = floor.perAz?.[az];
    let total = 0;
    for (const n of inServiceByAz.values()) total += n;
    for (const n of unseenByAz?.values() ?? []) total += n;
    const short: [string, string] | undefined =
      minAz !== undefined && inAz < minAz
        ? [`floor:${az}`, `${az}: ${inAz} in service, floor ${minAz}`]
        : floor.total !== undefined && total < floor.total
          ? ["floor:total", `fleet: ${total} in service, floor ${floor.total}`]
          : undefined;
    // The same episode as the periodic check's: a removal while that one is open adds nothing.
    if (short)
      this.check(
        now,
        short[0],
        "capacity-floor",
        false,
        () => `DeregisterTargets took ${id} out of service below the floor: ${short[1]}${lostText(lostByAz)}`,
      );
  }

  private episode(
    into: InvariantViolation[],
    now: number,
    key: string,
    invariant: string,
    ok: boolean,
    message: () => string,
  ): void {
    if (ok) {
      this.active.delete(key);
      return;
    }
    if (this.active.has(key)) return;
    this.active.add(key);
    into.push({ at: now, invariant, message: message() });
  }
}

function lostText(lostByAz: Map<string, number> | undefined): string {
  let lost = 0;
  for (const n of lostByAz?.values() ?? []) lost += n;
  return lost ? ` (${lost} lost to faults)` : "";
}
