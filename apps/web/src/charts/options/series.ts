// A run's series on the client: parallel arrays sorted by step, one entry per step. The server sends
// downsampled series (≤ ~2,000 points) and socket batches of new points; these pure helpers merge them
// without duplicates or reordering, and thin a line that live appends have grown too long.
import { fromWireValue, type MetricValue } from "@swanhouse/contracts";

export type SeriesData = { steps: number[]; values: number[]; times: number[] };
export type WirePoint = { step: number; value: MetricValue; time: string };

export const emptySeries = (): SeriesData => ({ steps: [], values: [], times: [] });

export function fromWire(points: readonly WirePoint[]): SeriesData {
  const out = emptySeries();
  return mergePoints(out, points);
}

/** Merge points into a series. A step already present keeps its first value (the server ignores
 *  re-sent steps too). Returns `base` itself when nothing was new. */
export function mergePoints(base: SeriesData, incoming: readonly WirePoint[]): SeriesData {
  if (!incoming.length) return base;
  const sorted = isSortedUnique(incoming) ? incoming : [...incoming].sort((a, b) => a.step - b.step);
  const last = base.steps.length ? base.steps[base.steps.length - 1]! : -1;
  if (sorted[0]!.step > last) {
    // Fast path: the live case, everything is newer than what we hold.
    const out = { steps: base.steps.slice(), values: base.values.slice(), times: base.times.slice() };
    let prev = last;
    for (const p of sorted) {
      if (p.step === prev) continue;
      out.steps.push(p.step);
      out.values.push(fromWireValue(p.value));
      out.times.push(Date.parse(p.time));
      prev = p.step;
    }
    return out;
  }
  const out = emptySeries();
  let i = 0;
  let j = 0;
  let added = 0;
  const push = (s: number, v: number, t: number) => {
    out.steps.push(s);
    out.values.push(v);
    out.times.push(t);
  };
  while (i < base.steps.length || j < sorted.length) {
    const bs = i < base.steps.length ? base.steps[i]! : Infinity;
    const inc = j < sorted.length ? sorted[j]! : undefined;
    const is = inc ? inc.step : Infinity;
    if (bs <= is) {
      push(bs, base.values[i]!, base.times[i]!);
      i++;
      if (bs === is) j++;
    } else {
      if (!out.steps.length || out.steps[out.steps.length - 1] !== is) {
        push(is, fromWireValue(inc!.value), Date.parse(inc!.time));
        added++;
      }
      j++;
    }
  }
  return added ? out : base;
}

/** Points of `live` newer than the last step of `fetched`: what a refetch must keep from the socket. */
export function tailAfter(live: SeriesData, step: number): WirePoint[] {
  const out: WirePoint[] = [];
  for (let i = 0; i < live.steps.length; i++) {
    if (live.steps[i]! > step) out.push({ step: live.steps[i]!, value: toWire(live.values[i]!), time: new Date(live.times[i]!).toISOString() });
  }
  return out;
}

function toWire(v: number): MetricValue {
  return Number.isNaN(v) ? "NaN" : v === Infinity ? "Infinity" : v === -Infinity ? "-Infinity" : v;
}

function isSortedUnique(points: readonly WirePoint[]): boolean {
  for (let i = 1; i < points.length; i++) if (points[i]!.step <= points[i - 1]!.step) return false;
  return true;
}

/** Thin to about `target` points, keeping the min, max and last of each bucket (the server's rule), so
 *  spikes survive. The newest `keepTail` points stay untouched. */
export function decimate(s: SeriesData, target: number, keepTail = 0): SeriesData {
  const n = s.steps.length;
  const head = Math.max(0, n - keepTail);
  if (n <= target || head < 3) return s;
  const buckets = Math.max(1, Math.floor(Math.max(target - keepTail, 3) / 3));
  const size = head / buckets;
  const idx: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor(b * size);
    const hi = Math.min(head, Math.floor((b + 1) * size));
    if (hi <= lo) continue;
    let mn = lo;
    let mx = lo;
    for (let k = lo; k < hi; k++) {
      const v = s.values[k]!;
      if (v < s.values[mn]! || !Number.isFinite(s.values[mn]!)) mn = k;
      if (v > s.values[mx]! || !Number.isFinite(s.values[mx]!)) mx = k;
    }
    const picks = [...new Set([mn, mx, hi - 1])].sort((a, b2) => a - b2);
    idx.push(...picks);
  }
  for (let k = head; k < n; k++) idx.push(k);
  return { steps: idx.map((k) => s.steps[k]!), values: idx.map((k) => s.values[k]!), times: idx.map((k) => s.times[k]!) };
}
