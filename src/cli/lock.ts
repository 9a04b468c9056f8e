/**
 * A local lock beside the journal, so two `deploy`/`resume` processes on one machine can never
 * append to the same journal. Created atomically (`wx`); a lock whose process is gone is stale and
 * taken over. It guards this machine only: two machines rolling the same fleet are not prevented.
 */
import { open, readFile, unlink } from "node:fs/promises";

export class LockHeldError extends Error {
  readonly code = "E_LOCK_HELD";
  constructor(
    readonly path: string,
    readonly holder: string,
  ) {
    super(`another rollwave process (${holder}) holds ${path}`);
    this.name = "LockHeldError";
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function acquireLock(path: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, "wx");
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return async () => {
        await unlink(path).catch(() => undefined);
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const holder = (await readFile(path, "utf8").catch(() => "")).trim();
      const pid = Number(holder);
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) throw new LockHeldError(path, `pid ${pid}`);
      await unlink(path).catch(() => undefined);
    }
  }
  throw new LockHeldError(path, "unknown");
}
