// The lines of one chart, live: subscribes to the store entries of each run (which fetches them) and
// re-renders at most once per MIN_FRAME_MS, on an animation frame, however fast socket batches arrive.
import { useEffect, useMemo, useState } from "react";
import { seriesStore } from "../series-store.js";

export const MIN_FRAME_MS = 250;

export function useThrottledTick(): [number, () => void] {
  const [tick, setTick] = useState(0);
  const schedule = useMemo(() => {
    let last = 0;
    let pending = false;
    return () => {
      if (pending) return;
      pending = true;
      const wait = Math.max(0, last + MIN_FRAME_MS - performance.now());
      setTimeout(() => {
        requestAnimationFrame(() => {
          pending = false;
          last = performance.now();
          setTick((t) => t + 1);
        });
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
  return useMemo(() => ({ tick, entries: runIds.map((r) => ({ runId: r, ...seriesStore.get(r, key) })) }),
    [tick, idsKey, key]);
}
