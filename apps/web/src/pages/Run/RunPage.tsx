// A run: charts for every scalar key (live), a Text panel per text key, overview (status, times,
// description, tags, config, hardware and environment, requirements), console logs, system charts;
// members edit its name, description and tags, or delete it.
import { useMemo, useState } from "react";
import type { JsonObject } from "@swanhouse/contracts";
import { useDeleteRun, useRun } from "../../features/runs/api.js";
import { useWorkspace } from "../../features/workspaces/api.js";
import { useRunRealtime } from "../../features/runs/useRealtime.js";
import { ChartToolbar } from "../../features/charts/settings.js";
import { ChartSections } from "../../features/charts/components/ChartSections.js";
import { MetricChart } from "../../features/charts/components/MetricChart.js";
import { isSystemKey, sectionOf } from "../../features/charts/sections.js";
import { TextPanel } from "../../features/runs/components/TextPanel.js";
import { MediaPanel } from "../../features/runs/components/MediaPanel.js";
import { LogsPanel } from "../../features/runs/components/LogsPanel.js";
import { RunEditor } from "../../features/runs/components/RunEditor.js";
import { colorAt } from "../../charts/options/colors.js";
import { Link, navigate, paths } from "../../app/router.js";
import { ErrorNote, StatusBadge, fmtDuration, fmtTime } from "../../components/ui.js";

type Tab = "charts" | "overview" | "logs" | "system";

/** Nested config/metadata → dotted rows, so one table shows everything. */
export function flatten(obj: JsonObject, prefix = "", out: Array<[string, string]> = []): Array<[string, string]> {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object" && !Array.isArray(v)) flatten(v as JsonObject, key, out);
    else out.push([key, typeof v === "string" ? v : JSON.stringify(v)]);
  }
  return out;
}

function KeyValues({ rows, empty, testId }: { rows: Array<[string, string]>; empty: string; testId?: string }) {
  if (!rows.length) return <p className="muted">{empty}</p>;
  return (
    <table className="table kv" data-testid={testId}>
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}><th className="mono">{k}</th><td className="mono">{v}</td></tr>
        ))}
      </tbody>
    </table>
  );
}

