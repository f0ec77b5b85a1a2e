// Pure builders: EMA, live-point merging, thinning, series → EChartsOption.
import { describe, expect, it } from "vitest";
import type { LineSeriesOption } from "echarts";
import { ema } from "./smoothing.js";
import { decimate, fromWire, mergePoints, tailAfter, type WirePoint } from "./series.js";
import { buildLineOption, xValues } from "./line.js";
import { colorMap, PALETTE } from "./colors.js";

const t = (s: number) => new Date(1_700_000_000_000 + s * 1000).toISOString();
const pts = (steps: number[], f = (s: number) => s * 10): WirePoint[] => steps.map((s) => ({ step: s, value: f(s), time: t(s) }));

describe("ema", () => {
  it("is the identity at weight 0 and debiased otherwise", () => {
    expect(ema([1, 2, 3], 0)).toEqual([1, 2, 3]);
    const out = ema([10, 10, 10], 0.9);
    for (const v of out) expect(v).toBeCloseTo(10, 10); // no pull toward 0 at the start
    const s = ema([0, 10], 0.5);
    expect(s[0]).toBe(0);
    expect(s[1]).toBeCloseTo((0.5 * 0.5 * 0 + 0.5 * 10) / 0.75, 10);
  });
  it("passes NaN through without poisoning later points", () => {
    const out = ema([1, NaN, 1], 0.6);
    expect(out[1]).toBeNaN();
    expect(out[2]).toBeCloseTo(1, 10);
  });
});

describe("mergePoints", () => {
  it("appends newer points and ignores steps it already has", () => {
    const a = fromWire(pts([0, 1, 2]));
    const b = mergePoints(a, pts([2, 3, 4], () => -1));
    expect(b.steps).toEqual([0, 1, 2, 3, 4]);
    expect(b.values).toEqual([0, 10, 20, -1, -1]);
    expect(a.steps).toEqual([0, 1, 2]); // not mutated
  });
  it("interleaves out-of-order and duplicated input", () => {
    const a = fromWire(pts([0, 5, 10]));
    const b = mergePoints(a, pts([7, 3, 3, 12, 5]));
    expect(b.steps).toEqual([0, 3, 5, 7, 10, 12]);
  });
  it("returns the same object when nothing is new", () => {
    const a = fromWire(pts([0, 1]));
    expect(mergePoints(a, pts([0, 1]))).toBe(a);
  });
  it("decodes non-finite wire values", () => {
    const a = fromWire([{ step: 1, value: "NaN", time: t(1) }, { step: 2, value: "Infinity", time: t(2) }]);
    expect(a.values[0]).toBeNaN();
    expect(a.values[1]).toBe(Infinity);
  });
  it("a refetch plus the live tail after it gives every point once", () => {
    const live = fromWire(pts([0, 1, 2, 3, 4, 5]));
    const fetched = fromWire(pts([0, 1, 2, 3]));
    const merged = mergePoints(fetched, tailAfter(live, 3));
    expect(merged.steps).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describe("decimate", () => {
  it("keeps spikes, the tail and the order", () => {
    const steps = Array.from({ length: 10_000 }, (_, i) => i);
    const s = fromWire(pts(steps, (x) => (x === 4321 ? 1e6 : x % 7)));
    const d = decimate(s, 600, 50);
    expect(d.steps.length).toBeLessThanOrEqual(650);
    expect(d.values).toContain(1e6);
    expect(d.steps.slice(-50)).toEqual(steps.slice(-50));
    for (let i = 1; i < d.steps.length; i++) expect(d.steps[i]!).toBeGreaterThan(d.steps[i - 1]!);
  });
  it("leaves short series alone", () => {
    const s = fromWire(pts([1, 2, 3]));
    expect(decimate(s, 100)).toBe(s);
  });
});

describe("buildLineOption", () => {
  const data = fromWire(pts([0, 1, 2, 3]));
  const lines = [
    { id: "a", name: "run-a", color: "#111111", data },
    { id: "b", name: "run-b", color: "#222222", data: fromWire(pts([0, 2], (s) => -s)) },
  ];
  it("one line per run, in its colour, without smoothing", () => {
    const o = buildLineOption(lines, { smoothing: 0, xAxis: "step", logY: false });
    const series = o.series as LineSeriesOption[];
    expect(series.map((s) => s.id)).toEqual(["a:raw", "b:raw"]);
    expect(series[0]!.color).toBe("#111111");
    expect(series[0]!.data).toEqual([[0, 0], [1, 10], [2, 20], [3, 30]]);
    expect((o.tooltip as { trigger: string }).trigger).toBe("axis");
  });
  it("smoothing draws the EMA with the raw line faint behind, under one legend name", () => {
    const o = buildLineOption(lines.slice(0, 1), { smoothing: 0.6, xAxis: "step", logY: false });
    const [raw, smooth] = o.series as LineSeriesOption[];
    expect(raw!.lineStyle!.opacity).toBeLessThan(0.5);
    expect(raw!.name).toBe(smooth!.name);
    expect((smooth!.data as Array<[number, number]>).map((p) => p[1])).toEqual(ema([0, 10, 20, 30], 0.6));
  });
  it("log y drops values that cannot be drawn; x modes map steps and times", () => {
    const o = buildLineOption(lines.slice(1), { smoothing: 0, xAxis: "relative", logY: true });
    expect((o.yAxis as { type: string }).type).toBe("log");
    expect((o.series as LineSeriesOption[])[0]!.data).toEqual([[0, null], [2, null]]);
    expect(xValues(data, "relative")).toEqual([0, 1, 2, 3]);
    expect(xValues(data, "wall")[0]).toBe(Date.parse(t(0)));
    const wall = buildLineOption(lines, { smoothing: 0, xAxis: "wall", logY: false });
    expect((wall.xAxis as { type: string }).type).toBe("time");
  });
  it("colours are stable by position in the project", () => {
    const m = colorMap(["r1", "r2", "r3"]);
    expect(m.get("r2")).toBe(PALETTE[1]);
    expect(colorMap(["r1", "r2"]).get("r2")).toBe(m.get("r2"));
  });
});
