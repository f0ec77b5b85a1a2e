// Socket wiring for the run and project pages: pushes go to the series store (charts), the query cache
// (run status, new keys, logs) or invalidate (texts); a deleted run leaves the project list and is flagged
// on its page. After a reconnect everything on screen refetches.
import { useEffect, useState, useSyncExternalStore } from "react";
import { useQueryClient, type QueryClient } from "@tanstack/react-query";
import type { MetricSummary, RunDetailResponse, ListRunsResponse, LogLine } from "@swanhouse/contracts";
import { realtime } from "../../api/socket.js";
import { seriesStore } from "../charts/series-store.js";
import { logsKey, mergeLogs, rememberPushedLogs, runKey, runsKey, textsKey } from "./api.js";

export const useSocketStatus = () => useSyncExternalStore((l) => realtime.onStatus(l), () => realtime.status);

/** New keys seen live become charts without a refetch of the run. */
function addKeys(qc: QueryClient, runId: string, items: Array<{ key: string; step: number; kind: MetricSummary["kind"]; value?: MetricSummary["lastValue"] }>) {
  qc.setQueryData<RunDetailResponse>(runKey(runId), (cur) => {
    if (!cur) return cur;
    const known = new Map(cur.metrics.map((m) => [m.key, m]));
    let changed = false;
    for (const it of items) {
      const m = known.get(it.key);
      if (!m) {
        known.set(it.key, { key: it.key, kind: it.kind, isSystem: it.key.startsWith("__swanlab__"), lastStep: it.step, lastValue: it.value ?? null, count: 1 });
        changed = true;
      }
    }
    return changed ? { ...cur, metrics: [...known.values()] } : cur;
  });
}

/** Live updates of one run; answers whether the run was deleted while open. */
export function useRunRealtime(runId: string): { deleted: boolean } {
  const qc = useQueryClient();
  const [deleted, setDeleted] = useState(false);
  useEffect(() => {
    setDeleted(false);
    const unsub = realtime.subscribe({ runId });
    const off = realtime.on({
      metrics: (e) => {
        if (e.runId !== runId) return;
        seriesStore.append(runId, e.points);
        addKeys(qc, runId, e.points.map((p) => ({ key: p.key, step: p.step, kind: "scalar" as const, value: p.value })));
      },
      texts: (e) => {
        if (e.runId !== runId) return;
        addKeys(qc, runId, e.items.map((t) => ({ key: t.key, step: t.step, kind: "text" as const })));
        for (const key of new Set(e.items.map((t) => t.key))) void qc.invalidateQueries({ queryKey: textsKey(runId, key) });
      },
      logs: (e) => {
        if (e.runId !== runId) return;
        rememberPushedLogs(runId, e.logs);
        qc.setQueryData<LogLine[]>(logsKey(runId), (cur) => (cur ? mergeLogs(cur, e.logs) : cur));
      },
      run: (e) => {
        if (e.run.id !== runId) return;
        qc.setQueryData<RunDetailResponse>(runKey(runId), (cur) => (cur ? { ...cur, run: e.run } : cur));
      },
      runDeleted: (e) => {
        if (e.runId === runId) setDeleted(true);
      },
    });
    const offResync = realtime.onResync((body, before) => {
      if (!("runId" in body) || body.runId !== runId) return;
      seriesStore.resync(new Set([runId]), before);
      const stale = { predicate: (q: { state: { dataUpdatedAt: number } }) => q.state.dataUpdatedAt < before };
      void qc.invalidateQueries({ queryKey: runKey(runId), ...stale });
      void qc.invalidateQueries({ queryKey: logsKey(runId), ...stale });
      void qc.invalidateQueries({ queryKey: ["texts", runId], ...stale });
    });
    return () => {
      off();
      offResync();
      unsub();
    };
  }, [runId, qc]);
  return { deleted };
}

export function useProjectRealtime(projectId: string | undefined, ws: string, p: string) {
  const qc = useQueryClient();
  useEffect(() => {
    if (!projectId) return;
    const unsub = realtime.subscribe({ projectId });
    let refreshTimer: ReturnType<typeof setTimeout> | undefined;
    const refreshList = () => {
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(() => void qc.invalidateQueries({ queryKey: runsKey(ws, p) }), 1000);
    };
    const off = realtime.on({
      metrics: (e) => seriesStore.append(e.runId, e.points),
      run: (e) => {
        if (e.run.projectId !== projectId) return;
        let found = false;
        qc.setQueriesData<ListRunsResponse>({ queryKey: runsKey(ws, p) }, (cur) => {
          if (!cur || !("runs" in cur)) return cur;
          return { ...cur, runs: cur.runs.map((r) => (r.id === e.run.id ? ((found = true), { ...r, ...e.run }) : r)) };
        });
        if (!found) refreshList();
      },
      runDeleted: (e) => {
        if (e.projectId !== projectId) return;
        qc.setQueriesData<ListRunsResponse>({ queryKey: runsKey(ws, p) }, (cur) =>
          cur && "runs" in cur ? { ...cur, runs: cur.runs.filter((r) => r.id !== e.runId), total: Math.max(0, cur.total - 1) } : cur);
        refreshList(); // the page after it, and the compare picker's ids
      },
    });
    const offResync = realtime.onResync((body, before) => {
      if (!("projectId" in body) || body.projectId !== projectId) return;
      seriesStore.resync(undefined, before);
      void qc.invalidateQueries({ queryKey: runsKey(ws, p), predicate: (q) => q.state.dataUpdatedAt < before });
    });
    return () => {
      clearTimeout(refreshTimer);
      off();
      offResync();
      unsub();
    };
  }, [projectId, ws, p, qc]);
}
