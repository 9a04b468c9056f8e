/** The six SDK clients one connection uses, built with one shared configuration. */
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { S3Client } from "@aws-sdk/client-s3";
import { SSMClient } from "@aws-sdk/client-ssm";
import { STSClient } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity, RetryStrategyV2 } from "@smithy/types";
import type { AwsService } from "./services.js";

export interface AwsClients {
  ec2: EC2Client;
  elb: ElasticLoadBalancingV2Client;
  ssm: SSMClient;
  cw: CloudWatchClient;
  asg: AutoScalingClient;
  sts: STSClient;
}

/** The client configuration rollwave sets, the same for all six clients. */
export interface SharedClientConfig {
  region: string;
  profile?: string;
  endpoint?: string;
  credentials?: AwsCredentialIdentity;
  maxAttempts: number;
  retryStrategy: RetryStrategyV2;
  requestHandler: { connectionTimeout: number; requestTimeout: number; throwOnRequestTimeout: boolean };
}

export function buildClients(config: (service: AwsService) => SharedClientConfig): AwsClients {
  return {
    ec2: new EC2Client(config("EC2")),
    elb: new ElasticLoadBalancingV2Client(config("ELBv2")),
    ssm: new SSMClient(config("SSM")),
    cw: new CloudWatchClient(config("CloudWatch")),
    asg: new AutoScalingClient(config("AutoScaling")),
    sts: new STSClient(config("STS")),
  };
}

/**
 * The S3 client of the journal in S3 (not one of the six: only a journal at an `s3://` location
 * needs it). `forcePathStyle` (`http://endpoint/<bucket>/<key>`) against a custom endpoint such as
 * the simulator; against AWS, virtual-hosted style, following a bucket's Region when it differs.
 */
export function buildS3Client(config: SharedClientConfig, o: { forcePathStyle: boolean }): S3Client {
  return new S3Client({ ...config, forcePathStyle: o.forcePathStyle, followRegionRedirects: true });
}

export const SERVICE_OF_CLIENT: Record<keyof AwsClients, AwsService> = {
  ec2: "EC2",
  elb: "ELBv2",
  ssm: "SSM",
  cw: "CloudWatch",
  asg: "AutoScaling",
  sts: "STS",
};
