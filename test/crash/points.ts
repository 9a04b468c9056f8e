/**
 * Where the crash matrix kills the CLI: chosen from its NDJSON events, or around a SendCommand
 * (through the kill proxy). Each point applies to one process: `nth` counts that process's events.
 */
import { entering, type KillPoint } from "./harness.js";

/**
 * Kills outside the SendCommand window, spread over the whole forward rollout: the canary's drain,
 * registration and bake, then a cycle of mid-drain, mid-registration and warming over the batches.
 */
export function forwardPoints(cycles = 6): KillPoint[] {
  const canary: KillPoint[] = [
    { label: "canary: draining", event: entering("draining", { canary: true }) },
    { label: "canary: registering", event: entering("registering", { canary: true }) },
    { label: "canary: baking", event: (e) => e.type === "gate.waiting" && e.gate === "bake" },
  ];
  const cycle = (k: number): KillPoint[] => [
    { label: `waves ${k}: mid-drain`, event: entering("draining", { canary: false }), nth: 12 },
    { label: `waves ${k}: mid-registration`, event: entering("registering", { canary: false }), nth: 10 },
    { label: `waves ${k}: warming`, event: entering("warming", { canary: false }), nth: 12 },
  ];
  return [...canary, ...Array.from({ length: cycles }, (_, k) => cycle(k + 1)).flat()];
}

/**
 * Kills inside the SendCommand window: the simulator accepted the command but the CLI never heard
 * the answer; the CLI heard it but died before journaling the command id; and the `deploying`
 * decision is journaled but the command may not have been sent yet.
 */
export function sendCommandPoints(cycles = 2): KillPoint[] {
  const canary: KillPoint[] = [
    { label: "canary: SendCommand accepted, answer lost", sendCommand: "before-response" },
    { label: "canary: deploying decided", event: entering("deploying", { canary: true }) },
    { label: "canary: right after SendCommand", sendCommand: "after-response" },
  ];
  const cycle = (k: number): KillPoint[] => [
    { label: `waves ${k}: SendCommand accepted, answer lost`, sendCommand: "before-response", nth: 2 },
    { label: `waves ${k}: right after SendCommand`, sendCommand: "after-response", nth: 2 },
    { label: `waves ${k}: deploying decided`, event: entering("deploying", { canary: false }), nth: 15 },
  ];
  return [...canary, ...Array.from({ length: cycles }, (_, k) => cycle(k + 1)).flat()];
}

/**
 * The bad release fails the canary's health checks, and the failure policy rolls it back: kills
 * outside the SendCommand window (the canary registering, re-registering and warming on the way back).
 */
export function rollbackPoints(): KillPoint[] {
  return [
    { label: "rollback: canary registering", event: entering("registering", { canary: true }) },
    { label: "rollback: re-registering", event: entering("registering", { canary: true }) },
    { label: "rollback: warming", event: entering("warming", { canary: true }) },
  ];
}

/** The rollback again, killed inside the rollback command's SendCommand window. */
export function rollbackWindowPoints(): KillPoint[] {
  return [
    { label: "rollback: policy triggered", event: (e) => e.type === "policy.triggered" },
    { label: "rollback: rollback command accepted, answer lost", sendCommand: "before-response" },
    { label: "rollback: rolling back decided", event: entering("rollingBack") },
  ];
}
