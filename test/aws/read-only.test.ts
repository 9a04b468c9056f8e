import { RegisterTargetsCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { describe, expect, it } from "vitest";
import { openClients } from "../../src/aws/connect.js";
import { AwsCallError } from "../../src/aws/types.js";
import { connectReadOnlyTo, connectTo, stubOptions } from "./helpers.js";
import { ok, startStub } from "./stub-server.js";

const MUTATING =
  /^(register|deregister|send|cancel|suspend|resume|put|delete|create|update|modify|terminate|start|stop|attach|detach|set|enter|exit)/i;

/** Every function reachable from `root` through properties (own and inherited), with its path. */
function reachableFunctions(root: unknown): { path: string; name: string }[] {
  const found: { path: string; name: string }[] = [];
  const seen = new Set<unknown>();
  const walk = (value: unknown, path: string) => {
    if ((typeof value !== "object" && typeof value !== "function") || value === null || seen.has(value))
      return;
    seen.add(value);
    if (typeof value === "function") found.push({ path, name: value.name });
    for (
      let o: object | null = value as object;
      o && o !== Object.prototype && o !== Function.prototype;
      o = Object.getPrototypeOf(o)
    ) {
      for (const key of Reflect.ownKeys(o)) {
        if (key === "constructor") continue;
        const d = Object.getOwnPropertyDescriptor(o, key);
        const child = d && "value" in d ? d.value : undefined;
        walk(child, `${path}.${String(key)}`);
      }
    }
  };
  walk(root, "aws");
  return found;
}

describe("read-only AWS connection", () => {
  it("has no writer and no mutating method anywhere in its object graph", async () => {
    const stub = await startStub(() => ok(""));
    const aws = connectReadOnlyTo(stub);
    expect("writer" in aws).toBe(false);
    const fns = reachableFunctions(aws);
    const paths = fns.map((f) => f.path);
    // The walk does see the reader's methods…
    expect(paths).toContain("aws.reader.describeTargetHealth");
    // …but nothing that could change AWS, and no SDK client whose `send` could.
    expect(paths.filter((p) => MUTATING.test(p.split(".").at(-1) ?? ""))).toEqual([]);
    expect(paths.filter((p) => /\.(send|middlewareStack|destroy)$/.test(p))).toEqual([]);
    expect(Object.isFrozen(aws) && Object.isFrozen(aws.reader)).toBe(true);
    aws.close();
    await stub.close();
  });

  it("is told apart from a full connection by the same walk", async () => {
    const stub = await startStub(() => ok(""));
    const aws = connectTo(stub);
    const paths = reachableFunctions(aws).map((f) => f.path);
    expect(paths).toContain("aws.writer.deregisterTargets");
    expect(paths.filter((p) => MUTATING.test(p.split(".").at(-1) ?? "")).sort()).toEqual([
      "aws.writer.cancelCommand",
      "aws.writer.deleteParameter",
      "aws.writer.deregisterTargets",
      "aws.writer.putParameter",
      "aws.writer.registerTargets",
      "aws.writer.resumeProcesses",
      "aws.writer.sendCommand",
      "aws.writer.suspendProcesses",
    ]);
    aws.close();
    await stub.close();
  });

  it("needs a region", () => {
    expect(() => connectReadOnlyTo({ url: "http://127.0.0.1:1" } as never, { region: "" })).toThrow(
      /Region is required/,
    );
  });

  it("refuses a mutating call before sending it, even to code that reaches the SDK client itself", async () => {
    const stub = await startStub(() => ok(""));
    const { clients, counter } = openClients(stubOptions(stub), true);
    const error = await clients.elb
      .send(new RegisterTargetsCommand({ TargetGroupArn: "arn:tg", Targets: [{ Id: "i-1" }] }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsCallError);
    expect(error).toMatchObject({ operation: "ELBv2.RegisterTargets", code: "ReadOnlyConnection" });
    expect(stub.requests).toHaveLength(0);
    expect(counter.snapshot().total).toBe(0);
    for (const c of Object.values(clients)) c.destroy();
    await stub.close();
  });
});
