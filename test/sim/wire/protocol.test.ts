import { CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import {
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestSim, type TestSim } from "./helpers.js";

let sim: TestSim;
beforeAll(async () => {
  sim = await startTestSim();
});
afterAll(async () => {
  await sim.close();
});

async function post(headers: Record<string, string>, body: string) {
  const res = await fetch(sim.endpoint, { method: "POST", headers, body });
  return { status: res.status, headers: res.headers, body: await res.text() };
}
const auth = (region: string, service: string) =>
  `AWS4-HMAC-SHA256 Credential=x/20260101/${region}/${service}/aws4_request, SignedHeaders=host, Signature=00`;
const form = { "content-type": "application/x-www-form-urlencoded; charset=utf-8" };

describe("region in the SigV4 credential scope", () => {
  it("rejects a client configured for another region, in each protocol's error shape", async () => {
    const wrong = { ...sim.client, region: "us-east-1", maxAttempts: 1 };
    const clients = [
      () => new EC2Client(wrong).send(new DescribeInstancesCommand({})),
      () => new ElasticLoadBalancingV2Client(wrong).send(new DescribeTargetGroupsCommand({})),
      () => new SSMClient(wrong).send(new GetParameterCommand({ Name: "x" })),
      () => new CloudWatchClient(wrong).send(new DescribeAlarmsCommand({})),
    ];
    for (const call of clients) {
      const err = (await call().catch((e: unknown) => e)) as {
        name: string;
        message: string;
        $metadata: object;
      };
      expect(err.$metadata).toMatchObject({ httpStatusCode: 403 });
      expect(err.message).toContain("ap-northeast-1");
      expect(err.name).toMatch(/SignatureDoesNotMatch|InvalidSignatureException/);
    }
  });

  it("rejects a request with no Authorization header", async () => {
    const res = await post(form, "Action=DescribeInstances&Version=2016-11-15");
    expect(res.status).toBe(403);
    expect(res.body).toContain("<Code>MissingAuthenticationToken</Code>");
    expect(res.body).toContain("<RequestID>");
  });
});

describe("unknown actions", () => {
  it("answers an unknown query action with InvalidAction in the query error shape", async () => {
    const res = await post(
      { ...form, authorization: auth("ap-northeast-1", "elasticloadbalancing") },
      "Action=DescribeEverything&Version=2015-12-01",
    );
    expect(res.status).toBe(400);
    expect(res.body).toMatch(
      /<ErrorResponse xmlns="http:\/\/elasticloadbalancing\.amazonaws\.com\/doc\/2015-12-01\/"><Error><Type>Sender<\/Type><Code>InvalidAction<\/Code>/,
    );
    expect(res.headers.get("x-amzn-requestid")).toBeTruthy();
    expect(res.body).toContain(`<RequestId>${res.headers.get("x-amzn-requestid")}</RequestId>`);
  });

  it("answers an unknown JSON operation with UnknownOperationException", async () => {
    const res = await post(
      {
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "AmazonSSM.LaunchRockets",
        authorization: auth("ap-northeast-1", "ssm"),
      },
      "{}",
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ __type: "UnknownOperationException" });
  });

  it("answers an unknown API version with InvalidAction rather than guessing a service", async () => {
    const res = await post(
      { ...form, authorization: auth("ap-northeast-1", "sqs") },
      "Action=ListQueues&Version=2012-11-05",
    );
    expect(res.status).toBe(400);
    expect(res.body).toContain("<Code>InvalidAction</Code>");
  });

  it("answers a malformed JSON body with SerializationException", async () => {
    const res = await post(
      { "x-amz-target": "AmazonSSM.GetParameter", authorization: auth("ap-northeast-1", "ssm") },
      "{not json",
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ __type: "SerializationException" });
  });

  it("puts EC2's request id in the body as well as the header", async () => {
    const res = await post(
      { ...form, authorization: auth("ap-northeast-1", "ec2") },
      "Action=DescribeAvailabilityZones&Version=2016-11-15",
    );
    expect(res.status).toBe(200);
    expect(res.body).toContain(`<requestId>${res.headers.get("x-amzn-requestid")}</requestId>`);
  });
});

describe("other request spellings", () => {
  it("accepts a query request sent as GET with its parameters in the URL", async () => {
    const res = await fetch(`${sim.endpoint}/?Action=GetCallerIdentity&Version=2011-06-15`, {
      headers: { authorization: auth("ap-northeast-1", "sts") },
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("<Account>123456789012</Account>");
  });

  it("reads the region of a presigned request from X-Amz-Credential", async () => {
    const credential = encodeURIComponent("x/20260101/us-west-2/sts/aws4_request");
    const res = await fetch(
      `${sim.endpoint}/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Credential=${credential}`,
    );
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("us-west-2");
  });
});
