// The frame of every page: top bar (logo, workspace switcher, settings, log in/out), collapsed into a
// menu button on phones, and the "connection lost" banner.
import { useEffect, useState, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { useLogout, useMe, useSignupOpen } from "../features/auth/api.js";
import { useCreateTeam } from "../features/workspaces/api.js";
import { useSocketStatus } from "../features/runs/useRealtime.js";
import { seriesStore } from "../features/charts/series-store.js";
import { Link, navigate, paths, type Route } from "./router.js";

const POLL_MS = 5000;

function ConnectionBanner() {
  const status = useSocketStatus();
  const qc = useQueryClient();
  useEffect(() => {
    if (status !== "lost") return;
    // Polling fallback while the socket is down: a setTimeout chain, so slow answers never pile up.
    let timer: ReturnType<typeof setTimeout>;
    const tick = () => {
      seriesStore.resync();
      void qc.invalidateQueries({ predicate: (q) => q.queryKey[0] === "logs" || q.queryKey[0] === "run" });
      timer = setTimeout(tick, POLL_MS);
    };
    timer = setTimeout(tick, POLL_MS);
    return () => clearTimeout(timer);
  }, [status, qc]);
  if (status !== "lost") return null;
  return (
    <div className="banner" role="status" data-testid="connection-banner">
      Live connection lost, reconnecting… Charts will catch up when it is back.
    </div>
  );
}

function WorkspaceSwitcher({ current }: { current?: string }) {
  const me = useMe();
  const createTeam = useCreateTeam();
  const workspaces = me.data?.workspaces ?? [];
  if (!me.data) return null;
  const onChange = (v: string) => {
    if (v === "__new_team__") {
      const name = prompt("Team name (letters, digits, '-' and '_')");
      if (name) createTeam.mutate({ name }, { onSuccess: (r) => navigate(paths.team(r.workspace.name)), onError: (e) => alert(e.message) });
      return;
    }
    navigate(paths.workspace(v));
  };
  const known = workspaces.some((w) => w.name === current);
  return (
    <select className="ws-switcher" aria-label="Workspace" value={known ? current : ""} onChange={(e) => onChange(e.target.value)}>
      {!known && <option value="">{current ?? "Workspace…"}</option>}
      {workspaces.map((w) => (
        <option key={w.id} value={w.name}>
          {w.kind === "personal" ? `${w.name} (personal)` : `${w.displayName ?? w.name} (team)`}
        </option>
      ))}
      <option value="__new_team__">+ New team…</option>
    </select>
  );
}

export function Layout({ route, children }: { route: Route; children: ReactNode }) {
  const me = useMe();
  const logout = useLogout();
  const signupOpen = useSignupOpen();
  const [open, setOpen] = useState(false);
  const current = "workspace" in route ? route.workspace : me.data?.user.username;
  useEffect(() => setOpen(false), [route]);
  const user = me.data?.user;
  return (
    <div className="shell">
      <header className="topbar">
        <Link to="/" className="logo">Swanhouse</Link>
        <button className="menu-btn" aria-label="Menu" aria-expanded={open} onClick={() => setOpen((o) => !o)}>☰</button>
        <nav className={open ? "nav open" : "nav"} aria-label="Main">
          {user && <WorkspaceSwitcher current={current} />}
          {user && current && <Link to={paths.workspace(current)}>Projects</Link>}
          {user && current && me.data?.workspaces.some((w) => w.name === current && w.kind === "team") && <Link to={paths.team(current)}>Team</Link>}
          {user && <Link to="/jobs">Jobs</Link>}
          {user && <Link to="/settings">Settings</Link>}
          <span className="spacer" />
          {user ? (
            <>
              <span className="muted small">{user.username}</span>
              <button className="link" onClick={() => logout.mutate(undefined, { onSuccess: () => navigate("/login") })}>Log out</button>
            </>
          ) : (
            <>
              <Link to="/login">Log in</Link>
              {signupOpen !== false && <Link to="/signup">Sign up</Link>}
            </>
          )}
        </nav>
      </header>
      <ConnectionBanner />
      <main className="content">{children}</main>
    </div>
  );
}
