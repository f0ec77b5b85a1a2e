// Runs: project list (filter/sort server-side), one run with its metric keys, texts, console logs; edit,
// delete.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ListMediaResponse, ListRunsResponse, LogsResponse, OkResponse, RunDetailResponse, RunResponse, TextsResponse, type LogLine, type RunStatus, type UpdateRunBody } from "@swanhouse/contracts";
import { api, enc, qs } from "../../api/http.js";

export type RunFilters = { name?: string; status?: RunStatus; tag?: string; sort: "createdAt" | "name" | "status" | "lastHeartbeatAt"; order: "asc" | "desc" };

export const runsKey = (ws: string, p: string) => ["runs", ws, p] as const;

export const useRuns = (ws: string, p: string, f: RunFilters) =>
  useQuery({
    queryKey: [...runsKey(ws, p), f],
    queryFn: () => api(ListRunsResponse, `/projects/${enc(ws)}/${enc(p)}/runs${qs({ ...f, limit: 200 })}`),
    placeholderData: keepPreviousData,
  });

/** Every run of the project, oldest first: the order that gives each run its stable colour. */
export const useAllRunIds = (ws: string, p: string) =>
  useQuery({
    queryKey: [...runsKey(ws, p), "ids"],
    queryFn: async () => (await api(ListRunsResponse, `/projects/${enc(ws)}/${enc(p)}/runs${qs({ sort: "createdAt", order: "asc", limit: 500 })}`)).runs.map((r) => r.id),
  });

export const runKey = (id: string) => ["run", id] as const;

/** Deletes a run and all it logged; the project's run lists are refetched. */
export function useDeleteRun(ws: string, p: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api(OkResponse, `/runs/${enc(id)}`, { method: "DELETE" }),
    onSuccess: (_res, id) => {
      qc.removeQueries({ queryKey: runKey(id) });
      void qc.invalidateQueries({ queryKey: runsKey(ws, p) });
    },
  });
}
/** Name, description, tags (config and metadata stay the SDK's). Other open pages hear `run:updated`. */
export function useUpdateRun(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: Pick<UpdateRunBody, "name" | "description" | "tags">) => api(RunResponse, `/runs/${enc(id)}`, { method: "PATCH", body }),
    onSuccess: ({ run }) => qc.setQueryData<RunDetailResponse>(runKey(id), (cur) => (cur ? { ...cur, run } : cur)),
  });
}
export const useRun = (id: string) => useQuery({ queryKey: runKey(id), queryFn: () => api(RunDetailResponse, `/runs/${enc(id)}`), retry: false });

export const mediaKey = (runId: string, key: string) => ["media", runId, key] as const;
/** Every media file of one key (all steps): the gallery picks the step on the client. */
export const useMedia = (runId: string, key: string, live: boolean) =>
  useQuery({
    queryKey: mediaKey(runId, key),
    queryFn: () => api(ListMediaResponse, `/runs/${enc(runId)}/media${qs({ key })}`),
    // Files have no socket event of their own: poll while the run is live.
    refetchInterval: live ? 5000 : false,
  });
export const mediaUrl = (runId: string, path: string) => `/api/v1/runs/${enc(runId)}/media/${path.split("/").map(encodeURIComponent).join("/")}`;

export const textsKey = (runId: string, key: string) => ["texts", runId, key] as const;
export const useTexts = (runId: string, key: string, step: number | undefined) =>
  useQuery({
    queryKey: [...textsKey(runId, key), step ?? "latest"],
    queryFn: () => api(TextsResponse, `/runs/${enc(runId)}/texts${qs({ key, step })}`),
    placeholderData: keepPreviousData,
  });

export const logsKey = (runId: string) => ["logs", runId] as const;
const MAX_LOG_PAGES = 20;
const MAX_PUSHED_LOGS = 2000;

/** Lines pushed by the socket, per run, kept so a fetch in flight when they arrived still shows them. */
const pushedLogs = new Map<string, LogLine[]>();
export function rememberPushedLogs(runId: string, lines: readonly LogLine[]) {
  const cur = pushedLogs.get(runId) ?? [];
  pushedLogs.set(runId, [...cur, ...lines].slice(-MAX_PUSHED_LOGS));
}
export const useLogs = (runId: string) =>
  useQuery({
    queryKey: logsKey(runId),
    queryFn: async (): Promise<LogLine[]> => {
      const out: LogLine[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < MAX_LOG_PAGES; page++) {
        const res: LogsResponse = await api(LogsResponse, `/runs/${enc(runId)}/logs${qs({ limit: 500, cursor })}`);
        out.push(...res.logs);
        cursor = res.nextCursor;
        if (!cursor) break;
      }
      return mergeLogs(out, pushedLogs.get(runId) ?? []);
    },
  });

/** Live log lines merged into the cached list by seq (a refetch and a push may overlap). */
export function mergeLogs(cur: readonly LogLine[] | undefined, add: readonly LogLine[]): LogLine[] {
  const seen = new Set((cur ?? []).map((l) => l.seq));
  const next = (cur ?? []).slice();
  for (const l of add) if (!seen.has(l.seq)) next.push(l);
  return next.sort((a, b) => a.seq - b.seq);
}
