// A tiny history router: the dashboard has a handful of routes, matched in order by pattern.
//   /login /signup /settings /teams/:workspace /:workspace /:workspace/:project /:workspace/:project/runs/:id
import { useEffect, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from "react";

export type Route =
  | { name: "home" }
  | { name: "login" }
  | { name: "signup" }
  | { name: "settings" }
  | { name: "jobs" }
  | { name: "team"; workspace: string }
  | { name: "workspace"; workspace: string }
  | { name: "project"; workspace: string; project: string }
  | { name: "run"; workspace: string; project: string; runId: string }
  | { name: "notFound" };

export function matchRoute(pathname: string): Route {
  const parts = pathname.split("/").filter(Boolean).map(decodeURIComponent);
  const [a, b, c, d] = parts;
  if (!a) return { name: "home" };
  if (parts.length === 1 && (a === "login" || a === "signup" || a === "settings" || a === "jobs")) return { name: a };
  if (a === "teams" && b && parts.length === 2) return { name: "team", workspace: b };
  if (parts.length === 1) return { name: "workspace", workspace: a };
  if (parts.length === 2) return { name: "project", workspace: a, project: b! };
  if (parts.length === 4 && c === "runs") return { name: "run", workspace: a, project: b!, runId: d! };
  return { name: "notFound" };
}

const listeners = new Set<() => void>();
const notify = () => listeners.forEach((l) => l());
if (typeof window !== "undefined") window.addEventListener("popstate", notify);

export function navigate(to: string, opts: { replace?: boolean } = {}) {
  if (to === location.pathname + location.search) return;
  if (opts.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  window.scrollTo(0, 0);
  notify();
}

export function useLocation(): { pathname: string; search: URLSearchParams } {
  const href = useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => location.pathname + location.search,
  );
  const url = new URL(href, "http://x");
  return { pathname: url.pathname, search: url.searchParams };
}

export function Link({ to, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const handle = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={handle} {...rest} />;
}

export function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

export const paths = {
  workspace: (ws: string) => `/${encodeURIComponent(ws)}`,
  team: (ws: string) => `/teams/${encodeURIComponent(ws)}`,
  project: (ws: string, p: string) => `/${encodeURIComponent(ws)}/${encodeURIComponent(p)}`,
  run: (ws: string, p: string, id: string) => `/${encodeURIComponent(ws)}/${encodeURIComponent(p)}/runs/${encodeURIComponent(id)}`,
};
