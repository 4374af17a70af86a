// Metric graphs: CloudWatch GetMetricData through the console's call path, drawn with uPlot.
import { api, h, every, errorBox } from "./console.js";

const WINDOW_S = 3600, PERIOD_S = 60, REFRESH_MS = 10_000;

// One chart per [metricName, stat, unit], refreshed every 10 s while the page is open.
export function metricCharts(container, namespace, dimensions, metrics) {
  const cards = metrics.map(([name, stat, unit]) => {
    const plot = h("div", { class: "plot" });
    const summary = h("div", { class: "muted summary", "data-metric": name }, "…");
    container.append(h("div", { class: "chart", id: `chart-${name}` }, h("h3", {}, `${name} (${stat}, ${unit})`), summary, plot));
    return { name, stat, plot, summary, chart: null };
  });
  // The x axis is the whole window, whatever points it holds.
  let span = [0, 1];
  const opts = name => ({ width: 400, height: 160, legend: { show: false },
    scales: { x: { time: true, range: () => span }, y: { range: (u, lo, hi) => [0, hi > 0 ? hi * 1.15 : 1] } },
    series: [{}, { label: name, stroke: "#0972d3", fill: "rgba(9,114,211,.08)", points: { show: true, size: 5 } }],
    axes: [{}, { size: 56, values: (u, vals) => vals.map(compact) }] });
  const load = async () => {
    const now = Math.floor(Date.now() / 1000);
    span = [now - WINDOW_S, now + PERIOD_S];
    let out;
    try {
      out = await api("cloudwatch", "GetMetricData", {
        StartTime: now - WINDOW_S, EndTime: now + PERIOD_S, ScanBy: "TimestampAscending",
        MetricDataQueries: cards.map((c, i) => ({ Id: `m${i}`, ReturnData: true,
          MetricStat: { Metric: { Namespace: namespace, MetricName: c.name, Dimensions: dimensions }, Period: PERIOD_S, Stat: c.stat } })),
      });
    } catch (e) {
      container.replaceChildren(errorBox(e));
      return false;
    }
    const uPlot = await import("/vendor/uPlot.esm.js").then(m => m.default, () => null);
    for (const [i, c] of cards.entries()) {
      const r = (out.MetricDataResults || []).find(x => x.Id === `m${i}`) || { Timestamps: [], Values: [] };
      const pts = r.Timestamps.map((t, j) => [t, r.Values[j]]).sort((a, b) => a[0] - b[0]);
      const xs = pts.map(p => p[0]), ys = pts.map(p => p[1]);
      const total = ys.reduce((a, b) => a + b, 0);
      c.summary.textContent = !pts.length ? "no data yet" :
        `latest ${fmt(ys[ys.length - 1])} · ${pts.length} points` + (c.stat === "Sum" ? ` · total ${fmt(total)}` : "");
      c.summary.dataset.points = String(pts.length);
      c.summary.dataset.latest = pts.length ? String(ys[ys.length - 1]) : "";
      c.summary.dataset.sum = String(total);
      if (!uPlot) { c.plot.textContent = "Chart library missing: run make install."; continue; }
      const data = [xs, ys];
      if (c.chart) c.chart.setData(data);
      else c.chart = new uPlot(opts(c.name), data, c.plot);
    }
    return true;
  };
  load().then(ok => { if (ok) every(REFRESH_MS, load); });
}

const fmt = v => Number.isInteger(v) ? String(v) : v.toFixed(2);
// 16477673 -> "16.5M": axis labels that fit.
const compact = v => v == null ? "" : Math.abs(v) >= 1e9 ? `${+(v / 1e9).toFixed(1)}G` : Math.abs(v) >= 1e6 ? `${+(v / 1e6).toFixed(1)}M`
  : Math.abs(v) >= 1e3 ? `${+(v / 1e3).toFixed(1)}k` : String(+v.toFixed(2));
