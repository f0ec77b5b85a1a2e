// A project: runs table (live status, sort, filter by text/status/tag, chosen config and summary
// columns), pick runs to compare, and every metric key's chart with the picked runs overlaid; for owners
// and admins, the webhooks told when a run ends.
import { useEffect, useMemo, useState } from "react";
import { RunStatus, fromWireValue, type MetricValue } from "@swanhouse/contracts";
import { useDeleteProject, useProject, useUpdateProject } from "../../features/projects/api.js";
import { useWorkspace } from "../../features/workspaces/api.js";
import { useAllRunIds, useRuns, type RunFilters } from "../../features/runs/api.js";
import { useProjectRealtime } from "../../features/runs/useRealtime.js";
import { ChartToolbar } from "../../features/charts/settings.js";
import { ChartSections } from "../../features/charts/components/ChartSections.js";
import { isSystemKey } from "../../features/charts/sections.js";
import { colorMap, colorAt } from "../../charts/options/colors.js";
import { formatValue } from "../../charts/options/line.js";
import { Link, navigate, paths } from "../../app/router.js";
import { ErrorNote, StatusBadge, fmtDuration, fmtTime } from "../../components/ui.js";
import { HowToLog } from "../../components/HowToLog.js";
import { WebhooksCard } from "../../features/webhooks/components/WebhooksCard.js";

const DEFAULT_COMPARE = 5;
type Sort = RunFilters["sort"];

