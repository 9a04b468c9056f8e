/**
 * `rollwave report`: one self-contained HTML file (inline CSS, inline SVG, a few lines of inline
 * script for sorting; no external asset, so it opens offline and attaches to a ticket as is).
 *
 *   1. instances by phase over time, stacked;
 *   2. instances in service per AZ against the capacity floor (dashed), when the floor is known;
 *   3. cameras connected and displaced (under --simulate, from the simulator's time series);
 *   every chart carries the markers: wave boundaries, approvals, capacity holds, failures, policy.
 *   Then the markers as a list, per-instance rows (sortable; slowest first) and the failure table.
 *
 * The script also measures what the browser laid out and writes it to `<html data-rendered>`, so a
 * headless browser test can tell an empty chart or a script error from a drawn report.
 */
import type { InstancePhase } from "../engine/events.js";
import { formatDuration } from "../util/duration.js";
import { type InstanceTimeline, instanceSpan, type MarkerKind, type ReportData } from "./timeline.js";

const W = 1000;
const H = 210;
const M = { left: 56, right: 16, top: 14, bottom: 26 };
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;
/** Columns sampled across the run: enough for a smooth chart, bounded for a 1,000-server fleet. */
const COLUMNS = 480;

const GROUPS: { name: string; color: string; phases: InstancePhase[] }[] = [
  { name: "done", color: "#22c55e", phases: ["done"] },
  { name: "rolled back", color: "#64748b", phases: ["rolledBack"] },
  { name: "returning (registering, warming)", color: "#8b5cf6", phases: ["registering", "warming"] },
  { name: "updating (deploying, validating)", color: "#3b82f6", phases: ["deploying", "validating"] },
  {
    name: "leaving (preDrain, deregistering, draining)",
    color: "#f59e0b",
    phases: ["preDrain", "deregistering", "draining"],
  },
  { name: "rolling back", color: "#f97316", phases: ["rollingBack"] },
  { name: "failed", color: "#ef4444", phases: ["failed"] },
  { name: "skipped", color: "#a8a29e", phases: ["skipped"] },
  { name: "pending", color: "#e2e8f0", phases: ["pending"] },
];
const AZ_COLORS = ["#2563eb", "#db2777", "#059669", "#d97706", "#7c3aed", "#0891b2"];
const MARKER_COLORS: Record<MarkerKind, string> = {
  wave: "#1d4ed8",
  approval: "#15803d",
  hold: "#b45309",
  failure: "#dc2626",
  policy: "#7f1d1d",
  resume: "#0e7490",
};

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
const f1 = (n: number) => (Math.round(n * 10) / 10).toString();

interface Scale {
  x(at: number): number;
  t0: number;
  t1: number;
}

function timeScale(d: ReportData): Scale {
  const t0 = d.startedAt;
  const t1 = Math.max(d.endedAt, t0 + 1000);
  return { t0, t1, x: (at) => M.left + ((at - t0) / (t1 - t0)) * PW };
}

/** Sample times: COLUMNS+1 evenly spaced from start to end. */
function sampleTimes(s: Scale): number[] {
  return Array.from({ length: COLUMNS + 1 }, (_, k) => s.t0 + ((s.t1 - s.t0) * k) / COLUMNS);
}

/** Each instance's change in effect at each sample time (changes are in time order). */
function sampleInstances(instances: InstanceTimeline[], times: number[]) {
  return instances.map((inst) => {
    let j = 0;
    return times.map((t) => {
      while (j + 1 < inst.changes.length && (inst.changes[j + 1]?.at ?? Number.POSITIVE_INFINITY) <= t) j++;
      return inst.changes[j];
    });
  });
}

function xAxis(s: Scale): string {
  const span = (s.t1 - s.t0) / 60_000;
  const step = [1, 2, 5, 10, 15, 30, 60, 120, 240, 480, 1440].find((m) => span / m <= 10) ?? 2880;
  const out: string[] = [];
  for (let m = 0; m <= span + 1e-9; m += step) {
    const x = s.x(s.t0 + m * 60_000);
    out.push(
      `<line class="tick" x1="${f1(x)}" x2="${f1(x)}" y1="${M.top + PH}" y2="${M.top + PH + 4}"/>` +
        `<text class="tick-label" x="${f1(x)}" y="${M.top + PH + 16}" text-anchor="middle">${m === 0 ? "start" : `+${formatDuration(m * 60_000)}`}</text>`,
    );
  }
  return out.join("");
}

