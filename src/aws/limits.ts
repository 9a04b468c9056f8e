/** Per-call limits of the read APIs, and paging options shared by every paginator. */

/** Per-call limits of the APIs (see /work/shared/aws-facts.md). */
export const LIMITS = {
  ec2InstanceIdsPerCall: 200,
  ec2MaxResults: 1000,
  elbNamesPerCall: 20,
  elbPageSize: 400,
  ssmInstanceIdsPerCall: 50,
  ssmMaxResults: 50,
  asgInstanceIdsPerCall: 50,
  asgNamesPerCall: 100,
  alarmNamesPerCall: 100,
  metricQueriesPerCall: 500,
} as const;

/** Stop rather than loop forever if an endpoint hands back the token it was given. */
export const PAGING = { stopOnSameToken: true } as const;
