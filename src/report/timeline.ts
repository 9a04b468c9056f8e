/**
 * What the HTML report draws, folded from a rollout's journal: every instance's phases over time,
 * the waves' start and end, and markers for approvals, capacity holds, failures and the failure
 * policy. The journal records each changed instance (with `phaseSince`) and the global state on
 * every decision, so this is exact to the tick, for a finished, paused or interrupted run alike.
 */
import { IN_FLIGHT_PHASES, type InstancePhase, type RolloutStatus } from "../engine/events.js";
import type { JournalRecord } from "../engine/journal.js";
import type { InstanceRun } from "../engine/state.js";

interface PhaseChange {
  at: number;
  phase: InstancePhase;
  /** Counts as serving traffic: not taken out by the rollout, not in flight. */
  inService: boolean;
}

export interface InstanceTimeline {
  id: string;
  az: string;
  wave: number;
  changes: PhaseChange[];
  reason?: string;
  failedPhase?: InstancePhase;
}

export type MarkerKind = "wave" | "approval" | "hold" | "failure" | "policy" | "resume";

interface Marker {
  at: number;
  kind: MarkerKind;
  label: string;
}

export interface ReportData {
  name: string;
  startedAt: number;
  endedAt: number;
  status?: RolloutStatus;
  reason?: string;
  azs: string[];
  instances: InstanceTimeline[];
  waves: { index: number; kind: "canary" | "batch"; size: number; startedAt?: number; finishedAt?: number }[];
  markers: Marker[];
  /** Instances each AZ must keep in service (the capacity floor), when known. */
  floor?: Record<string, number>;
  /** Under --simulate: cameras connected over time, from the simulator's own time series. */
  cameras?: { total: number; series: { at: number; connected: number }[] };
}

function inService(i: Pick<InstanceRun, "phase" | "out">): boolean {
  return !i.out && !IN_FLIGHT_PHASES.has(i.phase);
}

/** Fold journal records into the report's data. Throws when the journal has no `begin` record. */
export function timelineFromJournal(records: JournalRecord[]): ReportData {
  const begin = records.find((r) => r.type === "begin");
  if (begin?.type !== "begin") throw new Error("the journal has no begin record: no rollout to report");
  const g0 = begin.state.global;
  const instances = new Map<string, InstanceTimeline>();
  for (const i of Object.values(begin.state.instances).sort((a, b) => a.seq - b.seq)) {
    instances.set(i.id, {
      id: i.id,
      az: i.az,
      wave: i.wave,
      changes: [{ at: begin.at, phase: i.phase, inService: inService(i) }],
    });
  }
  const waves: ReportData["waves"] = g0.waves.map((w) => ({
    index: w.index,
    kind: w.kind,
    size: w.ids.length,
    ...(w.started ? { startedAt: begin.at } : {}),
  }));
  const data: ReportData = {
    name: begin.name,
    startedAt: begin.at,
    endedAt: begin.at,
    azs: [...new Set([...instances.values()].map((i) => i.az))].sort(),
    instances: [...instances.values()],
    waves,
    markers: [],
  };
  let approval = g0.canary.approval;
  let held = g0.heldSince !== undefined;
  let policy = g0.policy.action;
  const finished = new Set(g0.waves.filter((w) => w.finished).map((w) => w.index));

  for (const r of records) {
    data.endedAt = Math.max(data.endedAt, r.at);
    switch (r.type) {
      case "decision":
      case "acted": {
        for (const i of r.instances) {
          const t = instances.get(i.id);
          if (!t) continue;
          const last = t.changes.at(-1);
          const now = inService(i);
          if (last && last.phase === i.phase && last.inService === now) continue;
          // phaseSince is when the engine moved it; the service flag flips when the call is made.
          const at = last?.phase !== i.phase ? Math.max(i.phaseSince, last?.at ?? i.phaseSince) : r.at;
          t.changes.push({ at, phase: i.phase, inService: now });
          if (i.phase === "failed" && last?.phase !== "failed") {
            if (i.reason !== undefined) t.reason = i.reason;
            if (i.failedPhase !== undefined) t.failedPhase = i.failedPhase;
            data.markers.push({
              at,
              kind: "failure",
              label: `${i.id} failed${i.failedPhase ? ` in ${i.failedPhase}` : ""}`,
            });
          }
        }
        const g = r.global;
        g.waves.forEach((w, k) => {
          const wave = waves[k];
          if (!wave) return;
          if (w.started && wave.startedAt === undefined) {
            wave.startedAt = r.at;
            data.markers.push({ at: r.at, kind: "wave", label: `wave ${w.index} started` });
          }
          if (w.finished && !finished.has(w.index)) {
            finished.add(w.index);
            wave.finishedAt = r.at;
            data.markers.push({ at: r.at, kind: "wave", label: `wave ${w.index} finished` });
          }
        });
        if (g.canary.approval !== approval) {
          approval = g.canary.approval;
          if (approval === "waiting")
            data.markers.push({ at: r.at, kind: "approval", label: "approval requested" });
          if (approval === "approved") data.markers.push({ at: r.at, kind: "approval", label: "approved" });
        }
        const nowHeld = g.heldSince !== undefined;
        if (nowHeld && !held) {
          data.markers.push({
            at: g.heldSince ?? r.at,
            kind: "hold",
            label: g.heldReason ?? "capacity hold",
          });
        }
        held = nowHeld;
        if (g.policy.action !== policy) {
          policy = g.policy.action;
          if (policy)
            data.markers.push({
              at: r.at,
              kind: "policy",
              label: `failure policy: ${policy}${g.policy.reason ? ` (${g.policy.reason})` : ""}`,
            });
        }
        break;
      }
      case "resume":
        data.markers.push({ at: r.at, kind: "resume", label: "resumed" });
        delete data.status;
        delete data.reason;
        break;
      case "end":
        data.status = r.status;
        if (r.reason !== undefined) data.reason = r.reason;
        else delete data.reason;
        break;
      default:
        break;
    }
  }
  // A wave starts when its first instance leaves pending, which the journal records (phaseSince)
  // before the decision that also marks the wave started.
  for (const w of waves) {
    const first = Math.min(
      ...data.instances
        .filter((i) => i.wave === w.index)
        .map((i) => i.changes.find((c) => c.phase !== "pending")?.at ?? Number.POSITIVE_INFINITY),
    );
    if (w.startedAt === undefined || first >= w.startedAt) continue;
    const marker = data.markers.find((m) => m.kind === "wave" && m.label === `wave ${w.index} started`);
    if (marker) marker.at = first;
    w.startedAt = first;
  }
  data.markers.sort((a, b) => a.at - b.at);
  return data;
}

/** An instance's time in the rollout: from leaving `pending` to its last settled phase. */
export function instanceSpan(t: InstanceTimeline): { start?: number; end?: number; final: InstancePhase } {
  const final = t.changes.at(-1)?.phase ?? "pending";
  const start = t.changes.find((c) => c.phase !== "pending")?.at;
  const settled = !IN_FLIGHT_PHASES.has(final) && final !== "pending";
  const end = settled ? t.changes.at(-1)?.at : undefined;
  return { ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}), final };
}
