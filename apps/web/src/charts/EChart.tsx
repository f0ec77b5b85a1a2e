// The only place that touches an ECharts instance: init when the box first scrolls into view, resize
// with a ResizeObserver, setOption drawn at once (series merged by id or replaced, zoom and legend state kept), dispose.
// Only the chart types and components used are registered (echarts/core keeps the bundle small).
// The parent may keep passing the same option object while off screen: setOption runs only on change.
import { useEffect, useLayoutEffect, useRef, useState } from "react";
import * as echarts from "echarts/core";
import { LineChart } from "echarts/charts";
import { DataZoomComponent, GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import type { EChartsOption } from "echarts";

echarts.use([LineChart, GridComponent, TooltipComponent, LegendComponent, DataZoomComponent, CanvasRenderer]);

/** What a chart's owner may do with it; the ECharts instance itself stays in this file. */
export type ChartHandle = { toPng: () => string; zoomTo: (start: number, end: number) => void; resetZoom: () => void };

declare global {
  interface Window {
    /** performance.now() of the first chart frame drawn with data (read by the benchmark). */
    __firstChartDrawnAt?: number;
  }
}

type Props = {
  option: EChartsOption;
  height: number;
  /** The zoom window on the x axis: values when ECharts has them, else percents of the data extent. */
  onZoom?: (range: { startValue?: number; endValue?: number; start: number; end: number } | null) => void;
  onReady?: (chart: ChartHandle | null) => void;
  className?: string;
  /** Marks the box once real points are drawn (the benchmark's "first chart" clock). */
  hasData?: boolean;
  /** Called when the box scrolls in or out of view: off-screen charts skip live redraws. */
  onVisible?: (visible: boolean) => void;
};

export function EChart({ option, height, onZoom, onReady, className, hasData, onVisible }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  const [visible, setVisible] = useState(false);
  const zoomRef = useRef(onZoom);
  zoomRef.current = onZoom;
  const visibleRef = useRef(onVisible);
  visibleRef.current = onVisible;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    if (typeof IntersectionObserver === "undefined") return setVisible(true);
    const io = new IntersectionObserver((entries) => {
      const on = entries.some((e) => e.isIntersecting);
      if (on) setVisible(true);
      visibleRef.current?.(on);
    }, { rootMargin: "200px" });
    io.observe(el);
    return () => io.disconnect();
  }, []);

  // Created once the box is in view and there is something to draw: the series fetches of the charts
  // on screen go out before any chart spends time in init.
  const ready = visible && !!hasData;
  useLayoutEffect(() => {
    const el = box.current;
    if (!ready || !el) return;
    const c = echarts.init(el, undefined, { renderer: "canvas" });
    chart.current = c;
    c.on("datazoom", () => {
      const dz = (c.getOption().dataZoom as Array<{ start?: number; end?: number; startValue?: number; endValue?: number }> | undefined)?.[0];
      if (!dz) return;
      const full = (dz.start ?? 0) <= 0.001 && (dz.end ?? 100) >= 99.999;
      zoomRef.current?.(full ? null : { startValue: dz.startValue, endValue: dz.endValue, start: dz.start ?? 0, end: dz.end ?? 100 });
    });
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(el);
    onReady?.({
      toPng: () => c.getDataURL({ type: "png", pixelRatio: 2, backgroundColor: "#fff" }),
      zoomTo: (start, end) => c.dispatchAction({ type: "dataZoom", startValue: start, endValue: end }),
      resetZoom: () => c.dispatchAction({ type: "dataZoom", start: 0, end: 100 }),
    });
    return () => {
      el.removeAttribute("data-drawn");
      ro.disconnect();
      onReady?.(null);
      c.dispose();
      chart.current = null;
    };
    // onReady is a setter from the parent; re-running on its identity would re-create the chart.
  }, [ready]);

  const seriesIds = useRef("");
  // Layout effect: the update runs in the same commit as the render (see useLiveSeries' frame budget).
  useLayoutEffect(() => {
    const c = chart.current;
    if (!c) return;
    // Same lines as before: merge by series id (ECharts swaps the data only). A line added or removed:
    // replace the series list so removed runs disappear.
    const ids = ((option.series ?? []) as Array<{ id?: string }>).map((x) => x.id).join("|");
    c.setOption(option, ids === seriesIds.current ? {} : { replaceMerge: ["series"] });
    seriesIds.current = ids;
    box.current?.setAttribute("data-drawn", "1");
    // Not lazy: the canvas holds the drawn chart when setOption returns.
    if (window.__firstChartDrawnAt === undefined) window.__firstChartDrawnAt = performance.now();
  }, [option, ready]);

  return <div ref={box} className={className} data-has-data={hasData ? "1" : "0"} style={{ height, width: "100%" }} />;
}
