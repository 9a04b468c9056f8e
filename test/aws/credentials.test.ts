import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createReadOnlyAws } from "../../src/aws/connect.js";
import { InstantClock } from "./helpers.js";
import { ok, type Stub, startStub, x } from "./stub-server.js";

const saved = { ...process.env };
let stub: Stub | undefined;
afterEach(async () => {
  process.env = { ...saved };
  await stub?.close();
  stub = undefined;
});

/** The access key id the request was signed with, from its SigV4 Authorization header. */
const signedWith = (authorization: unknown) => /Credential=([^/]+)\//.exec(String(authorization))?.[1];

describe("credentials", () => {
  it("signs with the named profile's keys when --profile is given, and the default chain's otherwise", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rollwave-creds-"));
    writeFileSync(
      join(dir, "credentials"),
      "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n\n" +
        "[deployer]\naws_access_key_id = AKIDDEPLOYER\naws_secret_access_key = s2\n",
    );
    writeFileSync(join(dir, "config"), "[default]\nregion = eu-west-1\n");
    for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"])
      delete process.env[k];
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, "credentials");
    process.env.AWS_CONFIG_FILE = join(dir, "config");
    // Keep the chain from probing instance metadata if the files were not read.
    process.env.AWS_EC2_METADATA_DISABLED = "true";

    stub = await startStub(() => ok(x("Arn", "arn") + x("Account", "123456789012")));
    const base = { region: "eu-west-1", endpointUrl: stub.url, clock: new InstantClock() };
    const withProfile = createReadOnlyAws({ ...base, profile: "deployer" });
    await withProfile.reader.getCallerIdentity();
    const byDefault = createReadOnlyAws(base);
    await byDefault.reader.getCallerIdentity();
    expect(stub.requests.map((r) => signedWith(r.headers.authorization))).toEqual([
      "AKIDDEPLOYER",
      "AKIDDEFAULT",
    ]);
    withProfile.close();
    byDefault.close();
  });

  it("sends to AWS_ENDPOINT_URL when no --endpoint-url is given, as the SDK does by itself", async () => {
    stub = await startStub(() => ok(x("Arn", "arn") + x("Account", "210987654321")));
    process.env.AWS_ENDPOINT_URL = stub.url;
    const aws = createReadOnlyAws({
      region: "eu-west-1",
      credentials: { accessKeyId: "AKIDENV", secretAccessKey: "s" },
      clock: new InstantClock(),
    });
    expect((await aws.reader.getCallerIdentity()).account).toBe("210987654321");
    expect(stub.requests).toHaveLength(1);
    aws.close();
  });
});
