/**
 * The AWS Regions rollwave will send calls to, so a misspelled `--region` (or plan `region:`, or
 * AWS_REGION) is caught before the SDK turns it into a host name that does not resolve
 * (`getaddrinfo EAI_AGAIN ec2.eu-wset-1.amazonaws.com`).
 *
 * The list is the AWS SDK's own partition data (@aws-sdk/core's partitions.js) at the version in
 * package-lock.json; test/cli/regions.test.ts fails when an SDK update adds or drops a Region, so
 * it cannot drift silently. A custom endpoint (--endpoint-url, AWS_ENDPOINT_URL) skips the check.
 */
export const PARTITION_REGIONS: Record<string, readonly string[]> = {
  aws: [
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "me-west-1",
    "mx-central-1",
    "sa-east-1",
    "sa-west-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
  ],
  "aws-cn": ["cn-north-1", "cn-northwest-1"],
  "aws-eusc": ["eusc-de-east-1"],
  "aws-iso": ["us-iso-east-1", "us-iso-west-1"],
  "aws-iso-b": ["us-isob-east-1", "us-isob-west-1"],
  "aws-iso-e": ["eu-isoe-west-1"],
  "aws-iso-f": ["us-isof-east-1", "us-isof-south-1"],
  "aws-us-gov": ["us-gov-east-1", "us-gov-west-1"],
};

export const KNOWN_REGIONS: ReadonlySet<string> = new Set(Object.values(PARTITION_REGIONS).flat());

export function isKnownRegion(region: string): boolean {
  return KNOWN_REGIONS.has(region);
}
