import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { acquireLock, LockHeldError, type LockOwner, parseLock, staleReason } from "../../src/cli/lock.js";

const me: LockOwner = { pid: 1, startTime: "5000", bootId: "boot-a", pidNs: "pid:[1]", host: "deployer" };
const alive = () => true;

describe("the local lock: stale or held", () => {
  it("is held by a live process with the recorded start time", () => {
    const other = { ...me, pid: 42, startTime: "100" };
    expect(staleReason(other, me, () => "100", alive)).toBeUndefined();
  });

  it("is stale when the pid is dead, reused by another process, from before a reboot, or our own pid's earlier life", () => {
    const other = { ...me, pid: 42, startTime: "100" };
    expect(
      staleReason(
        other,
        me,
        () => "100",
        () => false,
      ),
    ).toBe("pid 42 is no longer running");
    expect(staleReason(other, me, () => "999", alive)).toBe("pid 42 now belongs to another process");
    expect(staleReason({ ...other, bootId: "boot-b" }, me, () => "100", alive)).toBe(
      "pid 42 ran before the machine rebooted",
    );
    // Killed as PID 1 in a container, restarted as PID 1: "alive" is ourselves.
    expect(staleReason({ ...me, startTime: "12" }, me, () => "5000", alive)).toBe(
      "pid 1 was an earlier process (this process has the same pid now)",
    );
  });

  it("is stale from an earlier container with the same host name; held when another host's namespace cannot be checked", () => {
    const restarted = { ...me, pidNs: "pid:[2]" };
    expect(staleReason(restarted, me, () => undefined, alive)).toMatch(/earlier container on deployer/);
    expect(staleReason({ ...restarted, host: "other-pod" }, me, () => undefined, alive)).toBeUndefined();
  });

  it("reads locks written by older versions (a bare pid)", () => {
    expect(parseLock("123\n")).toEqual({ pid: 123 });
    expect(parseLock("")).toBeUndefined();
  });

  it("takes over a stale lock with a message and records this process; refuses a held one", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rollwave-lock-"));
    const path = join(dir, "lock");
    await writeFile(path, "2147483646\n");
    const said: string[] = [];
    const release = await acquireLock(path, { onTakeover: (m) => said.push(m) });
    expect(said).toEqual([`taking over a stale lock (${path}): pid 2147483646 is no longer running`]);
    expect(JSON.parse(await readFile(path, "utf8"))).toMatchObject({ pid: process.pid });
    // Held by this very process (same pid and start time): a second acquire is refused.
    await expect(acquireLock(path)).rejects.toThrow(LockHeldError);
    await release();
    await (await acquireLock(path))();
  });
});
