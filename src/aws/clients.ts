/** The six SDK clients one connection uses, built with one shared configuration. */
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
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

export const SERVICE_OF_CLIENT: Record<keyof AwsClients, AwsService> = {
  ec2: "EC2",
  elb: "ELBv2",
  ssm: "SSM",
  cw: "CloudWatch",
  asg: "AutoScaling",
  sts: "STS",
};
