import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { resumeCommandLine } from "../../src/cli/commands/deploy-flags.js";

describe("resumeCommandLine", () => {
  it("repeats the plan and every flag, with the temporary journal dir of a simulated run", () => {
    expect(
      resumeCommandLine(
        "plans/camera-relay.yaml",
        {
          var: ["release=v2.0.0", "note=two words"],
          varFile: ["vars.yaml"],
          simulate: true,
          seed: 7,
          timeScale: 120,
          yes: true,
          autoApprove: true,
          output: "plain",
          verbose: true,
        },
        "/tmp/rollwave-sim-abc",
      ),
    ).toBe(
      "rollwave resume plans/camera-relay.yaml --var release=v2.0.0 --var 'note=two words' --var-file vars.yaml " +
        "--simulate --seed 7 --time-scale 120 --journal-dir /tmp/rollwave-sim-abc --yes --auto-approve --output plain --verbose",
    );
  });

  it("keeps the S3 journal and the simulator clock, so another machine resumes the same rollout", () => {
    expect(
      resumeCommandLine("p.yaml", {
        var: ["release=v2.0.0"],
        endpointUrl: "http://127.0.0.1:4566",
        simClock: true,
        journal: { kind: "s3", bucket: "ops-rollwave", prefix: "ci/journals" },
        yes: true,
      }),
    ).toBe(
      "rollwave resume p.yaml --var release=v2.0.0 --endpoint-url http://127.0.0.1:4566 " +
        "--journal s3://ops-rollwave/ci/journals --sim-clock --yes",
    );
  });

  it("quotes values so a POSIX shell reads them back unchanged", () => {
    const tricky = ["it's $HOME", "a;b", "`x`", 'q"uote'];
    const line = resumeCommandLine("p.yaml", { var: tricky.map((t) => `v=${t}`) });
    const echoed = execFileSync("sh", ["-c", `printf '%s\\n' ${line.replace(/^rollwave resume /, "")}`], {
      encoding: "utf8",
    });
    expect(echoed.trimEnd().split("\n")).toEqual(["p.yaml", ...tricky.flatMap((t) => ["--var", `v=${t}`])]);
  });
});
