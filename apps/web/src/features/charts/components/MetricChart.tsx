// One chart: a metric key across one or more runs, live. Zooming into a downsampled line asks the server
// for full resolution in the zoomed step range and merges it in. The data drawn is exposed for tests as
// `data-series` on the figure and in `window.__charts` (documented in apps/web/README.md).
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { SeriesResponse } from "@swanhouse/contracts";
import { EChart, type ChartHandle } from "../../../charts/EChart.js";
import { buildLineOption, formatValue, xValues, type LineInput } from "../../../charts/options/line.js";
import { mergePoints, type SeriesData, type WirePoint } from "../../../charts/options/series.js";
import { api, enc, qs } from "../../../api/http.js";
import { useLiveSeries } from "../hooks/useLiveSeries.js";
import { FETCH_POINTS } from "../series-store.js";
import { useChartSettings } from "../settings.js";

export type ChartRun = { id: string; name: string; color: string };

type ChartData = {
  key: string;
  series: Array<{ runId: string; name: string; steps: number[]; values: number[] }>;
  /** Test hook: zoom the x axis to [start, end] in axis units, as dragging the slider would. */
  zoom: (start: number, end: number) => void;
};
declare global {
  interface Window {
    __charts?: Record<string, ChartData>;
  }
}

function stepRange(d: SeriesData | undefined, mode: "step" | "relative" | "wall", start: number, end: number): [number, number] | null {
  if (!d || !d.steps.length) return null;
  if (mode === "step") return [Math.max(0, Math.floor(start)), Math.ceil(end)];
  const x = xValues(d, mode);
  let lo = 0;
  while (lo < x.length - 1 && x[lo]! < start) lo++;
  let hi = x.length - 1;
  while (hi > 0 && x[hi]! > end) hi--;
  return [d.steps[Math.max(0, lo - 1)]!, d.steps[Math.min(x.length - 1, hi + 1)]!];
}

