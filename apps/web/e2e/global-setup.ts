// Playwright global setup: build the dashboard, then start the real server (node apps/server/dist/main.js)
// on a free port against a fresh database cloned from the testkit's migrated template (TEST_DATABASE_URL,
// else the embedded PostgreSQL). Workers read the URL from E2E_BASE_URL. Returns the teardown.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createTestDatabase, freePort, startTestPostgres, waitForHttp } from "@swanhouse/testkit";

const webDir = path.resolve(import.meta.dirname, "..");
const repo = path.resolve(webDir, "../..");
const serverMain = path.join(repo, "apps/server/dist/main.js");



export default async function globalSetup(): Promise<() => Promise<void>> {
  if (process.env.E2E_SKIP_BUILD !== "1") execFileSync("npx", ["vite", "build", "--logLevel", "warn"], { cwd: webDir, stdio: "inherit" });
  if (!fs.existsSync(serverMain)) execFileSync("npm", ["run", "build", "-w", "@swanhouse/server"], { cwd: repo, stdio: "inherit" });

  const pg = await startTestPostgres();
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
  };
  delete env.REDIS_URL;
  delete env.PUBLIC_URL;
  const server = spawn(process.execPath, [serverMain], { env, stdio: ["ignore", "inherit", "inherit"] });
  let exited = false;
  server.on("exit", () => (exited = true));
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/api/v1/auth/me`, { timeoutMs: 60_000, alive: () => !exited });
  process.env.E2E_BASE_URL = base;

  return async () => {
    if (!exited) {
      const done = new Promise((r) => server.once("exit", r));
      server.kill("SIGTERM");
      await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
      if (!exited) server.kill("SIGKILL");
    }
    await db.drop().catch(() => {});
    await pg.stop();
  };
}