/** A vertical scale from `min` to `max` (a chart need not start at 0 to show what moved). */
function yScale(min: number, max: number): (v: number) => number {
  const span = Math.max(1, max - min);
  return (v) => M.top + PH - ((v - min) / span) * PH;
}

function yAxis(min: number, max: number, label: string): string {
  const y = yScale(min, max);
  const ticks = [...new Set([min, Math.round((min + max) / 2), max])]
    .map(
      (v) =>
        `<line class="grid" x1="${M.left}" x2="${M.left + PW}" y1="${f1(y(v))}" y2="${f1(y(v))}"/>` +
        `<text class="tick-label" x="${M.left - 6}" y="${f1(y(v) + 4)}" text-anchor="end">${v}</text>`,
    )
    .join("");
  return `${ticks}<text class="axis-label" x="12" y="${M.top + PH / 2}" transform="rotate(-90 12 ${M.top + PH / 2})" text-anchor="middle">${esc(label)}</text>`;
}

function markers(d: ReportData, s: Scale): string {
  return d.markers
    .map((m) => {
      const x = f1(s.x(m.at));
      return `<line class="marker marker-${m.kind}" x1="${x}" x2="${x}" y1="${M.top}" y2="${M.top + PH}" stroke="${MARKER_COLORS[m.kind]}"><title>${esc(`${clock(m.at, d)} ${m.label}`)}</title></line>`;
    })
    .join("");
}

function clock(at: number, d: ReportData): string {
  return `+${formatDuration(Math.max(0, at - d.startedAt))}`;
}

function svg(id: string, title: string, body: string): string {
  return `<figure><figcaption>${esc(title)}</figcaption><svg id="${id}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}" xmlns="http://www.w3.org/2000/svg">${body}</svg></figure>`;
}

function phasesChart(
  d: ReportData,
  s: Scale,
  times: number[],
  sampled: ReturnType<typeof sampleInstances>,
): string {
  const total = Math.max(1, d.instances.length);
  const groupOf = new Map<InstancePhase, number>();
  GROUPS.forEach((g, k) => {
    for (const p of g.phases) groupOf.set(p, k);
  });
  const counts = times.map((_, c) => {
    const row = GROUPS.map(() => 0);
    for (const inst of sampled) {
      const ch = inst[c];
      if (ch) row[groupOf.get(ch.phase) ?? 0] = (row[groupOf.get(ch.phase) ?? 0] ?? 0) + 1;
    }
    return row;
  });
  const y = yScale(0, total);
  const areas: string[] = [];
  const below = times.map(() => 0);
  GROUPS.forEach((g, k) => {
    const lower = [...below];
    const upper = below.map((b, c) => b + (counts[c]?.[k] ?? 0));
    upper.forEach((u, c) => {
      below[c] = u;
    });
    if (upper.every((u, c) => u === lower[c])) return;
    const top = times.map((t, c) => `${f1(s.x(t))},${f1(y(upper[c] ?? 0))}`);
    const bottom = times.map((t, c) => `${f1(s.x(t))},${f1(y(lower[c] ?? 0))}`).reverse();
    areas.push(
      `<path class="area phase-${k}" fill="${g.color}" d="M${top.join("L")}L${bottom.join("L")}Z"><title>${esc(g.name)}</title></path>`,
    );
  });
  return svg(
    "phases",
    "Instances by phase over time",
    `${yAxis(0, total, "instances")}${areas.join("")}${xAxis(s)}${markers(d, s)}`,
  );
}

