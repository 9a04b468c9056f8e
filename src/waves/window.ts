/**
 * Capacity math: how many instances may be out of service at once (overall and per AZ), and how
 * many failures the rollout tolerates. Pure; problems go to the caller's `Findings`.
 */
import type { RolloutSpec } from "../plan/types.js";
import { formatSize, resolveSize, type Size } from "../util/size.js";

/** Errors (plan cannot run on this fleet) and warnings collected while planning. */
export interface Findings {
  error(path: string, message: string, hint?: string): void;
  warn(message: string): void;
}

export interface ResolvedWindow {
  maxUnavailable: number;
  perAz: Record<string, number>;
  maxFailed: number;
}

/** A size the user wrote as zero: `0`, `0%` or `0/az`. */
export function isZero(size: Size): boolean {
  return size.kind === "percent" ? size.percent === 0 : size.count === 0;
}

/** A percent that is less than one instance of `total` (resolveSize then raises it to 1). */
function roundsUpToOne(size: Size, total: number): boolean {
  return size.kind === "percent" && Math.floor((total * size.percent) / 100 + 1e-9) === 0;
}

/**
 * Resolve the window against the planned instances.
 * Worked example: 1,000 planned in 400/350/250, `maxUnavailable: 10%`, `maxUnavailablePerAz: 12%`
 * → window 100; per AZ 48 / 42 / 30. `maxUnavailablePerAz: 2` means 2 in every AZ; `2/az` too.
 * With no per-AZ cap an AZ may lose as many as the whole window (but never more than it has).
 */
export function resolveWindow(
  rollout: Pick<RolloutSpec, "maxUnavailable" | "maxUnavailablePerAz" | "failures">,
  azCounts: ReadonlyMap<string, number>,
  total: number,
  findings: Findings,
): ResolvedWindow {
  const azCount = azCounts.size;
  const mu = rollout.maxUnavailable;
  if (isZero(mu)) {
    findings.error(
      "rollout.maxUnavailable",
      `maxUnavailable ${formatSize(mu)} lets no instance out of service, so nothing could be deployed`,
      "use at least 1 (for example `1`, `1/az` or `5%`)",
    );
  } else if (roundsUpToOne(mu, total)) {
    findings.warn(
      `maxUnavailable ${formatSize(mu)} of ${total} instance(s) is less than one instance; using 1`,
    );
  }
  const maxUnavailable = resolveSize(mu, total, azCount);

  const perAz: Record<string, number> = {};
  const cap = rollout.maxUnavailablePerAz;
  const raised: string[] = [];
  if (cap && isZero(cap)) {
    findings.error(
      "rollout.maxUnavailablePerAz",
      `maxUnavailablePerAz ${formatSize(cap)} lets no instance of any AZ out of service`,
      "use at least 1, or remove it to cap only the overall window",
    );
  }
  for (const [az, n] of azCounts) {
    if (!cap) {
      perAz[az] = Math.min(maxUnavailable, n);
    } else if (cap.kind === "percent") {
      if (!isZero(cap) && roundsUpToOne(cap, n)) raised.push(`${az} (${n})`);
      perAz[az] = resolveSize(cap, n, 1);
    } else {
      // A count and `N/az` both mean N in every AZ.
      perAz[az] = resolveSize({ kind: "count", count: cap.count }, n, 1);
    }
  }
  if (cap && raised.length > 0) {
    findings.warn(
      `maxUnavailablePerAz ${formatSize(cap)} is less than one instance in ${raised.join(", ")}; using 1 there`,
    );
  }

  const mf = rollout.failures.maxFailed;
  const maxFailed = resolveSize(mf, total, azCount, 0);
  if (mf.kind === "percent" && mf.percent > 0 && maxFailed === 0 && total > 0) {
    findings.warn(
      `maxFailed ${formatSize(mf)} of ${total} instance(s) rounds down to 0: the first failure triggers the failure action`,
    );
  }
  return { maxUnavailable, perAz, maxFailed };
}
