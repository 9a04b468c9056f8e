/**
 * Crash-test harness: a standalone `rollwave sim` in its own process, a pass-through proxy in front
 * of it that can kill the CLI around a SendCommand, and `deploy`/`resume` run as child processes
 * through bin/rollwave.js that follow the simulator's clock (ROLLWAVE_SIM_CLOCK=1) and are killed
 * with SIGKILL when a chosen NDJSON event (or SendCommand) goes by.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { Agent, createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createAws } from "../../src/aws/connect.js";
import { capacityFloor } from "../../src/engine/capacity.js";
import type { RolloutEvent } from "../../src/engine/events.js";
import { discoverFleet } from "../../src/fleet/discover.js";
import { loadPlan } from "../../src/plan/load.js";
import type { CapacityFloor, SimMetricsSnapshot, SimStateSnapshot } from "../../src/sim/model/api.js";
import type { WireFaults } from "../../src/sim/wire/faults.js";
import { planWaves } from "../../src/waves/plan-waves.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BIN = join(ROOT, "bin/rollwave.js");

/** dist/ is what bin/rollwave.js runs: build it when it is missing or older than any file in src/. */
export function ensureBuilt(): void {
  const main = join(ROOT, "dist/cli/main.js");
  const newest = (dir: string): number => {
    let t = 0;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
    }
    return t;
  };
  if (existsSync(main) && statSync(main).mtimeMs >= newest(join(ROOT, "src"))) return;
  try {
    execFileSync(
      process.execPath,
      [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
      {
        cwd: ROOT,
        stdio: "ignore",
      },
    );
  } catch {
    // Type errors elsewhere do not stop emitting; the check below is what matters.
  }
  if (!existsSync(main)) throw new Error("dist/cli/main.js is missing: run `npx tsc -p tsconfig.build.json`");
}

const CHILD_ENV = {
  AWS_ACCESS_KEY_ID: "simulator",
  AWS_SECRET_ACCESS_KEY: "simulator",
  AWS_EC2_METADATA_DISABLED: "true",
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  CI: "true",
};

/** Children still running when the test process exits (a timeout, a crash) are killed with it. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});
function track(c: ChildProcess): ChildProcess {
  live.add(c);
  c.once("exit", () => live.delete(c));
  return c;
}

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...CHILD_ENV, ...extra };
  delete env.AWS_PROFILE;
  delete env.ROLLWAVE_DEBUG;
  return env;
}

// ── The standalone simulator ────────────────────────────────────────────────────────────────

export interface SimProcess {
  endpoint: string;
  region: string;
  child: ChildProcess;
  state(): Promise<SimStateSnapshot>;
  metrics(): Promise<SimMetricsSnapshot>;
  setFloor(floor: CapacityFloor): Promise<void>;
  setFaults(f: Partial<WireFaults>): Promise<void>;
  control(cmd: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

async function postJson(url: string, body: unknown): Promise<unknown> {
  const res = await fetch(url, { method: "POST", body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${url}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** `node bin/rollwave.js sim --fleet … --port 0 --time-scale … --seed …`, until close(). */
export async function startSimProcess(o: {
  fleet: string;
  scale: number;
  seed: number;
}): Promise<SimProcess> {
  const child = track(
    spawn(
      process.execPath,
      [
        BIN,
        "sim",
        "--fleet",
        o.fleet,
        "--port",
        "0",
        "--time-scale",
        String(o.scale),
        "--seed",
        String(o.seed),
      ],
      { cwd: ROOT, env: childEnv({}), stdio: ["ignore", "pipe", "pipe"] },
    ),
  );
  let out = "";
  let err = "";
  child.stderr?.on("data", (d) => {
    err += String(d);
  });
  const endpoint = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += String(d);
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m?.[1]) {
        child.stdout?.off("data", onData);
        child.stdout?.resume();
        resolve(m[1]);
      }
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`rollwave sim exited ${code}: ${err}${out}`)));
  });
  const region = /region (\S+),/.exec(out)?.[1] ?? "ap-northeast-1";
  const get = async <T>(path: string): Promise<T> => (await (await fetch(`${endpoint}${path}`)).json()) as T;
  return {
    endpoint,
    region,
    child,
    state: () => get<SimStateSnapshot>("/_sim/state"),
    metrics: () => get<SimMetricsSnapshot>("/_sim/metrics"),
    async setFloor(floor) {
      await postJson(`${endpoint}/_sim/floor`, floor);
    },
    async setFaults(f) {
      await postJson(`${endpoint}/_sim/faults`, f);
    },
    async control(cmd) {
      await postJson(`${endpoint}/_sim/control`, cmd);
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await gone;
    },
  };
}

