/**
 * What a finished (or stopped) rollout looked like, folded from its event stream: the waves with
 * their start, end and counts, every failure with its reason, the connection counts the metric
 * reported, throttling, and how it ended. The CI job summary is written from it; renderers depend
 * only on events, so this is built the same way from a live run or a recorded one.
 */
import type { InstancePhase, RolloutEvent } from "../engine/events.js";
import type { FinishedEvent } from "./summary.js";

type Started = Extract<RolloutEvent, { type: "rollout.started" }>;

interface WaveRecord {
  index: number;
  kind: "canary" | "batch";
  size: number;
  /** Clock times (epoch ms); absent for a wave that never started or never finished. */
  startedAt?: number;
  finishedAt?: number;
  succeeded?: number;
  failed?: number;
}

interface FailureRecord {
  at: number;
  id: string;
  az: string;
  wave: number;
  phase: InstancePhase;
  reason: string;
}

export interface RunRecord {
  started?: Started;
  waves: WaveRecord[];
  failures: FailureRecord[];
  /** What the failure policy did, in order ("rollback: 1 instance(s) failed, more than maxFailed 0"). */
  policy: string[];
  /** Connected devices as the metric reported them (1-min max per instance): first, lowest, last. */
  connections?: { first: number; min: number; last: number };
  throttled: number;
  finished?: FinishedEvent;
}

export function createRunRecorder(): { onEvent(e: RolloutEvent): void; record(): RunRecord } {
  const r: RunRecord = { waves: [], failures: [], policy: [], throttled: 0 };
  const wave = (index: number) => r.waves.find((w) => w.index === index);
  return {
    onEvent(e) {
      switch (e.type) {
        case "rollout.started":
          // A resumed run starts again: keep what the waves already did, add any new ones.
          r.started = e;
          for (const w of e.waves)
            if (!wave(w.index)) r.waves.push({ index: w.index, kind: w.kind, size: w.size });
          r.waves.sort((a, b) => a.index - b.index);
          return;
        case "wave.started": {
          const w = wave(e.index) ?? { index: e.index, kind: e.kind, size: e.instanceIds.length };
          if (!wave(e.index)) r.waves.push(w);
          w.startedAt ??= e.at;
          return;
        }
        case "wave.finished": {
          const w = wave(e.index);
          if (!w) return;
          w.finishedAt = e.at;
          w.succeeded = e.succeeded;
          w.failed = e.failed;
          return;
        }
        case "instance.failed":
          r.failures.push({ at: e.at, id: e.id, az: e.az, wave: e.wave, phase: e.phase, reason: e.reason });
          return;
        case "policy.triggered":
          r.policy.push(`${e.action}: ${e.reason ?? `${e.failed} failed (max ${e.maxFailed})`}`);
          return;
        case "progress":
          if (e.connections === undefined) return;
          r.connections = r.connections
            ? { ...r.connections, min: Math.min(r.connections.min, e.connections), last: e.connections }
            : { first: e.connections, min: e.connections, last: e.connections };
          return;
        case "aws.throttled":
          r.throttled += e.count;
          return;
        case "rollout.finished":
          r.finished = e;
          return;
        default:
          return;
      }
    },
    record: () => r,
  };
}
