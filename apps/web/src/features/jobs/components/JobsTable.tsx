// Jobs as rows: status, live progress and ETA, run link (to its live charts), error, cancel.
import type { Job } from "@swanhouse/contracts";
import { Link, paths } from "../../../app/router.js";
import { fmtAgo, fmtDuration } from "../../../components/ui.js";
import { useCancelJob } from "../api.js";

export function fmtEta(s: number | null): string {
  if (s === null) return "";
  if (s < 60) return `${s}s left`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s left`;
  return `${Math.floor(s / 3600)}h ${Math.round((s % 3600) / 60)}m left`;
}

function JobStatusBadge({ job }: { job: Job }) {
  const cls = { queued: "aborted", running: "running", succeeded: "finished", failed: "crashed", cancelled: "aborted" }[job.status];
  return (
    <span className={`badge badge-${cls}`} data-testid="job-status" data-status={job.status}>
      {job.status === "running" && <span className="pulse" aria-hidden />}
      {job.status}
    </span>
  );
}

export function JobsTable({ jobs }: { jobs: Job[] }) {
  const cancel = useCancelJob();
  if (!jobs.length) return <p className="empty">No jobs yet.</p>;
  return (
    <table className="table cards jobs-table">
      <thead>
        <tr><th>Run</th><th>Status</th><th>Progress</th><th>Model</th><th>Device</th><th>Started</th><th /></tr>
      </thead>
      <tbody>
        {jobs.map((j) => (
          <tr key={j.id} data-testid="job-row" data-job-id={j.id}>
            <td data-label="Run">
              {j.runId ? <Link to={paths.run(j.workspace, j.project, j.runId)} data-testid="job-run-link">{j.runName}</Link> : <span>{j.runName}</span>}
              <div className="muted small">{j.workspace}/{j.project}</div>
            </td>
            <td data-label="Status">
              <JobStatusBadge job={j} />
              {j.error && <pre className="job-error small" data-testid="job-error">{j.error}</pre>}
            </td>
            <td data-label="Progress">
              <progress max={1} value={j.progress} aria-label={`progress of ${j.runName}`} />
              <div className="muted small" data-testid="job-progress">
                {j.totalSteps ? `step ${j.step}/${j.totalSteps}` : j.status === "running" ? "preparing" : ""} {j.status === "running" ? fmtEta(j.etaSeconds) : ""}
              </div>
            </td>
            <td data-label="Model">{j.model.kind === "local" ? j.model.name : `init-random ${j.model.config}`}</td>
            <td data-label="Device">{j.device}</td>
            <td data-label="Started" className="small">
              {j.startedAt ? `${fmtAgo(j.startedAt)} · ${fmtDuration(j.startedAt, j.finishedAt)}` : `queued ${fmtAgo(j.createdAt)}`}
            </td>
            <td>
              {(j.status === "queued" || j.status === "running") && (
                <button className="btn small danger" disabled={j.cancelRequested || cancel.isPending} onClick={() => cancel.mutate(j.id)}>
                  {j.cancelRequested ? "Cancelling…" : "Cancel"}
                </button>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
