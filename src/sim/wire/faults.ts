import type { Rng } from "../../util/rng.js";

/** A token bucket: `burst` tokens, refilled at `perSecond` tokens per simulated second. */
interface BucketSpec {
  burst: number;
  perSecond: number;
}

/** Faults the wire layer injects before a request reaches the model. All changeable at run time. */
export interface WireFaults {
  /** 0..1: share of requests answered with the service's throttling error regardless of buckets. */
  throttleRate: number;
  /** 0..1: share of requests answered with a random 5xx (InternalError/ServiceUnavailable). */
  errorRate: number;
  /** Added latency per request in simulated ms (slept on the simulator's clock). */
  latencyMs: number;
  /**
   * 0..1: share of mutating requests (not Describe*, List*, Get*) that the model *applies* and whose
   * answer is then lost: the client sees a 500 as if the connection dropped after the work was done,
   * and the SDK's retry repeats it (SendCommand has no idempotency token). The ambiguous failure
   * exactly-once re-attach must handle.
   */
  lostResponseRate: number;
  /**
   * Token buckets by key: "Service.Action", "Service.Prefix*" or "Service". A request takes one
   * token from the most specific key that matches it (action, then the longest prefix, then the
   * service); a key shared by several actions is one shared bucket, as AWS meters by category.
   * Setting a key to `null` through setFaults removes it (the request falls to a broader key).
   */
  buckets: Partial<Record<string, BucketSpec | null>>;
}

/**
 * Defaults from AWS's published numbers where they exist (aws-facts.md):
 * - ELBv2 Describe*: bucket 40, refill 10/s (ELB API throttling guide).
 * - EC2 non-mutating (Describe*): 100, refill 20/s; EC2 mutating: 200, refill 5/s (EC2 API throttling guide).
 * - CloudWatch: DescribeAlarms 9 TPS and GetMetricData 50 TPS (CloudWatch service quotas).
 * Assumed, no published number: ELBv2 registration 20/4, other ELBv2 mutating 20/4, SSM 40/10 per
 * action (GetCommandInvocation/ListCommandInvocations 50/20), Auto Scaling 40/10, STS 100/50.
 */
export const DEFAULT_BUCKETS: Record<string, BucketSpec> = {
  "ELBv2.Describe*": { burst: 40, perSecond: 10 },
  "ELBv2.RegisterTargets": { burst: 20, perSecond: 4 },
  "ELBv2.DeregisterTargets": { burst: 20, perSecond: 4 },
  ELBv2: { burst: 20, perSecond: 4 },
  "EC2.Describe*": { burst: 100, perSecond: 20 },
  EC2: { burst: 200, perSecond: 5 },
  "SSM.GetCommandInvocation": { burst: 50, perSecond: 20 },
  "SSM.ListCommandInvocations": { burst: 50, perSecond: 20 },
  SSM: { burst: 40, perSecond: 10 },
  "CloudWatch.DescribeAlarms": { burst: 9, perSecond: 9 },
  "CloudWatch.GetMetricData": { burst: 50, perSecond: 50 },
  CloudWatch: { burst: 20, perSecond: 20 },
  AutoScaling: { burst: 40, perSecond: 10 },
  STS: { burst: 100, perSecond: 50 },
};

const DEFAULT_FAULTS: WireFaults = {
  throttleRate: 0,
  errorRate: 0,
  latencyMs: 0,
  lostResponseRate: 0,
  buckets: DEFAULT_BUCKETS,
};

/** What a request is answered with when the wire layer decides to fail it. */
type FaultOutcome = { kind: "throttle" } | { kind: "error"; status: 500 | 503 };

/**
 * Holds the current faults and the state of every token bucket. Buckets refill lazily from the
 * simulated clock when touched, so an idle simulator spends nothing on them.
 */
export class FaultInjector {
  private faults: WireFaults;
  private readonly state = new Map<string, { tokens: number; at: number }>();

  constructor(
    initial: Partial<WireFaults> | undefined,
    private readonly rng: Rng,
  ) {
    this.faults = { ...DEFAULT_FAULTS, buckets: { ...DEFAULT_BUCKETS } };
    if (initial) this.set(initial);
  }

  get current(): WireFaults {
    return { ...this.faults, buckets: { ...this.faults.buckets } };
  }

