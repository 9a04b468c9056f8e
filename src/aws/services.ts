/**
 * The AWS services rollwave talks to, and the client-side request budget for each.
 *
 * AWS meters API calls per account and Region with token buckets (ELBv2 Describe*: burst 40, refill
 * 10/s). rollwave shares those buckets with every other tool in the account, so its own default
 * budget stays well under them: a rollout that needs more than this is doing per-instance polling,
 * which is the bug to fix, not the limit.
 */

export type AwsService = "EC2" | "ELBv2" | "SSM" | "CloudWatch" | "AutoScaling" | "STS" | "S3";

/** A token bucket: up to `burst` requests at once, then `perSecond` on average. */
export interface RateLimit {
  burst: number;
  perSecond: number;
}

/**
 * Default client-side budgets, per service, shared by every request to that service (reads,
 * writes and SDK retries alike). Seconds are the injected clock's seconds, so against a simulator
 * running 60× faster the budget is 60× higher in real time, exactly as it would be in AWS time.
 *
 * | service     | AWS bucket (documented or typical)        | rollwave default |
 * |-------------|--------------------------------------------|------------------|
 * | EC2         | Describe* 100 burst, 20/s                  | 40 burst, 10/s   |
 * | ELBv2       | Describe* 40 burst, 10/s                   | 20 burst, 5/s    |
 * | SSM         | per-API TPS, unpublished                   | 20 burst, 5/s    |
 * | CloudWatch  | DescribeAlarms ~9/s, GetMetricData 50/s    | 10 burst, 4/s    |
 * | AutoScaling | unpublished                                | 20 burst, 4/s    |
 * | STS         | high                                       | 10 burst, 5/s    |
 * | S3          | 3,500 PUT / 5,500 GET per second per prefix | 200 burst, 100/s |
 */
export const DEFAULT_RATE_LIMITS: Readonly<Record<AwsService, RateLimit>> = {
  EC2: { burst: 40, perSecond: 10 },
  ELBv2: { burst: 20, perSecond: 5 },
  SSM: { burst: 20, perSecond: 5 },
  CloudWatch: { burst: 10, perSecond: 4 },
  AutoScaling: { burst: 20, perSecond: 4 },
  STS: { burst: 10, perSecond: 5 },
  // The journal in S3: a resume reads every object of a rollout's journal (about one per tick).
  S3: { burst: 200, perSecond: 100 },
};
