// The real server (node apps/server/dist/main.js) on a free port against a fresh database cloned from
// the testkit's migrated template (TEST_DATABASE_URL, else the embedded PostgreSQL). The global setup
// starts PostgreSQL and the server most specs share, and passes the PostgreSQL on (E2E_PG_*); a spec
// that needs other settings (SIGNUP=closed) starts its own server on it.
import { spawn } from "node:child_process";
import path from "node:path";
import { createTestDatabase, freePort, startTestPostgres, waitForHttp } from "@swanhouse/testkit";

export const webDir = path.resolve(import.meta.dirname, "..");
export const serverMain = path.resolve(webDir, "../server/dist/main.js");

type Postgres = { adminUrl: string; template: string };

export async function startServer(overrides: NodeJS.ProcessEnv = {}, shared?: Postgres): Promise<Postgres & { base: string; stop: () => Promise<void> }> {
  const pg = shared ? { ...shared, stop: async () => {} } : await startTestPostgres();
  const db = await createTestDatabase(pg.adminUrl, pg.template);
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    DATABASE_URL: db.url,
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    WEB_DIST_DIR: path.join(webDir, "dist"),
    LOGIN_RATE_LIMIT_PER_MINUTE: "1000",
    ...overrides,
  };
  delete env.REDIS_URL;
  delete env.PUBLIC_URL;
  const server = spawn(process.execPath, [serverMain], { env, stdio: ["ignore", "inherit", "inherit"] });
  let exited = false;
  server.on("exit", () => (exited = true));
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/api/v1/auth/me`, { timeoutMs: 60_000, alive: () => !exited });
  return {
    base,
    adminUrl: pg.adminUrl,
    template: pg.template,
    stop: async () => {
      if (!exited) {
        const done = new Promise((r) => server.once("exit", r));
        server.kill("SIGTERM");
        await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
        if (!exited) server.kill("SIGKILL");
      }
      await db.drop().catch(() => {});
      await pg.stop();
    },
  };
}

/** The global setup's PostgreSQL, for a spec's own server. */
export function sharedPostgres(): Postgres {
  const adminUrl = process.env.E2E_PG_ADMIN_URL;
  const template = process.env.E2E_PG_TEMPLATE;
  if (!adminUrl || !template) throw new Error("E2E_PG_ADMIN_URL/E2E_PG_TEMPLATE are not set: run through playwright.config.ts (global setup)");
  return { adminUrl, template };
}
