// Providers (query cache, chart settings) and the route → page switch.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { ChartSettingsProvider } from "../features/charts/settings.js";
import { useMe } from "../features/auth/api.js";
import { Layout } from "./Layout.js";
import { Redirect, matchRoute, paths, useLocation } from "./router.js";
import { AuthPage } from "../pages/Auth/AuthPage.js";
import { SettingsPage } from "../pages/Settings/SettingsPage.js";
import { TeamPage } from "../pages/Team/TeamPage.js";
import { ProjectsPage } from "../pages/Projects/ProjectsPage.js";
import { ProjectPage } from "../pages/Project/ProjectPage.js";
import { RunPage } from "../pages/Run/RunPage.js";
import { JobsPage } from "../pages/Jobs/JobsPage.js";

const queryClient = new QueryClient({ defaultOptions: { queries: { refetchOnWindowFocus: false, staleTime: 10_000 } } });

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <ChartSettingsProvider>
        <Routes />
      </ChartSettingsProvider>
    </QueryClientProvider>
  );
}

function Routes() {
  const { pathname } = useLocation();
  const route = matchRoute(pathname);
  const me = useMe();
  // Pages readable logged out (public projects) render at once, while /auth/me is still in flight.
  const publicPage = route.name === "workspace" || route.name === "project" || route.name === "run" || route.name === "notFound";
  if (me.isLoading && !publicPage) return <div className="page-loading">Loading…</div>;
  const user = me.data ?? null;
  if (route.name === "login" || route.name === "signup") return user ? <Redirect to="/" /> : <AuthPage mode={route.name} />;
  if (route.name === "home") return user ? <Redirect to={paths.workspace(user.user.username)} /> : <Redirect to="/login" />;
  if ((route.name === "settings" || route.name === "team") && !user) return <Redirect to="/login" />;
  return (
    <Layout route={route}>
      {route.name === "settings" && <SettingsPage />}
      {route.name === "jobs" && (user ? <JobsPage /> : <Redirect to="/login" />)}
      {route.name === "team" && <TeamPage workspace={route.workspace} />}
      {route.name === "workspace" && <ProjectsPage workspace={route.workspace} />}
      {route.name === "project" && <ProjectPage workspace={route.workspace} project={route.project} />}
      {route.name === "run" && <RunPage workspace={route.workspace} project={route.project} runId={route.runId} />}
      {route.name === "notFound" && <div className="empty">Page not found.</div>}
    </Layout>
  );
}