/**
 * The floor the engine computes for this plan and fleet, given to the simulator so that its
 * invariant check counts every breach (the CLI only does this itself for an in-process --simulate).
 */
export async function declareFloor(
  sim: SimProcess,
  plan: string,
  vars: string[],
): Promise<{ floor: CapacityFloor; instances: number }> {
  const loaded = (await loadPlan(plan, { vars })).plan;
  const aws = createAws({
    region: sim.region,
    endpointUrl: sim.endpoint,
    credentials: { accessKeyId: "sim", secretAccessKey: "sim" },
  });
  try {
    const fleet = await discoverFleet(aws.reader, loaded.fleet, { region: sim.region });
    const floor = capacityFloor(fleet, planWaves(fleet, loaded));
    await sim.setFloor(floor);
    return { floor, instances: fleet.instances.length };
  } finally {
    aws.close();
  }
}

// ── A proxy that can kill the CLI around SendCommand ────────────────────────────────────────

/**
 * `before-response`: AWS (the simulator) has accepted the command, and the CLI is killed before it
 * hears the answer — the ambiguous case. `after-response`: the CLI is killed the moment the answer
 * has been handed to it, before it can journal the command id.
 */
export type SendCommandKill = "before-response" | "after-response";

export interface KillProxy {
  url: string;
  /** Kill `child` around the next `nth` SendCommand (1 = the next one); cleared once it fires. */
  arm(child: ChildProcess, nth: number, when: SendCommandKill, onKill: () => void): void;
  disarm(): void;
  close(): Promise<void>;
}

export async function startKillProxy(target: string): Promise<KillProxy> {
  const t = new URL(target);
  const agent = new Agent({ keepAlive: true });
  let armed: { child: ChildProcess; left: number; when: SendCommandKill; onKill: () => void } | undefined;
  const kill = () => {
    const a = armed;
    armed = undefined;
    if (!a) return;
    a.child.kill("SIGKILL");
    a.onKill();
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const isSend = req.headers["x-amz-target"] === "AmazonSSM.SendCommand";
      const fire = isSend && armed !== undefined && --armed.left === 0 ? armed.when : undefined;
      const up = request(
        {
          host: t.hostname,
          port: t.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: t.host },
          agent,
        },
        (upRes) => {
          const out: Buffer[] = [];
          upRes.on("data", (c: Buffer) => out.push(c));
          upRes.on("end", () => {
            if (fire === "before-response") {
              kill();
              req.socket.destroy();
              return;
            }
            res.writeHead(upRes.statusCode ?? 502, upRes.headers);
            res.end(Buffer.concat(out), () => {
              if (fire === "after-response") kill();
            });
          });
        },
      );
      up.on("error", () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      up.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    arm(child, nth, when, onKill) {
      armed = { child, left: nth, when, onKill };
    },
    disarm() {
      armed = undefined;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      agent.destroy();
    },
  };
}

// ── deploy / resume as a child process ───────────────────────────────────────────────────────

/** When to SIGKILL a run: on the `nth` event that matches, or around the `nth` SendCommand. */
export type KillPoint =
  | { label: string; event: (e: RolloutEvent) => boolean; nth?: number }
  | { label: string; sendCommand: SendCommandKill; nth?: number };

export interface CliChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: RolloutEvent[];
  stderr: string;
  /** The kill point that fired, if any. */
  killedAt?: string;
  realMs: number;
}

export interface CliTarget {
  endpoint: string;
  proxy?: KillProxy;
  plan: string;
  vars: string[];
  journalDir: string;
}