  set(f: Partial<WireFaults>): void {
    if (f.throttleRate !== undefined) this.faults.throttleRate = rate(f.throttleRate, "throttleRate");
    if (f.errorRate !== undefined) this.faults.errorRate = rate(f.errorRate, "errorRate");
    if (f.lostResponseRate !== undefined)
      this.faults.lostResponseRate = rate(f.lostResponseRate, "lostResponseRate");
    if (f.latencyMs !== undefined) {
      if (!(f.latencyMs >= 0)) throw new RangeError(`latencyMs must be >= 0, got ${f.latencyMs}`);
      this.faults.latencyMs = f.latencyMs;
    }
    for (const [key, spec] of Object.entries(f.buckets ?? {})) {
      if (spec === null || spec === undefined) delete this.faults.buckets[key];
      else {
        if (!(spec.burst >= 0 && spec.perSecond >= 0)) {
          throw new RangeError(`bucket ${key}: burst and perSecond must be >= 0`);
        }
        this.faults.buckets[key] = { burst: spec.burst, perSecond: spec.perSecond };
      }
      this.state.delete(key); // a changed bucket starts full
    }
  }

  /** Decides whether this request fails before reaching the model. Consumes a token when it passes. */
  judge(service: string, action: string, now: number): FaultOutcome | undefined {
    if (this.faults.throttleRate > 0 && this.rng() < this.faults.throttleRate) return { kind: "throttle" };
    const key = this.bucketKey(service, action);
    if (key !== undefined && !this.take(key, now)) return { kind: "throttle" };
    if (this.faults.errorRate > 0 && this.rng() < this.faults.errorRate) {
      return { kind: "error", status: this.rng() < 0.5 ? 500 : 503 };
    }
    return undefined;
  }

  /** After the model applied a request: is its answer lost? Only mutating actions; see `lostResponseRate`. */
  loseResponse(action: string): boolean {
    const r = this.faults.lostResponseRate;
    return r > 0 && !/^(Describe|List|Get)[A-Z]/.test(action) && this.rng() < r;
  }

  /** The bucket key a request is metered by, or undefined when no bucket applies. */
  bucketKey(service: string, action: string): string | undefined {
    const buckets = this.faults.buckets;
    const exact = `${service}.${action}`;
    if (buckets[exact]) return exact;
    let best: string | undefined;
    for (const key of Object.keys(buckets)) {
      if (!key.endsWith("*") || !buckets[key]) continue;
      const prefix = key.slice(0, -1);
      if (
        exact.startsWith(prefix) &&
        prefix.startsWith(`${service}.`) &&
        (!best || key.length > best.length)
      ) {
        best = key;
      }
    }
    if (best) return best;
    return buckets[service] ? service : undefined;
  }

  private take(key: string, now: number): boolean {
    const spec = this.faults.buckets[key] as BucketSpec;
    const s = this.state.get(key) ?? { tokens: spec.burst, at: now };
    this.state.set(key, s);
    s.tokens = Math.min(spec.burst, s.tokens + (Math.max(0, now - s.at) / 1000) * spec.perSecond);
    s.at = Math.max(s.at, now);
    if (s.tokens < 1) return false;
    s.tokens -= 1;
    return true;
  }
}

function rate(v: number, name: string): number {
  if (!(v >= 0 && v <= 1)) throw new RangeError(`${name} must be between 0 and 1, got ${v}`);
  return v;
}

/** Each service's own throttling error (code, HTTP status). */
export function throttlingError(service: string): { code: string; status: number } {
  switch (service) {
    case "EC2":
      return { code: "RequestLimitExceeded", status: 503 };
    case "SSM":
      return { code: "ThrottlingException", status: 400 };
    case "S3":
      return { code: "SlowDown", status: 503 };
    default:
      return { code: "Throttling", status: 400 };
  }
}

/** A random server fault in the service's vocabulary. */
export function serverError(service: string, status: 500 | 503): { code: string; message: string } {
  if (status === 503) {
    return {
      code: service === "EC2" ? "Unavailable" : "ServiceUnavailable",
      message: "Service is unavailable",
    };
  }
  const code =
    service === "SSM"
      ? "InternalServerError"
      : service === "CloudWatch"
        ? "InternalServiceFault"
        : service === "EC2" || service === "S3"
          ? "InternalError"
          : "InternalFailure";
  return { code, message: "An internal error has occurred" };
}
