// series → EChartsOption for one metric key: one line per run (in the run's stable colour), the EMA on
// top with the raw line faint behind when smoothing is on, x by step / relative time / wall time, log y.
import type { EChartsOption, LineSeriesOption } from "echarts";
import type { SeriesData } from "./series.js";
import { ema } from "./smoothing.js";

export type XAxisMode = "step" | "relative" | "wall";
export type LineInput = { id: string; name: string; color: string; data: SeriesData };
export type LineOptions = { smoothing: number; xAxis: XAxisMode; logY: boolean; compact?: boolean };

/** Shared with the chart component: turns a zoom window on the x axis back into steps. */
export function xValues(d: SeriesData, mode: XAxisMode): number[] {
  if (mode === "step") return d.steps;
  if (mode === "wall") return d.times;
  const t0 = d.times[0] ?? 0;
  return d.times.map((t) => (t - t0) / 1000);
}

function pairs(x: readonly number[], y: readonly number[], logY: boolean): Array<[number, number | null]> {
  const out = new Array<[number, number | null]>(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = y[i]!;
    out[i] = [x[i]!, Number.isFinite(v) && (!logY || v > 0) ? v : null];
  }
  return out;
}

export function formatDuration(seconds: number): string {
  const s = Math.abs(seconds);
  if (s < 60) return `${Number(seconds.toFixed(1))}s`;
  if (s < 3600) return `${Math.floor(seconds / 60)}m${Math.round(s % 60)}s`;
  return `${Math.floor(seconds / 3600)}h${Math.round((s % 3600) / 60)}m`;
}

export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(3).replace(/\.?0+e/, "e");
  return Number(v.toPrecision(5)).toString();
}

export function buildLineOption(lines: readonly LineInput[], opts: LineOptions): EChartsOption {
  const smoothing = Math.max(0, Math.min(0.99, opts.smoothing));
  const series: LineSeriesOption[] = [];
  for (const line of lines) {
    const x = xValues(line.data, opts.xAxis);
    const base: LineSeriesOption = {
      type: "line",
      name: line.name,
      showSymbol: false,
      symbolSize: 4,
      connectNulls: false,
      animation: false,
      sampling: "lttb",
      color: line.color,
      emphasis: { disabled: true },
    };
    if (smoothing > 0) {
      // Same name as the smoothed line: one legend entry hides both.
      series.push({ ...base, id: `${line.id}:raw`, data: pairs(x, line.data.values, opts.logY), lineStyle: { width: 1, opacity: 0.25 }, tooltip: { show: false }, z: 1 });
      series.push({ ...base, id: `${line.id}:smooth`, data: pairs(x, ema(line.data.values, smoothing), opts.logY), lineStyle: { width: 1.6 }, z: 2 });
    } else {
      series.push({ ...base, id: `${line.id}:raw`, data: pairs(x, line.data.values, opts.logY), lineStyle: { width: 1.6 }, z: 2 });
    }
  }
  const xFormatter = opts.xAxis === "relative" ? (v: number) => formatDuration(v) : undefined;
  return {
    animation: false,
    grid: { left: 8, right: 16, top: lines.length > 1 ? 34 : 14, bottom: opts.compact ? 8 : 34, containLabel: true },
    legend: lines.length > 1 ? { type: "scroll", top: 0, left: 0, right: 0, itemWidth: 14, itemHeight: 8, textStyle: { fontSize: 11 } } : { show: false },
    tooltip: {
      trigger: "axis",
      confine: true,
      axisPointer: { type: "line", animation: false },
      valueFormatter: (v) => (typeof v === "number" ? formatValue(v) : "–"),
    },
    xAxis: {
      type: opts.xAxis === "wall" ? "time" : "value",
      scale: opts.xAxis !== "step",
      min: opts.xAxis === "step" ? "dataMin" : undefined,
      max: "dataMax",
      axisLabel: { hideOverlap: true, fontSize: 11, ...(xFormatter ? { formatter: xFormatter } : {}) },
      splitLine: { show: false },
    },
    yAxis: {
      type: opts.logY ? "log" : "value",
      scale: true,
      axisLabel: { fontSize: 11, formatter: (v: number) => formatValue(v) },
      splitLine: { lineStyle: { color: "#eef0f3" } },
    },
    dataZoom: [{ type: "inside", xAxisIndex: 0, filterMode: "none", zoomOnMouseWheel: "shift", moveOnMouseWheel: false }, { type: "slider", xAxisIndex: 0, height: 14, bottom: 4, show: !opts.compact, showDetail: false, showDataShadow: false, filterMode: "none" }],
    series,
  };
}