/** A deploy/resume child with its events and stderr collected as they come, for signal tests. */
export interface LiveCli {
  child: ChildProcess;
  events: RolloutEvent[];
  stderr(): string;
  /** Resolves when the process has exited, with how long after `since` (performance.now()). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Resolves with the first event that matches (rejects if the process exits first). */
  waitFor(match: (e: RolloutEvent) => boolean): Promise<RolloutEvent>;
}

export function spawnCli(command: "deploy" | "resume", t: CliTarget, extraArgs: string[] = []): LiveCli {
  const child = track(
    spawn(
      process.execPath,
      [
        BIN,
        command,
        t.plan,
        ...t.vars.flatMap((v) => ["--var", v]),
        "--yes",
        "--auto-approve",
        "--output",
        "json",
        "--journal-dir",
        t.journalDir,
        ...extraArgs,
      ],
      {
        cwd: ROOT,
        env: childEnv({ AWS_ENDPOINT_URL: t.endpoint, ROLLWAVE_SIM_CLOCK: "1" }),
        stdio: ["ignore", "pipe", "pipe"],
      },
    ),
  );
  const events: RolloutEvent[] = [];
  const waiters: { match: (e: RolloutEvent) => boolean; resolve: (e: RolloutEvent) => void }[] = [];
  let err = "";
  let buf = "";
  child.stdout?.on("data", (d: Buffer) => {
    buf += String(d);
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        const e = JSON.parse(line) as RolloutEvent;
        events.push(e);
        for (const w of waiters.splice(0)) {
          if (w.match(e)) w.resolve(e);
          else waiters.push(w);
        }
      } catch {
        // not an event line
      }
    }
  });
  child.stderr?.on("data", (d: Buffer) => {
    err += String(d);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal, at: performance.now() })),
  );
  return {
    child,
    events,
    stderr: () => err,
    exited,
    waitFor(match) {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve });
        void exited.then(() => reject(new Error(`the process exited before the event came:\n${err}`)));
      });
    },
  };
}

export function runCliChild(
  command: "deploy" | "resume",
  t: CliTarget,
  kill?: KillPoint,
  extraArgs: string[] = [],
): Promise<CliChildResult> {
  const started = performance.now();
  const args = [
    BIN,
    command,
    t.plan,
    ...t.vars.flatMap((v) => ["--var", v]),
    "--yes",
    "--auto-approve",
    "--output",
    "json",
    "--journal-dir",
    t.journalDir,
    ...extraArgs,
  ];
  const child = track(
    spawn(process.execPath, args, {
      cwd: ROOT,
      env: childEnv({ AWS_ENDPOINT_URL: t.endpoint, ROLLWAVE_SIM_CLOCK: "1" }),
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  const events: RolloutEvent[] = [];
  let stderr = "";
  let killedAt: string | undefined;
  const killNow = (label: string) => {
    if (killedAt) return;
    killedAt = label;
    child.kill("SIGKILL");
  };
  if (kill && "sendCommand" in kill) {
    if (!t.proxy) throw new Error("a SendCommand kill point needs the kill proxy");
    t.proxy.arm(child, kill.nth ?? 1, kill.sendCommand, () => {
      killedAt = kill.label;
    });
  }
  let matched = 0;
  let buf = "";
  child.stdout?.on("data", (d: Buffer) => {
    buf += String(d);
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      nl = buf.indexOf("\n");
      if (!line.trim() || killedAt) continue;
      let e: RolloutEvent;
      try {
        e = JSON.parse(line) as RolloutEvent;
      } catch {
        continue;
      }
      events.push(e);
      if (kill && "event" in kill && kill.event(e) && ++matched >= (kill.nth ?? 1)) killNow(kill.label);
    }
  });
  child.stderr?.on("data", (d: Buffer) => {
    stderr += String(d);
  });
  return new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      t.proxy?.disarm();
      resolve({
        code,
        signal,
        events,
        stderr,
        realMs: performance.now() - started,
        ...(killedAt ? { killedAt } : {}),
      });
    });
  });
}

