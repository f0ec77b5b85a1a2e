// Builds the dashboard (unless E2E_SKIP_BUILD=1), then starts two servers from apps/server/dist on fresh
// databases: one with the PostgreSQL queue backend, one with REDIS_URL (Redis db 7, away from other
// tests). Each server starts its job worker (apps/worker) beside it, which runs packages/trainer's real
// qwen3-lora on CPU. URLs go to the specs as E2E_URL_POSTGRES / E2E_URL_REDIS.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createTestDatabase, freePort, startTestPostgres, waitForHttp } from "@swanhouse/testkit";

const repo = path.resolve(import.meta.dirname, "../../..");
const webDir = path.join(repo, "apps/web");
const serverMain = path.join(repo, "apps/server/dist/main.js");
const trainer = path.join(repo, "packages/trainer/build/qwen3-lora");



export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!fs.existsSync(trainer)) throw new Error(`${trainer} is missing: bash packages/trainer/scripts/build-native.sh`);
  if (process.env.E2E_SKIP_BUILD !== "1") execFileSync("npx", ["vite", "build", "--logLevel", "warn"], { cwd: webDir, stdio: "inherit" });
  if (!fs.existsSync(serverMain)) execFileSync("npm", ["run", "build", "-w", "@swanhouse/server"], { cwd: repo, stdio: "inherit" });

  const pg = await startTestPostgres();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "jobs-e2e-"));
  const servers: Array<{ child: ChildProcess; drop: () => Promise<void> }> = [];
  for (const backend of ["postgres", "redis"] as const) {
    const db = await createTestDatabase(pg.adminUrl, pg.template);
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: "production", DATABASE_URL: db.url, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "warn",
      WEB_DIST_DIR: path.join(webDir, "dist"), LOGIN_RATE_LIMIT_PER_MINUTE: "1000",
      START_WORKER: "1", WORKER_ID: `e2e-${backend}`, WORKER_NO_GPU: "1", WORKER_CPU_THREADS: "2", WORKER_HEARTBEAT_SECONDS: "2",
      SWANHOUSE_WORK_DIR: path.join(work, backend, "jobs"), SWANHOUSE_MODELS_DIR: path.join(work, backend, "models"), TRAINER_BIN: trainer,
    };
    if (backend === "redis") {
      env.REDIS_URL = `${(process.env.REDIS_URL ?? "redis://127.0.0.1:6379").replace(/\/\d*$/, "")}/7`;
      // A fresh queue namespace per run: flush what an earlier run left in db 7.
      try {
        execFileSync("redis-cli", ["-u", env.REDIS_URL, "FLUSHDB"], { stdio: "ignore" });
      } catch {
        // no redis-cli: stale jobs of an earlier run fail on their revoked keys, harmlessly
      }
    } else delete env.REDIS_URL;
    delete env.PUBLIC_URL;
    delete env.SWANHOUSE_HOST;
    const child = spawn(process.execPath, [serverMain], { env, stdio: ["ignore", "inherit", "inherit"] });
    const url = `http://127.0.0.1:${port}`;
    await waitForHttp(`${url}/api/v1/auth/me`, { timeoutMs: 90_000, alive: () => child.exitCode === null });
    process.env[backend === "redis" ? "E2E_URL_REDIS" : "E2E_URL_POSTGRES"] = url;
    servers.push({ child, drop: db.drop });
  }

  return async () => {
    for (const { child } of servers) {
      if (child.exitCode !== null) continue;
      const done = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([done, new Promise((r) => setTimeout(r, 15_000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    for (const { drop } of servers) await drop().catch(() => {});
    await pg.stop();
    fs.rmSync(work, { recursive: true, force: true });
  };
}
