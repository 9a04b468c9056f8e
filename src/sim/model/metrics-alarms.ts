/**
 * CloudWatch in the model: per-instance connection counts and the fleet's connected cameras,
 * recorded every `metrics.sampleEvery` into fixed-size rings (memory is bounded by retention, not by
 * how long the simulator runs), and alarms whose state follows model quantities.
 *
 * Memory: 1,000 instances × (3 h / 10 s = 1,080 samples) × 4 bytes ≈ 4.3 MB.
 */
import type { SimAlarm, SimMetricQuery, SimMetricResult } from "./api.js";
import type { Core } from "./core.js";
import type { AlarmSpec } from "./fleet-spec.js";

export class Metrics {
  private readonly cap: number;
  private readonly times: Float64Array;
  private readonly perInst: Float32Array;
  private readonly fleet: Float64Array;
  private head = 0;
  private count = 0;
  private readonly n: number;

  constructor(
    private readonly core: Core,
    private readonly read: { connections(inst: number): number; connected(): number },
  ) {
    const m = core.spec.metrics;
    this.n = core.instances.length;
    this.cap = Math.max(2, Math.ceil(m.retention / m.sampleEvery));
    this.times = new Float64Array(this.cap);
    this.perInst = new Float32Array(this.cap * this.n);
    this.fleet = new Float64Array(this.cap);
  }

  /** Record one datapoint per metric at `core.now`. */
  sample(): void {
    const slot = this.head;
    this.times[slot] = this.core.now;
    const base = slot * this.n;
    for (let i = 0; i < this.n; i++) this.perInst[base + i] = this.read.connections(i);
    this.fleet[slot] = this.read.connected();
    this.head = (this.head + 1) % this.cap;
    if (this.count < this.cap) this.count++;
  }

  getMetricData(q: { queries: SimMetricQuery[]; start: number; end: number }): SimMetricResult[] {
    const m = this.core.spec.metrics;
    return q.queries.map((query) => {
      const result: SimMetricResult = {
        id: query.id,
        label: query.metricName,
        timestamps: [],
        values: [],
        statusCode: "Complete",
      };
      if (query.namespace !== m.namespace) return result;
      let column: ((slot: number) => number) | undefined;
      if (query.metricName === m.connectionsMetric) {
        const dim = query.dimensions.find((d) => d.name === m.instanceDimension);
        const inst = dim ? this.core.byId.get(dim.value) : undefined;
        if (inst && query.dimensions.length === 1)
          column = (slot) => this.perInst[slot * this.n + inst.idx] as number;
      } else if (query.metricName === m.connectedCamerasMetric && query.dimensions.length === 0) {
        column = (slot) => this.fleet[slot] as number;
      }
      if (!column) return result;
      const periodMs = Math.max(1, query.periodSeconds) * 1000;
      const buckets = new Map<number, number[]>();
      for (let k = 0; k < this.count; k++) {
        const slot = (this.head - 1 - k + this.cap) % this.cap;
        const t = this.times[slot] as number;
        if (t < q.start) break; // newest first: everything further back is older still
        if (t >= q.end) continue;
        const b = q.start + Math.floor((t - q.start) / periodMs) * periodMs;
        const list = buckets.get(b);
        if (list) list.push(column(slot));
        else buckets.set(b, [column(slot)]);
      }
      for (const b of [...buckets.keys()].sort((a, z) => z - a)) {
        result.timestamps.push(b);
        result.values.push(aggregate(query.stat, buckets.get(b) as number[]));
      }
      return result;
    });
  }
}

function aggregate(stat: string, xs: number[]): number {
  switch (stat) {
    case "Maximum":
      return Math.max(...xs);
    case "Minimum":
      return Math.min(...xs);
    case "Sum":
      return xs.reduce((a, b) => a + b, 0);
    case "SampleCount":
      return xs.length;
    default: // Average, and percentiles approximated by the average
      return xs.reduce((a, b) => a + b, 0) / xs.length;
  }
}

type Quantities = Record<AlarmSpec["quantity"], number>;

const COMPARISON: Record<AlarmSpec["comparison"], string> = {
  "<": "LessThanThreshold",
  "<=": "LessThanOrEqualToThreshold",
  ">": "GreaterThanThreshold",
  ">=": "GreaterThanOrEqualToThreshold",
};

interface AlarmRuntime {
  spec: AlarmSpec;
  data: SimAlarm;
  sum: number;
  samples: number;
  breaching: number;
}

/**
 * Alarms: each accumulates the per-second value of its quantity and, every `period`, compares the
 * period's average with the threshold. ALARM after `evaluationPeriods` consecutive breaching periods,
 * OK after one that does not breach, INSUFFICIENT_DATA until the first period ends.
 */
export class Alarms {
  private readonly alarms: AlarmRuntime[];

  constructor(private readonly core: Core) {
    const { spec } = core;
    this.alarms = spec.alarms.map((a) => ({
      spec: a,
      sum: 0,
      samples: 0,
      breaching: 0,
      data: {
        name: a.name,
        arn: `arn:aws:cloudwatch:${spec.region}:${spec.account}:alarm:${a.name}`,
        state: "INSUFFICIENT_DATA",
        reason: "Unchecked: Initial alarm creation",
        updatedAt: core.now,
        ...(a.namespace ? { namespace: a.namespace } : {}),
        ...(a.metricName ? { metricName: a.metricName } : {}),
        threshold: a.threshold,
        comparison: COMPARISON[a.comparison],
      },
    }));
  }

  /** Schedule each alarm's evaluations. */
  start(): void {
    for (const a of this.alarms) {
      const tick = () => {
        this.evaluate(a);
        this.core.after(a.spec.period, tick);
      };
      this.core.after(a.spec.period, tick);
    }
  }

  accumulate(q: Quantities): void {
    for (const a of this.alarms) {
      a.sum += q[a.spec.quantity];
      a.samples++;
    }
  }

  list(): SimAlarm[] {
    return this.alarms.map((a) => ({ ...a.data }));
  }

  private evaluate(a: AlarmRuntime): void {
    if (a.samples === 0) return;
    const value = a.sum / a.samples;
    a.sum = 0;
    a.samples = 0;
    const t = a.spec.threshold;
    const breach =
      a.spec.comparison === "<"
        ? value < t
        : a.spec.comparison === "<="
          ? value <= t
          : a.spec.comparison === ">"
            ? value > t
            : value >= t;
    a.breaching = breach ? a.breaching + 1 : 0;
    const next = a.breaching >= a.spec.evaluationPeriods ? "ALARM" : breach ? a.data.state : "OK";
    const effective = next === "INSUFFICIENT_DATA" && !breach ? "OK" : next;
    if (effective !== a.data.state) {
      a.data.state = effective;
      a.data.updatedAt = this.core.now;
      a.data.reason = `Threshold Crossed: ${a.spec.quantity} averaged ${round(value)} over the last period (${breach ? "breaching" : "not breaching"} ${a.spec.comparison} ${t}).`;
    }
  }
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
