import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { describe, expect, it } from "vitest";
import { cli, fakeIo } from "./harness.js";
import { SMALL_FLEET } from "./sim-env.js";

describe("rollwave sim", () => {
  it("serves the fleet on loopback, prints paste-ready env lines, and stops on SIGINT", async () => {
    const io = fakeIo();
    const run = cli(["sim", "--fleet", SMALL_FLEET, "--port", "0", "--time-scale", "60", "--seed", "3"], io);
    let endpoint: string | undefined;
    for (let i = 0; i < 500 && !endpoint; i++) {
      endpoint = /export AWS_ENDPOINT_URL=['"]?(http:\/\/127\.0\.0\.1:\d+)/.exec(io.stdout.text)?.[1];
      if (!endpoint) await new Promise((r) => setTimeout(r, 10));
    }
    expect(endpoint).toBeDefined();
    expect(io.stdout.text).toMatch(/AWS_REGION=/);
    expect(io.stdout.text).toMatch(/AWS_ACCESS_KEY_ID=/);
    expect(io.stdout.text).toMatch(/add --sim-clock/);

    const ec2 = new EC2Client({
      region: "ap-northeast-1",
      endpoint,
      credentials: { accessKeyId: "x", secretAccessKey: "x" },
    });
    const out = await ec2.send(new DescribeInstancesCommand({}));
    ec2.destroy();
    const ids = (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId);
    expect(ids).toHaveLength(12);

    io.signal("SIGINT");
    const r = await run;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("simulator stopped");
  });

  it("rejects a port out of range as bad input", async () => {
    const r = await cli(["sim", "--port", "70000"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--port/);
  });
});