export function MetricChart({ metricKey, runs, height = 240 }: { metricKey: string; runs: readonly ChartRun[]; height?: number }) {
  const { settings } = useChartSettings();
  const runIds = useMemo(() => runs.map((r) => r.id), [runs]);
  // Charts load when they first come near the viewport, so the ones on screen are served first.
  const [seen, setSeen] = useState(false);
  const live = useLiveSeries(runIds, metricKey, seen);
  const [zoomed, setZoomed] = useState<Map<string, WirePoint[]> | null>(null);
  const [zoomBusy, setZoomBusy] = useState(false);
  const chartRef = useRef<ChartHandle | null>(null);
  const figure = useRef<HTMLElement>(null);

  const lines: LineInput[] = useMemo(
    () =>
      runs.map((r, i) => {
        const entry = live.entries[i];
        const base = entry?.data ?? { steps: [], values: [], times: [] };
        const extra = zoomed?.get(r.id);
        return { id: r.id, name: r.name, color: r.color, data: extra ? mergePoints(base, extra) : base };
      }),
    [runs, live, zoomed],
  );
  // Off screen, the option is rebuilt only when the chart scrolls back in (live data keeps flowing into
  // the store and into data-series either way).
  const [onScreen, setOnScreen] = useState(true);
  const onVisible = useCallback((v: boolean) => {
    setOnScreen(v);
    if (v) setSeen(true);
  }, []);
  const lastOption = useRef<ReturnType<typeof buildLineOption> | null>(null);
  const option = useMemo(() => {
    if (!onScreen && lastOption.current) return lastOption.current;
    return (lastOption.current = buildLineOption(lines, { ...settings, compact: false }));
  }, [lines, settings, onScreen]);
  const hasData = lines.some((l) => l.data.steps.length > 0);
  const loading = live.entries.some((e) => e.state === "loading" || e.state === "idle") && !hasData;
  const anyDownsampled = live.entries.some((e) => e.total > e.data.steps.length);

  const chartId = `${metricKey}|${runIds.join(",")}`;
  useEffect(() => {
    const data: ChartData = {
      key: metricKey,
      series: lines.map((l) => ({ runId: l.id, name: l.name, steps: l.data.steps, values: l.data.values })),
      zoom: (start, end) => chartRef.current?.zoomTo(start, end),
    };
    (window.__charts ??= {})[chartId] = data;
    const el = figure.current;
    if (el) {
      const xs = option.xAxis as { type?: string };
      const ys = option.yAxis as { type?: string };
      el.dataset.option = JSON.stringify({ lines: (option.series as unknown[]).length, x: xs.type, y: ys.type });
      el.dataset.series = JSON.stringify(
        lines.map((l) => ({ runId: l.id, name: l.name, n: l.data.steps.length, firstStep: l.data.steps[0] ?? null, lastStep: l.data.steps.at(-1) ?? null, lastValue: l.data.values.at(-1) ?? null })),
      );
    }
  }, [lines, chartId, metricKey, option]);
  useEffect(() => () => void delete window.__charts?.[chartId], [chartId]);

  const onZoom = useCallback(
    (range: { startValue?: number; endValue?: number; start: number; end: number } | null) => {
      if (!range) return setZoomed(null);
      const first = lines.find((l) => l.data.steps.length);
      let { startValue, endValue } = range;
      if (startValue === undefined || endValue === undefined) {
        // Percent of the x extent of all lines.
        const all = lines.flatMap((l) => (l.data.steps.length ? [xValues(l.data, settings.xAxis)[0]!, xValues(l.data, settings.xAxis).at(-1)!] : []));
        if (!all.length) return;
        const lo = Math.min(...all);
        const hi = Math.max(...all);
        startValue = lo + ((hi - lo) * range.start) / 100;
        endValue = lo + ((hi - lo) * range.end) / 100;
      }
      const steps = stepRange(first?.data, settings.xAxis, startValue, endValue);
      if (!steps || !anyDownsampled) return;
      setZoomBusy(true);
      void Promise.all(
        runIds.map(async (id) => {
          const res = await api(SeriesResponse, `/runs/${enc(id)}/metrics${qs({ key: metricKey, maxPoints: FETCH_POINTS, minStep: steps[0], maxStep: steps[1] })}`);
          return [id, res.points] as const;
        }),
      )
        .then((pairs) => setZoomed(new Map(pairs)))
        .catch(() => {})
        .finally(() => setZoomBusy(false));
    },
    [lines, settings.xAxis, anyDownsampled, runIds, metricKey],
  );
  // A new zoom window debounced: dragging the slider fires many events.
  const zoomTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const debouncedZoom = useCallback((r: { start: number; end: number } | null) => {
    clearTimeout(zoomTimer.current);
    zoomTimer.current = setTimeout(() => onZoom(r), 250);
  }, [onZoom]);

  const download = () => {
    const c = chartRef.current;
    if (!c) return;
    const a = document.createElement("a");
    a.href = c.toPng();
    a.download = `${metricKey.replace(/[^A-Za-z0-9_.-]+/g, "_")}.png`;
    a.click();
  };
  const resetZoom = () => {
    chartRef.current?.resetZoom();
    setZoomed(null);
  };
  const single = runs.length === 1 ? lines[0] : undefined;

  return (
    <figure className="chart-card" ref={figure} data-key={metricKey} data-testid={`chart-${metricKey}`}>
      <figcaption>
        <span className="chart-title" title={metricKey}>{metricKey}</span>
        {single && single.data.values.length > 0 && <span className="chart-last mono">{formatValue(single.data.values.at(-1)!)}</span>}
        <span className="chart-actions">
          {zoomBusy && <span className="muted small">loading…</span>}
          {zoomed && <button className="link small" onClick={resetZoom}>reset zoom</button>}
          <button className="icon-btn" title="Download PNG" aria-label={`Download ${metricKey} as PNG`} onClick={download}>⤓</button>
        </span>
      </figcaption>
      <div className="chart-body">
        <EChart option={option} height={height} onZoom={debouncedZoom} onReady={(c) => (chartRef.current = c)} hasData={hasData} onVisible={onVisible} />
        {loading && <div className="chart-loading">loading…</div>}
      </div>
    </figure>
  );
}
