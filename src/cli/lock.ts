/**
 * A local lock beside the journal, so two `deploy`/`resume` processes on one machine can never
 * append to the same journal. Created atomically (`wx`). It guards this machine only: two machines
 * rolling the same fleet are not prevented.
 *
 * The lock records who holds it — pid, the process's start time, the kernel's boot id, the pid
 * namespace and the host name — because a pid alone lies: rollwave killed as PID 1 in a container
 * and restarted finds PID 1 alive (itself), and after a reboot any pid may be reused. A lock is stale,
 * and taken over with a message, when its holder cannot be running any more:
 *   - another boot id: the machine rebooted since;
 *   - the same pid namespace, and the pid is dead or now belongs to a process started at another time;
 *   - another pid namespace (a container restarted) on the same host name: that container is gone.
 * A lock from another host name in another pid namespace cannot be checked from here: it counts as
 * held (exit 4), and the message says how to remove it if that holder is gone.
 *
 *   {"pid":1,"startTime":"2817","bootId":"9a3e…","pidNs":"pid:[4026532201]","host":"relay-deployer"}
 */
import { readFileSync } from "node:fs";
import { open, readFile, readlink, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { brand, hasBrand } from "../util/brand.js";

export class LockHeldError extends Error {
  static isLockHeldError(e: unknown): e is LockHeldError {
    return hasBrand(e, "LockHeldError");
  }
  readonly code = "E_LOCK_HELD";
  constructor(
    readonly path: string,
    readonly holder: string,
    readonly hint?: string,
  ) {
    super(`another rollwave process (${holder}) holds ${path}`);
    this.name = "LockHeldError";
    brand(this, "LockHeldError");
  }
}

/** Who holds (or held) a lock. Fields other than pid are absent when the platform has no /proc. */
export interface LockOwner {
  pid: number;
  startTime?: string;
  bootId?: string;
  pidNs?: string;
  host?: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat: start time in clock ticks since boot (after the `(comm)` field). */
export function processStartTime(pid: number): string | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[19];
}

export async function currentOwner(): Promise<LockOwner> {
  const me: LockOwner = { pid: process.pid, host: hostname() };
  const start = processStartTime(process.pid);
  if (start) me.startTime = start;
  const boot = readText("/proc/sys/kernel/random/boot_id");
  if (boot) me.bootId = boot;
  const ns = await readlink("/proc/self/ns/pid").catch(() => undefined);
  if (ns) me.pidNs = ns;
  return me;
}

/** Parse a lock file: the JSON record, or a bare pid (locks written by older versions). */
export function parseLock(text: string): LockOwner | undefined {
  const t = text.trim();
  if (t.startsWith("{")) {
    try {
      const o = JSON.parse(t) as LockOwner;
      return Number.isInteger(o.pid) && o.pid > 0 ? o : undefined;
    } catch {
      return undefined;
    }
  }
  const pid = Number(t);
  return Number.isInteger(pid) && pid > 0 ? { pid } : undefined;
}

/**
 * Why a lock's holder cannot be running any more (stale), or undefined when it may be (held).
 * `me` is this process; `startTimeOf` reads a pid's start time (injected for tests).
 */
export function staleReason(
  holder: LockOwner | undefined,
  me: LockOwner,
  startTimeOf: (pid: number) => string | undefined = processStartTime,
  isAlive: (pid: number) => boolean = alive,
): string | undefined {
  if (!holder) return "the lock file is empty or unreadable (its writer died while creating it)";
  if (holder.bootId && me.bootId && holder.bootId !== me.bootId)
    return `pid ${holder.pid} ran before the machine rebooted`;
  const sameNs = !holder.pidNs || !me.pidNs || holder.pidNs === me.pidNs;
  if (!sameNs) {
    if (holder.host && holder.host === me.host)
      return `pid ${holder.pid} ran in an earlier container on ${holder.host} (another pid namespace)`;
    return undefined;
  }
  if (holder.pid === me.pid && holder.startTime !== me.startTime)
    return `pid ${holder.pid} was an earlier process (this process has the same pid now)`;
  if (!isAlive(holder.pid)) return `pid ${holder.pid} is no longer running`;
  if (holder.startTime) {
    const now = startTimeOf(holder.pid);
    if (now && now !== holder.startTime) return `pid ${holder.pid} now belongs to another process`;
  }
  return undefined;
}

function describeHolder(h: LockOwner | undefined): string {
  if (!h) return "unknown";
  return `pid ${h.pid}${h.host ? ` on ${h.host}` : ""}`;
}

/**
 * Take the lock, or throw LockHeldError. A stale lock is taken over; `onTakeover` gets a sentence
 * saying whose lock it was and why it was stale (the CLI prints it).
 */
export async function acquireLock(
  path: string,
  opts: { onTakeover?: (message: string) => void } = {},
): Promise<() => Promise<void>> {
  const me = await currentOwner();
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, "wx");
      await fh.writeFile(`${JSON.stringify(me)}\n`);
      await fh.close();
      return async () => {
        await unlink(path).catch(() => undefined);
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const holder = parseLock(await readFile(path, "utf8").catch(() => ""));
      const stale = staleReason(holder, me);
      if (stale === undefined) {
        const hint =
          holder?.host && holder.host !== me.host
            ? `the lock was taken on ${holder.host} (another container or machine); if that process is gone, delete ${path}`
            : undefined;
        throw new LockHeldError(path, describeHolder(holder), hint);
      }
      opts.onTakeover?.(`taking over a stale lock (${path}): ${stale}`);
      await unlink(path).catch(() => undefined);
    }
  }
  throw new LockHeldError(path, "unknown");
}