export function RunPage({ workspace, project, runId }: { workspace: string; project: string; runId: string }) {
  const detail = useRun(runId);
  const remove = useDeleteRun(workspace, project);
  const role = useWorkspace(workspace).data?.workspace.role;
  // Members and up edit; owners and admins delete any run, members their own (the server decides);
  // viewers and visitors neither.
  const mayWrite = role === "owner" || role === "admin" || role === "member";
  const [editing, setEditing] = useState(false);
  const { deleted } = useRunRealtime(runId);
  const [tab, setTab] = useState<Tab>("charts");
  const run = detail.data?.run;
  const metrics = detail.data?.metrics ?? [];
  const scalarKeys = useMemo(() => metrics.filter((m) => m.kind === "scalar" && !isSystemKey(m.key)).map((m) => m.key), [metrics]);
  const systemKeys = useMemo(() => metrics.filter((m) => m.kind === "scalar" && isSystemKey(m.key)).map((m) => m.key), [metrics]);
  const panelKeys = useMemo(() => metrics.filter((m) => m.kind !== "scalar").map((m) => m.key).sort(), [metrics]);
  const kindOf = useMemo(() => new Map(metrics.map((m) => [m.key, m.kind])), [metrics]);
  const chartRuns = useMemo(() => (run ? [{ id: run.id, name: run.name, color: colorAt(0) }] : []), [run?.id, run?.name]);
  // Sections with text or media keys but no scalar keys get their own group below the charts.
  const panelOnlySections = useMemo(() => [...new Set(panelKeys.map(sectionOf))].filter((s) => !scalarKeys.some((k) => sectionOf(k) === s)), [panelKeys, scalarKeys]);

  if (detail.error) return <ErrorNote error={detail.error} />;
  if (!run) return <div className="page-loading">Loading run…</div>;
  // Text keys get the Text panel; images, audio and other files the gallery.
  const panel = (k: string) =>
    kindOf.get(k) === "text" ? <TextPanel key={k} runId={run.id} textKey={k} /> : <MediaPanel key={k} runId={run.id} mediaKey={k} live={run.status === "running"} />;
  const meta = run.metadata as JsonObject;
  const onDelete = () => {
    if (!window.confirm(`Delete run "${run.name}" and everything it logged? This cannot be undone.`)) return;
    remove.mutate(run.id, { onSuccess: () => navigate(paths.project(workspace, project), { replace: true }) });
  };

  return (
    <div className="page">
      <p className="crumbs">
        <Link to={paths.workspace(workspace)}>{workspace}</Link> / <Link to={paths.project(workspace, project)}>{project}</Link> / {run.name}
      </p>
      <div className="page-head">
        <h1>{run.name}</h1>
        <StatusBadge status={run.status} />
        <span className="muted small">{fmtDuration(run.createdAt, run.status === "running" ? null : (run.finishedAt ?? run.lastHeartbeatAt))}</span>
        <a className="btn small" href={`/api/v1/runs/${encodeURIComponent(run.id)}/export.csv`}>CSV</a>
        {mayWrite && <button className="btn small" aria-expanded={editing} onClick={() => setEditing((e) => !e)}>Edit</button>}
        {mayWrite && <button className="btn small danger" disabled={remove.isPending} onClick={onDelete}>Delete</button>}
      </div>
      {editing && <RunEditor run={run} onDone={() => setEditing(false)} />}
      <ErrorNote error={remove.error} />
      {deleted && !remove.isSuccess && <p className="error" role="alert">This run was deleted; what is shown here is what was loaded before.</p>}
      <div className="tabs" role="tablist">
        {(["charts", "overview", "logs", "system"] as const).map((t) => (
          <button key={t} role="tab" aria-selected={tab === t} className={tab === t ? "tab active" : "tab"} onClick={() => setTab(t)}>
            {t === "charts" ? "Charts" : t === "overview" ? "Overview" : t === "logs" ? "Logs" : "System"}
          </button>
        ))}
      </div>

      {tab === "charts" && (
        <>
          <ChartToolbar />
          {scalarKeys.length === 0 && panelKeys.length === 0 && <div className="empty" data-testid="no-metrics">Nothing logged yet. Charts appear here as soon as the first points arrive.</div>}
          <ChartSections
            keys={scalarKeys}
            runs={chartRuns}
            extra={(section) => panelKeys.filter((k) => sectionOf(k) === section).map(panel)}
          />
          {panelOnlySections.map((s) => (
            <details key={s} open className="section" data-section={s}>
              <summary>{s}</summary>
              <div className="chart-grid">
                {panelKeys.filter((k) => sectionOf(k) === s).map(panel)}
              </div>
            </details>
          ))}
        </>
      )}

      {tab === "overview" && (
        <div className="overview">
          <section className="card">
            <h2>Run</h2>
            <KeyValues
              rows={[
                ["id", run.id],
                ["status", run.status],
                ["started", fmtTime(run.createdAt)],
                ["finished", fmtTime(run.finishedAt)],
                ["last heartbeat", fmtTime(run.lastHeartbeatAt)],
                ["duration", fmtDuration(run.createdAt, run.status === "running" ? null : (run.finishedAt ?? run.lastHeartbeatAt))],
              ]}
              empty=""
            />
            {run.description && <p className="description">{run.description}</p>}
            <div>{run.tags.map((t) => <span key={t} className="tag">{t}</span>)}</div>
          </section>
          <section className="card">
            <h2>Config</h2>
            <KeyValues rows={flatten(run.config)} empty="No config logged." testId="config-table" />
          </section>
          <section className="card">
            <h2>Hardware and environment</h2>
            <KeyValues rows={flatten(meta)} empty="No metadata logged." testId="metadata-table" />
          </section>
          <section className="card">
            <h2>Requirements</h2>
            {run.requirements ? <pre className="requirements">{run.requirements}</pre> : <p className="muted">No requirements logged.</p>}
          </section>
        </div>
      )}

      {tab === "logs" && <LogsPanel runId={run.id} />}

      {tab === "system" && (
        <>
          <ChartToolbar />
          {systemKeys.length === 0 ? (
            <div className="empty">No system metrics logged (the SwanLab SDK sends them as __swanlab__.* keys).</div>
          ) : (
            <div className="chart-grid">
              {[...systemKeys].sort().map((k) => (
                <MetricChart key={k} metricKey={k} runs={chartRuns} height={200} />
              ))}
            </div>
          )}
        </>
      )}
    </div>
  );
}