function capacityChart(
  d: ReportData,
  s: Scale,
  times: number[],
  sampled: ReturnType<typeof sampleInstances>,
): string {
  const series = d.azs.map((az) => {
    const idx = d.instances.map((inst, n) => (inst.az === az ? n : -1)).filter((n) => n >= 0);
    return times.map((_, c) => {
      let n = 0;
      for (const i of idx) if (sampled[i]?.[c]?.inService) n++;
      return n;
    });
  });
  const max = Math.max(1, ...d.azs.map((az) => d.instances.filter((i) => i.az === az).length));
  // Zoom to where the lines and floors are: the band between them is what matters.
  const low = Math.min(...series.flat(), ...Object.values(d.floor ?? {}));
  const min = Math.max(0, Math.floor(low - (max - low) * 0.15));
  const y = yScale(min, max);
  const lines = d.azs.map((az, k) => {
    const color = AZ_COLORS[k % AZ_COLORS.length] as string;
    const pts = times.map((t, c) => `${f1(s.x(t))},${f1(y(series[k]?.[c] ?? 0))}`);
    const floor = d.floor?.[az];
    const floorLine =
      floor !== undefined
        ? `<line class="floor" x1="${M.left}" x2="${M.left + PW}" y1="${f1(y(floor))}" y2="${f1(y(floor))}" stroke="${color}"><title>${esc(`${az} floor: ${floor} in service`)}</title></line>`
        : "";
    return `<polyline class="in-service" fill="none" stroke="${color}" points="${pts.join(" ")}"><title>${esc(`${az}: in service`)}</title></polyline>${floorLine}`;
  });
  const legend = d.azs
    .map(
      (az, k) =>
        `<span class="key"><i style="background:${AZ_COLORS[k % AZ_COLORS.length]}"></i>${esc(az)}${d.floor?.[az] !== undefined ? ` (floor ${d.floor[az]})` : ""}</span>`,
    )
    .join("");
  const note = d.floor ? "dashed: the capacity floor" : "the capacity floor is not known for this journal";
  return `${svg(
    "capacity",
    "Instances in service per AZ",
    `${yAxis(min, max, "in service")}${lines.join("")}${xAxis(s)}${markers(d, s)}`,
  )}<p class="legend">${legend} <span class="note">${esc(note)}</span></p>`;
}

function camerasChart(d: ReportData, s: Scale): string {
  const cams = d.cameras;
  if (!cams || cams.series.length === 0) {
    return `<p class="note">Camera connections: run with <code>--simulate</code> to chart them from the simulator.</p>`;
  }
  // The lowest count in each column, so a short dip stays visible however long the run.
  const buckets = new Map<number, { at: number; connected: number }>();
  for (const p of cams.series) {
    if (p.at < s.t0 || p.at > s.t1) continue;
    const k = Math.floor(((p.at - s.t0) / (s.t1 - s.t0)) * COLUMNS);
    const b = buckets.get(k);
    if (!b || p.connected < b.connected) buckets.set(k, p);
  }
  const pts = [...buckets.values()].sort((a, b) => a.at - b.at);
  const total = Math.max(cams.total, ...pts.map((p) => p.connected));
  const lowest = Math.min(total, ...pts.map((p) => p.connected));
  const maxDisplaced = Math.max(1, total - lowest);
  // Connected, zoomed to the band it moved in; displaced (not connected) on its own scale below.
  const connMin = Math.max(0, total - Math.ceil(maxDisplaced * 1.2));
  const top = yScale(connMin, total);
  const connected = pts.map((p) => `${f1(s.x(p.at))},${f1(top(p.connected))}`).join(" ");
  const bottom = yScale(0, maxDisplaced);
  const displaced = pts
    .map((p) => `${f1(s.x(p.at))},${f1(bottom(Math.max(0, total - p.connected)))}`)
    .join(" ");
  const pct = cams.total > 0 ? ` (${((100 * lowest) / cams.total).toFixed(2)}%)` : "";
  return `${svg(
    "cameras",
    "Cameras connected (simulator)",
    `${yAxis(connMin, total, "connected")}<polyline class="connected" fill="none" stroke="#2563eb" points="${connected}"><title>connected</title></polyline>${xAxis(s)}${markers(d, s)}`,
  )}${svg(
    "displaced",
    "Cameras displaced: not connected (simulator)",
    `${yAxis(0, maxDisplaced, "displaced")}<polyline class="displaced" fill="none" stroke="#dc2626" points="${displaced}"><title>displaced (not connected)</title></polyline>${xAxis(s)}${markers(d, s)}`,
  )}<p class="legend"><span class="note">${cams.total} cameras · lowest connected ${lowest}${pct} · most displaced at once ${total - lowest}</span></p>`;
}

