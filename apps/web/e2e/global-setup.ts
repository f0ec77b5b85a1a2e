// Playwright global setup: build the dashboard (and the server if it was never built), then start the
// real server (e2e/server.ts). Workers read the URL from E2E_BASE_URL. Returns the teardown.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { serverMain, startServer, webDir } from "./server.js";

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (process.env.E2E_SKIP_BUILD !== "1") execFileSync("npx", ["vite", "build", "--logLevel", "warn"], { cwd: webDir, stdio: "inherit" });
  if (!fs.existsSync(serverMain)) execFileSync("npm", ["run", "build", "-w", "@swanhouse/server"], { cwd: path.resolve(webDir, "../.."), stdio: "inherit" });
  const server = await startServer();
  process.env.E2E_BASE_URL = server.base;
  process.env.E2E_PG_ADMIN_URL = server.adminUrl;
  process.env.E2E_PG_TEMPLATE = server.template;
  return server.stop;
}
