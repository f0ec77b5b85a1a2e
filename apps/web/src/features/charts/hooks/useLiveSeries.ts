// The lines of one chart, live: subscribes to the store entries of each run (which fetches them) and
// re-renders at most once per MIN_FRAME_MS. Chart updates from every chart go through one animation-
// frame queue that spends at most FRAME_BUDGET_MS a frame (flushSync, so the ECharts update is inside
// the budget), so twenty charts hit by one socket batch spread over frames instead of one long task.
import { useEffect, useMemo, useState } from "react";
import { flushSync } from "react-dom";
import { seriesStore } from "../series-store.js";

export const MIN_FRAME_MS = 250;
const FRAME_BUDGET_MS = 12;

const queue = new Set<() => void>();
let frameRequested = false;
function runFrame() {
  frameRequested = false;
  const t0 = performance.now();
  for (const fn of queue) {
    queue.delete(fn);
    flushSync(fn);
    if (performance.now() - t0 > FRAME_BUDGET_MS) break;
  }
  if (queue.size) requestFrame();
}
function requestFrame() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(runFrame);
}

export function useThrottledTick(): [number, () => void] {
  const [tick, setTick] = useState(0);
  const schedule = useMemo(() => {
    let last = 0;
    let pending = false;
    const bump = () => {
      pending = false;
      last = performance.now();
      setTick((t) => t + 1);
    };
    return () => {
      if (pending) return;
      pending = true;
      const wait = Math.max(0, last + MIN_FRAME_MS - performance.now());
      setTimeout(() => {
        queue.add(bump);
        requestFrame();
      }, wait);
    };
  }, []);
  return [tick, schedule];
}

/** `enabled` false (the chart has not come into view yet): nothing is fetched, so the charts on
 *  screen get the server first. */
export function useLiveSeries(runIds: readonly string[], key: string, enabled = true) {
  const [tick, schedule] = useThrottledTick();
  const idsKey = runIds.join(",");
  useEffect(() => {
    if (!enabled) return;
    const offs = runIds.map((r) => seriesStore.subscribe(r, key, schedule));
    schedule();
    return () => offs.forEach((off) => off());
  }, [idsKey, key, schedule, enabled]);
  return useMemo(() => ({ tick, entries: runIds.map((r) => ({ runId: r, ...seriesStore.get(r, key) })) }), [tick, idsKey, key]);
}
