// The only place that touches an ECharts instance: init when the box first scrolls into view, resize
// with a ResizeObserver, setOption with lazyUpdate (series replaced, zoom and legend state kept), dispose.
// Only the chart types and components used are registered (echarts/core keeps the bundle small).
import { useEffect, useRef, useState } from "react";
import * as echarts from "echarts/core";
import { LineChart } from "echarts/charts";
import { DataZoomComponent, GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import type { EChartsOption } from "echarts";

echarts.use([LineChart, GridComponent, TooltipComponent, LegendComponent, DataZoomComponent, CanvasRenderer]);

export type EChartsInstance = echarts.ECharts;

declare global {
  interface Window {
    /** performance.now() of the first chart frame drawn with data (read by the benchmark). */
    __firstChartDrawnAt?: number;
  }
}

type Props = {
  option: EChartsOption;
  height: number;
  onZoom?: (range: { start: number; end: number } | null) => void;
  onReady?: (chart: EChartsInstance | null) => void;
  className?: string;
  /** Marks the box once real points are drawn (the benchmark's "first chart" clock). */
  hasData?: boolean;
};

export function EChart({ option, height, onZoom, onReady, className, hasData }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<EChartsInstance | null>(null);
  const [visible, setVisible] = useState(false);
  const zoomRef = useRef(onZoom);
  zoomRef.current = onZoom;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    if (typeof IntersectionObserver === "undefined") return setVisible(true);
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) {
        setVisible(true);
        io.disconnect();
      }
    }, { rootMargin: "200px" });
    io.observe(el);
    return () => io.disconnect();
  }, []);

  useEffect(() => {
    const el = box.current;
    if (!visible || !el) return;
    const c = echarts.init(el, undefined, { renderer: "canvas" });
    chart.current = c;
    c.on("finished", () => {
      if (window.__firstChartDrawnAt === undefined && el.dataset.hasData === "1") window.__firstChartDrawnAt = performance.now();
    });
    c.on("datazoom", () => {
      const dz = (c.getOption().dataZoom as Array<{ start?: number; end?: number; startValue?: number; endValue?: number }> | undefined)?.[0];
      if (!dz) return;
      const full = (dz.start ?? 0) <= 0.001 && (dz.end ?? 100) >= 99.999;
      zoomRef.current?.(full || dz.startValue === undefined || dz.endValue === undefined ? null : { start: dz.startValue, end: dz.endValue });
    });
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(el);
    onReady?.(c);
    return () => {
      ro.disconnect();
      onReady?.(null);
      c.dispose();
      chart.current = null;
    };
    // onReady is a setter from the parent; re-running on its identity would re-create the chart.
  }, [visible]);

  useEffect(() => {
    chart.current?.setOption(option, { replaceMerge: ["series"], lazyUpdate: true });
  }, [option, visible]);

  return <div ref={box} className={className} data-has-data={hasData ? "1" : "0"} style={{ height, width: "100%" }} />;
}
