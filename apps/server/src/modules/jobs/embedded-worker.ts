// `npm start` runs a job worker beside the server: apps/worker as a child process on the same queue
// (the embedded PostgreSQL, or REDIS_URL), reporting to this server. Restarted if it dies; stopped with
// the server. Set START_WORKER=0 where workers run on their own (docker-compose, GPU machines).
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const APPS = path.resolve(fileURLToPath(import.meta.url), "../../../../..");

export function startEmbeddedWorker(opts: { databaseUrl: string; redisUrl: string | undefined; host: string; log: (msg: string) => void }) {
  const dist = path.join(APPS, "worker/dist/main.js");
  const src = path.join(APPS, "worker/src/main.ts");
  const args = fs.existsSync(dist) ? [dist] : fs.existsSync(src) ? ["--conditions=source", "--import", "tsx", src] : undefined;
  if (!args) {
    opts.log(`job worker not started: ${dist} is missing (build it: npx turbo run build --filter=@swanhouse/worker)`);
    return { stop: async () => {} };
  }
  let child: ChildProcess | undefined;
  let stopping = false;
  let restarts = 0;
  const start = () => {
    child = spawn(process.execPath, args, {
      env: {
        ...process.env,
        DATABASE_URL: opts.databaseUrl,
        REDIS_URL: opts.redisUrl ?? "",
        SWANHOUSE_HOST: process.env.SWANHOUSE_HOST ?? opts.host,
      },
      // The IPC channel closes when this process dies, even by SIGKILL: the worker then stops too.
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const started = Date.now();
    child.on("exit", (code, signal) => {
      if (stopping) return;
      if (Date.now() - started > 60_000) restarts = 0;
      if (++restarts > 5) return opts.log(`job worker exited (${signal ?? code}) ${restarts - 1} times in a row; not restarting`);
      opts.log(`job worker exited (${signal ?? code}); restarting in ${restarts} s`);
      setTimeout(start, restarts * 1000).unref();
    });
  };
  start();
  return {
    async stop() {
      stopping = true;
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise((r) => c.once("exit", r));
      c.kill("SIGTERM");
      const timer = setTimeout(() => c.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