function cell(v: unknown): string {
  if (v === undefined || v === null) return "–";
  if (typeof v === "number") return formatValue(v);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

export function ProjectPage({ workspace, project }: { workspace: string; project: string }) {
  const proj = useProject(workspace, project);
  const update = useUpdateProject(workspace, project);
  const remove = useDeleteProject(workspace, project);
  const ws = useWorkspace(workspace);
  const [filters, setFilters] = useState<RunFilters>({ sort: "createdAt", order: "desc" });
  const [text, setText] = useState("");
  useEffect(() => {
    const t = setTimeout(() => setFilters((f) => ({ ...f, name: text.trim() || undefined })), 250);
    return () => clearTimeout(t);
  }, [text]);
  const runs = useRuns(workspace, project, filters);
  const allIds = useAllRunIds(workspace, project);
  useProjectRealtime(proj.data?.project.id, workspace, project);
  const [picked, setPicked] = useState<string[] | null>(null);
  const [configCols, setConfigCols] = useState<string[]>([]);
  const [metricCols, setMetricCols] = useState<string[] | null>(null);

  const list = runs.data?.runs ?? [];
  const colors = useMemo(() => colorMap(allIds.data ?? []), [allIds.data]);
  const compared = picked ?? list.slice(0, DEFAULT_COMPARE).map((r) => r.id);
  const configKeys = useMemo(() => [...new Set(list.flatMap((r) => Object.keys(r.config)))].sort(), [list]);
  const scalarKeys = useMemo(() => [...new Set(list.flatMap((r) => r.metrics.filter((m) => m.kind === "scalar" && !isSystemKey(m.key)).map((m) => m.key)))].sort(), [list]);
  const shownMetricCols = metricCols ?? scalarKeys.slice(0, 2);
  const chartRuns = useMemo(
    () => compared.map((id) => list.find((r) => r.id === id)).filter((r) => r !== undefined).map((r, i) => ({ id: r.id, name: r.name, color: colors.get(r.id) ?? colorAt(i) })),
    // compared is derived on each render; its content is the dependency.
    [compared.join(","), list, colors],
  );
  const chartKeys = useMemo(
    () => [...new Set(list.filter((r) => compared.includes(r.id)).flatMap((r) => r.metrics.filter((m) => m.kind === "scalar" && !isSystemKey(m.key)).map((m) => m.key)))],
    [list, compared.join(",")],
  );
  const tags = useMemo(() => [...new Set(list.flatMap((r) => r.tags))].sort(), [list]);

  const toggle = (id: string) => setPicked((cur) => {
    const base = cur ?? compared;
    return base.includes(id) ? base.filter((x) => x !== id) : [...base, id];
  });
  const sortBy = (s: Sort) => setFilters((f) => ({ ...f, sort: s, order: f.sort === s && f.order === "desc" ? "asc" : "desc" }));
  const arrow = (s: Sort) => (filters.sort === s ? (filters.order === "desc" ? " ↓" : " ↑") : "");
  const p = proj.data?.project;
  const role = ws.data?.workspace.role;
  const canEdit = role === "owner" || role === "admin";
  const noRuns = runs.data && runs.data.total === 0 && !filters.name && !filters.status && !filters.tag;

  return (
    <div className="page">
      <p className="crumbs"><Link to={paths.workspace(workspace)}>{workspace}</Link> / {project}</p>
      <div className="page-head">
        <h1>{project}</h1>
        {p && canEdit && (
          <select aria-label="Visibility" value={p.visibility} disabled={update.isPending} onChange={(e) => update.mutate({ visibility: e.target.value as "public" | "private" })}>
            <option value="private">private</option>
            <option value="public">public</option>
          </select>
        )}
        {p && !canEdit && <span className={`tag ${p.visibility}`}>{p.visibility}{role ? "" : " · read-only"}</span>}
        {runs.data && <span className="muted">{runs.data.total} runs</span>}
        {runs.data && runs.data.total > 0 && <a className="btn small" href={`/api/v1/projects/${encodeURIComponent(workspace)}/${encodeURIComponent(project)}/runs.csv`}>CSV</a>}
        {p && canEdit && (
          <button className="btn small danger" disabled={remove.isPending} onClick={() => {
            if (!window.confirm(`Delete project "${project}", its ${runs.data?.total ?? 0} runs and everything they logged? This cannot be undone.`)) return;
            remove.mutate(undefined, { onSuccess: () => navigate(paths.workspace(workspace), { replace: true }) });
          }}>Delete project</button>
        )}
      </div>
      {p?.description && <p className="muted">{p.description}</p>}
      <ErrorNote error={proj.error ?? runs.error ?? update.error ?? remove.error} />
      {noRuns ? (
        <HowToLog workspace={workspace} project={project} />
      ) : (
        <>
          <div className="filters row">
            <input type="search" aria-label="Filter runs" placeholder="Filter by name…" value={text} onChange={(e) => setText(e.target.value)} />
            <select aria-label="Status filter" value={filters.status ?? ""} onChange={(e) => setFilters((f) => ({ ...f, status: (e.target.value || undefined) as RunFilters["status"] }))}>
              <option value="">any status</option>
              {RunStatus.options.map((s) => <option key={s}>{s}</option>)}
            </select>
            <select aria-label="Tag filter" value={filters.tag ?? ""} onChange={(e) => setFilters((f) => ({ ...f, tag: e.target.value || undefined }))}>
              <option value="">any tag</option>
              {tags.map((t) => <option key={t}>{t}</option>)}
            </select>
            <details className="columns">
              <summary className="btn small">Columns</summary>
              <div className="columns-menu">
                <strong className="small">Config</strong>
                {configKeys.map((k) => (
                  <label key={k} className="small"><input type="checkbox" checked={configCols.includes(k)} onChange={() => setConfigCols((c) => (c.includes(k) ? c.filter((x) => x !== k) : [...c, k]))} /> {k}</label>
                ))}
                <strong className="small">Metrics</strong>
                {scalarKeys.map((k) => (
                  <label key={k} className="small"><input type="checkbox" checked={shownMetricCols.includes(k)} onChange={() => setMetricCols(shownMetricCols.includes(k) ? shownMetricCols.filter((x) => x !== k) : [...shownMetricCols, k])} /> {k}</label>
                ))}
              </div>
            </details>
          </div>
          <table className="table cards runs-table">
            <thead>
              <tr>
                <th aria-label="Compare" />
                <th><button className="th-sort" onClick={() => sortBy("name")}>Name{arrow("name")}</button></th>
                <th><button className="th-sort" onClick={() => sortBy("status")}>Status{arrow("status")}</button></th>
                <th><button className="th-sort" onClick={() => sortBy("createdAt")}>Started{arrow("createdAt")}</button></th>
                <th>Duration</th>
                <th>Tags</th>
                {configCols.map((k) => <th key={k}>{k}</th>)}
                {shownMetricCols.map((k) => <th key={k}>{k}</th>)}
              </tr>
            </thead>
            <tbody>
              {list.map((r) => {
                const on = compared.includes(r.id);
                return (
                  <tr key={r.id} data-testid="run-row" data-run-id={r.id} className={on ? "picked" : ""}>
                    <td className="pick">
                      <input type="checkbox" aria-label={`Compare ${r.name}`} checked={on} onChange={() => toggle(r.id)} />
                      <span className="swatch" style={{ background: colors.get(r.id) ?? "#ccc" }} />
                    </td>
                    <td data-label="Name"><Link to={paths.run(workspace, project, r.id)}>{r.name}</Link></td>
                    <td data-label="Status"><StatusBadge status={r.status} /></td>
                    <td data-label="Started">{fmtTime(r.createdAt)}</td>
                    <td data-label="Duration">{fmtDuration(r.createdAt, r.status === "running" ? null : (r.finishedAt ?? r.lastHeartbeatAt))}</td>
                    <td data-label="Tags">{r.tags.map((t) => <span key={t} className="tag">{t}</span>)}</td>
                    {configCols.map((k) => <td key={k} data-label={k} className="mono">{cell(r.config[k])}</td>)}
                    {shownMetricCols.map((k) => {
                      const m = r.metrics.find((x) => x.key === k);
                      return <td key={k} data-label={k} className="mono">{m?.lastValue != null ? formatValue(fromWireValue(m.lastValue as MetricValue)) : "–"}</td>;
                    })}
                  </tr>
                );
              })}
            </tbody>
          </table>
          {runs.data?.nextCursor && <p className="muted small">Showing the first {list.length} runs; narrow the filter to see others.</p>}
          <h2 className="charts-head">Charts <span className="muted small">{chartRuns.length} runs compared</span></h2>
          <ChartToolbar />
          {chartKeys.length === 0 ? <div className="empty">The compared runs have no scalar metrics yet.</div> : <ChartSections keys={chartKeys} runs={chartRuns} />}
        </>
      )}
      {p && canEdit && <WebhooksCard workspace={workspace} project={project} />}
    </div>
  );
}
