// A workspace's projects: run counts, last activity, visibility; create (members only). Logged out,
// the server lists only public projects.
import { useState, type FormEvent } from "react";
import type { Visibility } from "@swanhouse/contracts";
import { useCreateProject, useProjects } from "../../features/projects/api.js";
import { useWorkspace } from "../../features/workspaces/api.js";
import { Link, navigate, paths } from "../../app/router.js";
import { ErrorNote, fmtAgo } from "../../components/ui.js";

export function ProjectsPage({ workspace }: { workspace: string }) {
  const projects = useProjects(workspace);
  const ws = useWorkspace(workspace);
  const create = useCreateProject(workspace);
  const [name, setName] = useState("");
  const [visibility, setVisibility] = useState<Visibility>("private");
  const [showForm, setShowForm] = useState(false);
  const role = ws.data?.workspace.role;
  const canCreate = role === "owner" || role === "admin" || role === "member";
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ name: name.trim(), visibility }, { onSuccess: (r) => navigate(paths.project(workspace, r.project.name)) });
  };
  return (
    <div className="page">
      <div className="page-head">
        <h1>{ws.data?.workspace.displayName ?? workspace}</h1>
        {ws.data?.workspace.kind === "team" && <Link to={paths.team(workspace)} className="btn small">Members</Link>}
        {canCreate && <button className="btn primary" onClick={() => setShowForm((s) => !s)}>New project</button>}
      </div>
      {showForm && (
        <form className="card row" onSubmit={submit}>
          <input aria-label="Project name" placeholder="project-name" required value={name} onChange={(e) => setName(e.target.value)} />
          <select aria-label="Visibility" value={visibility} onChange={(e) => setVisibility(e.target.value as Visibility)}>
            <option value="private">private</option>
            <option value="public">public</option>
          </select>
          <button className="btn primary" type="submit" disabled={create.isPending}>Create</button>
          <ErrorNote error={create.error} />
        </form>
      )}
      <ErrorNote error={projects.error} />
      {projects.data && projects.data.projects.length === 0 && (
        <div className="empty">
          No projects yet. {canCreate ? "Create one, or log a run with the SDK: the project is created on first use." : ""}
        </div>
      )}
      <table className="table cards">
        <thead><tr><th>Project</th><th>Runs</th><th>Last activity</th><th>Visibility</th></tr></thead>
        <tbody>
          {projects.data?.projects.map((p) => (
            <tr key={p.id} data-testid="project-row">
              <td data-label="Project">
                <Link to={paths.project(workspace, p.name)}><strong>{p.name}</strong></Link>
                {p.description && <div className="muted small">{p.description}</div>}
              </td>
              <td data-label="Runs">{p.runCount}</td>
              <td data-label="Last activity">{fmtAgo(p.lastActivityAt)}</td>
              <td data-label="Visibility"><span className={`tag ${p.visibility}`}>{p.visibility}</span></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
