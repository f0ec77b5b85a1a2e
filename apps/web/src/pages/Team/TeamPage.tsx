// A team: members and roles; owners and admins add, change and remove members.
import { useState, type FormEvent } from "react";
import { MemberRole, type MemberRole as Role } from "@swanhouse/contracts";
import { useMembers, useMemberMutations, useWorkspace } from "../../features/workspaces/api.js";
import { useMe } from "../../features/auth/api.js";
import { Link, paths } from "../../app/router.js";
import { ErrorNote, fmtTime } from "../../components/ui.js";

const ASSIGNABLE = MemberRole.options.filter((r) => r !== "owner");

export function TeamPage({ workspace }: { workspace: string }) {
  const ws = useWorkspace(workspace);
  const members = useMembers(workspace);
  const me = useMe();
  const { add, change, remove } = useMemberMutations(workspace);
  const [username, setUsername] = useState("");
  const [role, setRole] = useState<Exclude<Role, "owner">>("member");
  const myRole = ws.data?.workspace.role;
  const isAdmin = myRole === "owner" || myRole === "admin";
  const submit = (e: FormEvent) => {
    e.preventDefault();
    add.mutate({ username: username.trim(), role }, { onSuccess: () => setUsername("") });
  };
  return (
    <div className="page narrow">
      <p className="crumbs"><Link to={paths.workspace(workspace)}>{workspace}</Link> / members</p>
      <h1>{ws.data?.workspace.displayName ?? workspace}</h1>
      <ErrorNote error={ws.error ?? members.error} />
      {isAdmin && (
        <form className="row card" onSubmit={submit}>
          <input aria-label="Username to add" placeholder="username" required value={username} onChange={(e) => setUsername(e.target.value)} />
          <select aria-label="Role" value={role} onChange={(e) => setRole(e.target.value as Exclude<Role, "owner">)}>
            {ASSIGNABLE.map((r) => <option key={r}>{r}</option>)}
          </select>
          <button className="btn primary" type="submit" disabled={add.isPending}>Add member</button>
        </form>
      )}
      <ErrorNote error={add.error ?? change.error ?? remove.error} />
      <table className="table cards">
        <thead><tr><th>Member</th><th>Role</th><th>Since</th><th /></tr></thead>
        <tbody>
          {members.data?.members.map((m) => (
            <tr key={m.userId} data-testid="member-row">
              <td data-label="Member">{m.username}{m.username === me.data?.user.username && <span className="muted"> (you)</span>}</td>
              <td data-label="Role">
                {isAdmin && m.role !== "owner" ? (
                  <select aria-label={`Role of ${m.username}`} value={m.role} onChange={(e) => change.mutate({ username: m.username, role: e.target.value as Role })}>
                    {MemberRole.options.map((r) => <option key={r}>{r}</option>)}
                  </select>
                ) : (
                  m.role
                )}
              </td>
              <td data-label="Since">{fmtTime(m.createdAt)}</td>
              <td>
                {isAdmin && m.role !== "owner" && (
                  <button className="btn small danger" onClick={() => confirm(`Remove ${m.username} from ${workspace}?`) && remove.mutate(m.username)}>Remove</button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