function instanceRows(d: ReportData): string {
  const rows = d.instances.map((inst) => {
    const span = instanceSpan(inst);
    const duration = span.start !== undefined && span.end !== undefined ? span.end - span.start : undefined;
    return { inst, span, duration };
  });
  rows.sort((a, b) => (b.duration ?? -1) - (a.duration ?? -1) || a.inst.id.localeCompare(b.inst.id));
  const body = rows
    .map(
      ({ inst, span, duration }) =>
        `<tr class="phase-${esc(span.final)}"><td>${esc(inst.id)}</td><td>${esc(inst.az)}</td><td data-sort="${inst.wave}">${inst.wave}</td>` +
        `<td data-sort="${span.start ?? ""}">${span.start !== undefined ? clock(span.start, d) : "—"}</td>` +
        `<td data-sort="${duration ?? -1}">${duration !== undefined ? formatDuration(duration) : "—"}</td>` +
        `<td>${esc(span.final)}</td><td>${esc(inst.reason ?? "")}</td></tr>`,
    )
    .join("\n");
  return `<table class="sortable" id="instances"><thead><tr><th>instance</th><th>AZ</th><th data-type="number">wave</th><th data-type="number">started</th><th data-type="number" aria-sort="descending">duration</th><th>outcome</th><th>reason</th></tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function failureTable(d: ReportData): string {
  const failed = d.instances.filter((i) => i.reason !== undefined || i.failedPhase !== undefined);
  if (failed.length === 0) return `<p id="failures" class="note">No instance failed.</p>`;
  const at = (i: InstanceTimeline) => i.changes.find((c) => c.phase === "failed")?.at;
  const body = failed
    .map((i) => {
      const t = at(i);
      return `<tr><td>${esc(i.id)}</td><td>${esc(i.az)}</td><td>${i.wave}</td><td>${esc(i.failedPhase ?? "")}</td><td>${t !== undefined ? clock(t, d) : "—"}</td><td>${esc(i.reason ?? "")}</td><td>${esc(i.changes.at(-1)?.phase ?? "")}</td></tr>`;
    })
    .join("\n");
  return `<table id="failures"><thead><tr><th>instance</th><th>AZ</th><th>wave</th><th>failed in</th><th>at</th><th>reason</th><th>now</th></tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function markerList(d: ReportData): string {
  if (d.markers.length === 0) return "";
  const items = d.markers
    .map(
      (m) =>
        `<li><span class="dot" style="background:${MARKER_COLORS[m.kind]}"></span><b>${clock(m.at, d)}</b> ${esc(m.kind)}: ${esc(m.label)}</li>`,
    )
    .join("");
  return `<details open><summary>Markers (${d.markers.length})</summary><ul class="markers">${items}</ul></details>`;
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#0f172a;max-width:1040px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.status{font-weight:600;padding:1px 8px;border-radius:10px;background:#e2e8f0}
.status.succeeded{background:#dcfce7}.status.failed,.status.aborted{background:#fee2e2}
.status.rolled-back,.status.paused{background:#fef3c7}
figure{margin:12px 0}figcaption{font-weight:600;margin-bottom:2px}
svg{max-width:100%;height:auto;background:#fff;border:1px solid #e2e8f0}
.grid{stroke:#e2e8f0}.tick{stroke:#64748b}.tick-label,.axis-label{font-size:11px;fill:#475569}
.marker{stroke-width:1.2;stroke-dasharray:3 2;opacity:.85}.floor{stroke-dasharray:6 4;stroke-width:1.5}
.in-service,.connected,.displaced{stroke-width:2}
.legend{margin:2px 0 0;font-size:12px}.key{margin-right:14px;white-space:nowrap}
.key i,.dot{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px;vertical-align:-1px}
.note{color:#64748b;font-size:12px}
table{border-collapse:collapse;width:100%;font-size:12px}th,td{text-align:left;padding:3px 6px;border-bottom:1px solid #e2e8f0;vertical-align:top}
th{background:#f8fafc;position:sticky;top:0}table.sortable th{cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
tr.phase-failed td{background:#fef2f2}tr.phase-rolledBack td{background:#f8fafc}
ul.markers{columns:2;font-size:12px;padding-left:16px}
`;

/** Sorting, and a record of what the browser drew (for the headless test and for curious readers). */
const SCRIPT = `
(function(){
  var table=document.getElementById("instances");
  if(table){
    var heads=table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads,function(th,col){
      th.addEventListener("click",function(){
        var desc=th.getAttribute("aria-sort")!=="descending";
        Array.prototype.forEach.call(heads,function(h){h.removeAttribute("aria-sort");});
        th.setAttribute("aria-sort",desc?"descending":"ascending");
        var num=th.getAttribute("data-type")==="number";
        var rows=Array.prototype.slice.call(table.tBodies[0].rows);
        rows.sort(function(a,b){
          var x=a.cells[col],y=b.cells[col];
          var u=x.getAttribute("data-sort")||x.textContent,v=y.getAttribute("data-sort")||y.textContent;
          var r=num?(Number(u||-1)-Number(v||-1)):u.localeCompare(v);
          return desc?-r:r;
        });
        rows.forEach(function(r){table.tBodies[0].appendChild(r);});
      });
    });
  }
  function drawn(sel){
    return Array.prototype.filter.call(document.querySelectorAll(sel),function(el){
      var b=el.getBBox();return b.width>0||b.height>0;
    }).length;
  }
  document.documentElement.setAttribute("data-rendered",JSON.stringify({
    areas:drawn("#phases path.area"),
    inService:drawn("#capacity polyline.in-service"),
    floors:document.querySelectorAll("#capacity line.floor").length,
    cameras:drawn("#cameras polyline.connected")+drawn("#displaced polyline.displaced"),
    markers:document.querySelectorAll("#phases line.marker").length,
    markerKinds:Array.prototype.map.call(document.querySelectorAll("#phases line.marker"),function(m){return m.getAttribute("class").split(" ")[1].slice(7);}).filter(function(k,i,a){return a.indexOf(k)===i;}),
    rows:table?table.tBodies[0].rows.length:0
  }));
})();
`;

/** The whole report as one HTML document. */
export function renderReportHtml(d: ReportData): string {
  const s = timeScale(d);
  const times = sampleTimes(s);
  const sampled = sampleInstances(d.instances, times);
  const counts = new Map<string, number>();
  for (const i of d.instances) {
    const p = i.changes.at(-1)?.phase ?? "pending";
    counts.set(p, (counts.get(p) ?? 0) + 1);
  }
  const countText = [...counts.entries()].map(([p, n]) => `${n} ${p}`).join(" · ");
  const status = d.status ?? "not finished";
  const legend = GROUPS.map(
    (g) => `<span class="key"><i style="background:${g.color}"></i>${esc(g.name)}</span>`,
  ).join("");
  const markerLegend = (Object.keys(MARKER_COLORS) as MarkerKind[])
    .map((k) => `<span class="key"><i style="background:${MARKER_COLORS[k]}"></i>${k}</span>`)
    .join("");
  const waves = d.waves
    .map((w) => {
      const dur =
        w.startedAt !== undefined && w.finishedAt !== undefined
          ? formatDuration(w.finishedAt - w.startedAt)
          : "—";
      const state =
        w.finishedAt !== undefined ? "finished" : w.startedAt !== undefined ? "stopped" : "not run";
      return `<tr><td>${w.index}</td><td>${w.kind}</td><td>${w.size}</td><td>${w.startedAt !== undefined ? clock(w.startedAt, d) : "—"}</td><td>${dur}</td><td>${state}</td></tr>`;
    })
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>rollwave report: ${esc(d.name)}</title><style>${STYLE}</style></head>
<body>
<h1>rollwave ${esc(d.name)} <span class="status ${esc(status)}">${esc(status)}</span></h1>
<p>${new Date(d.startedAt).toISOString().replace(/\.\d+Z$/, "Z")} · ${formatDuration(d.endedAt - d.startedAt)} · ${d.instances.length} instances in ${d.waves.length} waves across ${d.azs.length} AZs: ${esc(countText)}${d.reason ? `<br>${esc(d.reason)}` : ""}</p>
<p class="legend">${markerLegend} <span class="note">markers (hover a line for details)</span></p>
${phasesChart(d, s, times, sampled)}
<p class="legend">${legend}</p>
${capacityChart(d, s, times, sampled)}
${camerasChart(d, s)}
${markerList(d)}
<h2>Waves</h2>
<table id="waves"><thead><tr><th>wave</th><th>kind</th><th>instances</th><th>started</th><th>duration</th><th>state</th></tr></thead><tbody>${waves}</tbody></table>
<h2>Failures</h2>
${failureTable(d)}
<h2>Instances <span class="note">(click a heading to sort; slowest first)</span></h2>
${instanceRows(d)}
<script>${SCRIPT}</script>
</body></html>
`;
}
