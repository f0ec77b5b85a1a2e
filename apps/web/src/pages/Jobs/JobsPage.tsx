// Fine-tune jobs: the "New fine-tune" form, the open jobs with live progress, the history, and the
// workers online. Each job links to its run's live charts.
import { useState } from "react";
import { NewJobForm } from "../../features/jobs/components/NewJobForm.js";
import { JobsTable } from "../../features/jobs/components/JobsTable.js";
import { useJobOptions, useJobs } from "../../features/jobs/api.js";
import { ErrorNote } from "../../components/ui.js";
import "../../features/jobs/jobs.css";

export function JobsPage() {
  const jobs = useJobs();
  const options = useJobOptions();
  const [showForm, setShowForm] = useState(false);
  const all = jobs.data?.jobs ?? [];
  const open = all.filter((j) => j.status === "queued" || j.status === "running");
  const done = all.filter((j) => !(j.status === "queued" || j.status === "running"));
  const workers = options.data?.workers ?? [];
  return (
    <div className="page">
      <div className="page-head">
        <h1>Fine-tune jobs</h1>
        <button className="btn primary" onClick={() => setShowForm((s) => !s)}>New fine-tune</button>
      </div>
      {showForm && <NewJobForm onCreated={() => setShowForm(false)} />}
      <p className="muted small" data-testid="workers">
        {workers.length
          ? workers.map((w) => `${w.hostname} (${w.gpus.length ? w.gpus.map((g) => g.name).join(", ") : "CPU"}${w.activeJobs.length ? `, ${w.activeJobs.length} running` : ""})`).join(" · ")
          : "No worker online: jobs wait in the queue until one starts."}
      </p>
      <ErrorNote error={jobs.error} />
      <h2>Queued and running</h2>
      <JobsTable jobs={open} />
      <h2>History</h2>
      <JobsTable jobs={done} />
    </div>
  );
}