export interface CrashRunResult {
  /** The kill points that fired, in order. */
  kills: string[];
  /** The last child's exit code and its rollout.finished event. */
  code: number | null;
  finished?: Extract<RolloutEvent, { type: "rollout.finished" }>;
  children: CliChildResult[];
  /** Resumes needed after the last kill (runs that ended paused and were resumed again). */
  extraResumes: number;
}

/**
 * deploy, then resume until the rollout ends: each child is killed at the next point of `points`
 * (if the rollout gets that far); once the points are used up, resume runs to the end. A run that
 * ends `paused` (exit 3) or 130 is resumed again, at most `maxExtraResumes` times.
 */
export async function crashAndResume(
  t: CliTarget,
  points: KillPoint[],
  o: { maxExtraResumes?: number } = {},
): Promise<CrashRunResult> {
  const children: CliChildResult[] = [];
  const kills: string[] = [];
  let extraResumes = 0;
  let command: "deploy" | "resume" = "deploy";
  let k = 0;
  for (;;) {
    const point = points[k];
    const r = await runCliChild(command, t, point);
    children.push(r);
    command = "resume";
    if (r.killedAt) {
      kills.push(r.killedAt);
      k++;
      continue;
    }
    // The point did not fire: the run got to an end first (or failed to start).
    const finished = r.events.findLast((e) => e.type === "rollout.finished") as CrashRunResult["finished"];
    if (r.code === 3 && extraResumes < (o.maxExtraResumes ?? 3)) {
      extraResumes++;
      k = points.length; // no more kills: let it finish
      continue;
    }
    return { kills, code: r.code, children, extraResumes, ...(finished ? { finished } : {}) };
  }
}

export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** What the fleet must look like after every ending: the facts a crash must not break. */
export interface FleetVerdict {
  wrongVersion: string[];
  notInService: string[];
  duplicates: SimStateSnapshot["duplicates"];
  violations: SimMetricsSnapshot["invariantViolations"];
  suspended: { name: string; suspendedProcesses: string[] }[];
}

export async function fleetVerdict(sim: SimProcess, version: string): Promise<FleetVerdict> {
  const [s, m] = await Promise.all([sim.state(), sim.metrics()]);
  const running = s.instances.filter((i) => i.state === "running");
  return {
    wrongVersion: running.filter((i) => i.version !== version).map((i) => `${i.id} ${i.version}`),
    notInService: running
      .filter((i) => !i.serviceUp || Object.values(i.targets).some((h) => h !== "healthy"))
      .map((i) => `${i.id} ${JSON.stringify(i.targets)}`),
    duplicates: s.duplicates,
    violations: m.invariantViolations,
    suspended: s.autoScalingGroups.filter((g) => g.suspendedProcesses.length > 0),
  };
}

/** An event matcher: an instance entering `to` (optionally in the canary, wave 0). */
export function entering(to: string, o: { canary?: boolean } = {}): (e: RolloutEvent) => boolean {
  return (e) =>
    e.type === "instance.phase" && e.to === to && (o.canary === undefined || (e.wave === 0) === o.canary);
}

/** What happened, process by process, for an assertion message: kills, failures, policy, ending. */
export function runStory(run: CrashRunResult): string {
  const lines: string[] = [];
  run.children.forEach((c, n) => {
    lines.push(
      `#${n}: ${Math.round(c.realMs)}ms, exit ${c.code ?? c.signal}${c.killedAt ? `, killed at ${c.killedAt}` : ""}`,
    );
    for (const e of c.events) {
      if (e.type === "instance.failed") lines.push(`  failed ${e.id} (${e.phase}): ${e.reason}`);
      else if (e.type === "policy.triggered") lines.push(`  policy ${e.action}: ${e.reason ?? ""}`);
      else if (e.type === "warning") lines.push(`  warning ${e.code}: ${e.message}`);
      else if (e.type === "rollout.finished") lines.push(`  finished ${e.status}: ${e.reason ?? ""}`);
    }
    const err = c.stderr.trim();
    if (err) lines.push(`  stderr: ${err.split("\n").slice(-5).join("\n          ")}`);
  });
  return lines.join("\n");
}
