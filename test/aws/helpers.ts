/** Shared set-up for adapter tests against the stub server. */
import { type AwsOptions, createAws, createReadOnlyAws } from "../../src/aws/connect.js";
import type { Clock } from "../../src/util/clock.js";
import type { Stub } from "./stub-server.js";

/**
 * A clock whose sleeps return at once but are remembered, so retry backoff can be checked without
 * waiting for it. Time moves forward by each sleep, so rate limits never block.
 */
export class InstantClock implements Clock {
  readonly sleeps: number[] = [];
  private t = 0;
  now(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.t += ms;
  }
}

export const STUB_CREDENTIALS = { accessKeyId: "AKIDSTUB", secretAccessKey: "stub-secret" };

export function stubOptions(stub: Stub, extra: Partial<AwsOptions> = {}): AwsOptions {
  return {
    region: "us-east-1",
    endpointUrl: stub.url,
    credentials: STUB_CREDENTIALS,
    clock: new InstantClock(),
    ...extra,
  };
}

export function connectTo(stub: Stub, extra: Partial<AwsOptions> = {}) {
  return createAws(stubOptions(stub, extra));
}

export function connectReadOnlyTo(stub: Stub, extra: Partial<AwsOptions> = {}) {
  return createReadOnlyAws(stubOptions(stub, extra));
}

/** Polls (real time, bounded) until `cond` holds: for waiting on HTTP round trips, not for timing. */
export async function eventually(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for: ${what}`);
}
