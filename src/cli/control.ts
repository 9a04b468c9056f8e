/**
 * Where control requests (`rollwave abort [--rollback]`, `rollwave approve`) wait for the running
 * rollout, next to its lock:
 *   - `ssm`: a sibling SSM parameter of the fleet lock, `<lock parameter>/control` (default
 *     `/rollwave/locks/<plan name>/control`), so any machine with the permission can reach a
 *     rollout running anywhere. The running process reads it at most once per `CONTROL_POLL_MS`
 *     (one GetParameter; ~360 an hour) and deletes a request once it is journaled.
 *   - `file`: `control.json` in the journal directory, for `lock.store: local` and `--simulate`
 *     (one machine, like the local lock). Written atomically (temporary file + rename).
 * One request waits at a time; a newer one replaces it (an abort replaces a pending approval, an
 * approval never replaces a pending abort: the CLI refuses it). Requests carry their rollout id, so
 * a request left for a rollout that has ended is ignored (and removed) by a later one.
 */
import { randomUUID } from "node:crypto";
import { readFile, rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AwsReader, AwsWriter } from "../aws/types.js";
import {
  type ControlAction,
  type ControlChannel,
  type ControlRequest,
  parseControlRequest,
} from "../engine/control.js";
import type { Clock } from "../util/clock.js";
import type { FleetLockOwner } from "./fleet-lock.js";

/** How often a running rollout reads the SSM control parameter (clock ms). */
export const CONTROL_POLL_MS = 10_000;

/** `/rollwave/locks/camera-relay` → `/rollwave/locks/camera-relay/control`. */
export function controlParameter(lockParameter: string): string {
  return `${lockParameter.replace(/\/+$/, "")}/control`;
}

/** The control file of a journal directory (`.rollwave/<plan>/control.json`). */
export function controlFile(planJournalDir: string): string {
  return join(planJournalDir, "control.json");
}

/** A store of one pending request: read, write (replace), remove if it is still that one. */
export interface ControlStore {
  /** For messages: `SSM parameter /rollwave/locks/x/control` or `file .rollwave/x/control.json`. */
  label: string;
  /** The stored request; `invalid` when something that is not a request is there. */
  get(): Promise<ControlRequest | "invalid" | undefined>;
  put(request: ControlRequest): Promise<void>;
  /** Remove the stored request if it is `id` (a newer one stays). */
  remove(id: string): Promise<void>;
}

export function ssmControlStore(
  aws: { reader: AwsReader; writer?: AwsWriter },
  parameter: string,
): ControlStore {
  return {
    label: `SSM parameter ${parameter}`,
    async get() {
      const p = await aws.reader.getParameter(parameter);
      if (!p) return undefined;
      return parseControlRequest(p.value) ?? "invalid";
    },
    async put(request) {
      if (!aws.writer) throw new Error("a read-only connection cannot write a control request");
      await aws.writer.putParameter({ name: parameter, value: JSON.stringify(request), overwrite: true });
    },
    async remove(id) {
      if (!aws.writer) return;
      const p = await aws.reader.getParameter(parameter);
      if (!p) return;
      const r = parseControlRequest(p.value);
      // Parameter Store has no conditional delete: a request written between this read and the
      // delete would be lost. The window is one round trip; `status` shows whether it was handled.
      if (r === undefined || r.id === id) await aws.writer.deleteParameter(parameter);
    },
  };
}

export function fileControlStore(path: string): ControlStore {
  const read = async () => {
    try {
      return await readFile(path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
  };
  return {
    label: `file ${path}`,
    async get() {
      const text = await read();
      if (text === undefined) return undefined;
      return parseControlRequest(text) ?? "invalid";
    },
    async put(request) {
      const tmp = `${path}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
      await writeFile(tmp, `${JSON.stringify(request)}\n`);
      await rename(tmp, path);
    },
    async remove(id) {
      const text = await read();
      if (text === undefined) return;
      const r = parseControlRequest(text);
      if (r === undefined || r.id === id) await unlink(path).catch(() => undefined);
    },
  };
}

/**
 * The engine's view of a store: read at most once per `pollMs` of the run's clock (answering from
 * the last read in between), acknowledge by removing. A value that is not a request is removed
 * (with a warning), so a stray write cannot make every tick re-read garbage.
 */
export function controlChannel(
  store: ControlStore,
  o: { clock: Clock; pollMs: number; onWarning(message: string): void },
): ControlChannel {
  let readAt = Number.NEGATIVE_INFINITY;
  let last: ControlRequest | undefined;
  return {
    async read() {
      const now = o.clock.now();
      if (now - readAt < o.pollMs) return last;
      readAt = now;
      const got = await store.get();
      if (got === "invalid") {
        o.onWarning(
          `warning: ${store.label} holds something that is not a rollwave control request: removed`,
        );
        await store.remove("");
        last = undefined;
        return undefined;
      }
      last = got;
      return got;
    },
    async ack(request) {
      if (last?.id === request.id) last = undefined;
      await store.remove(request.id);
    },
  };
}

/** `ana@laptop (CI job github:1234/1)` */
export function requesterName(owner: FleetLockOwner): string {
  return `${owner.user}@${owner.host}${owner.ciJob ? ` (CI job ${owner.ciJob})` : ""}`;
}

export function newControlRequest(
  action: ControlAction,
  rolloutId: string,
  owner: FleetLockOwner,
  now: number,
): ControlRequest {
  return {
    id: randomUUID(),
    action,
    rolloutId,
    requestedBy: requesterName(owner),
    at: new Date(now).toISOString(),
  };
}
