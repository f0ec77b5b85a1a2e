// SDK benchmark (not a test): the cost of one run.log() call in each mode, and end-to-end throughput
// (log → spool → batches → server → PostgreSQL, until finish() returns) to a local server.
// Uses SWANLAB_HOST + SWANLAB_API_KEY when set; otherwise starts apps/server (dist, or sources via tsx)
// on a fresh database (TEST_DATABASE_URL / DATABASE_URL, else embedded PostgreSQL). Run: npm run bench -w @swanhouse/sdk
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createTestDatabase, startTestPostgres } from "@swanhouse/testkit";
import { init, type Mode } from "../src/index.js";

const ROOT = path.resolve(import.meta.dirname, "../../..");

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function localServer(): Promise<{ host: string; apiKey: string; stop: () => Promise<void> }> {
  if (process.env.SWANLAB_HOST && process.env.SWANLAB_API_KEY) return { host: process.env.SWANLAB_HOST, apiKey: process.env.SWANLAB_API_KEY, stop: async () => {} };
  const pg = await startTestPostgres();
  const db = await createTestDatabase(pg.adminUrl, pg.template);
  const port = await freePort();
  const host = `http://127.0.0.1:${port}`;
  const dist = path.join(ROOT, "apps/server/dist/main.js");
  const args = fs.existsSync(dist) ? [dist] : ["--conditions=source", "--import", "tsx", path.join(ROOT, "apps/server/src/main.ts")];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT, stdio: "ignore",
    env: { ...process.env, DATABASE_URL: db.url, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "silent", NODE_ENV: "production" },
  });
  for (let i = 0; ; i++) {
    if (await fetch(`${host}/api/v1/auth/me`).then((r) => r.status === 401, () => false)) break;
    if (i > 300) throw new Error("server did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
  const username = `bench${Date.now().toString(36)}`;
  const reg = await fetch(`${host}/api/v1/auth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username, password: "benchmark password" }) });
  const cookie = String(reg.headers.get("set-cookie")).split(";")[0]!;
  const key = await fetch(`${host}/api/v1/api-keys`, { method: "POST", headers: { "content-type": "application/json", cookie }, body: JSON.stringify({ name: "bench" }) });
  const apiKey = ((await key.json()) as { key: string }).key;
  return {
    host, apiKey,
    stop: async () => {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      await db.drop();
      await pg.stop();
    },
  };
}

const keys10 = Array.from({ length: 10 }, (_, i) => `train/metric_${i}`);

async function overhead(mode: Mode, s: { host: string; apiKey: string }, keys: string[], calls: number) {
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "swanlog-bench-"));
  const run = await init({ project: "bench", mode, host: s.host, apiKey: s.apiKey, logDir, exitHooks: false, metadata: false, quiet: true, finishTimeoutSeconds: 600 });
  const row: Record<string, number> = {};
  for (const k of keys) row[k] = 0;
  // CPU time next to wall time: on a shared machine the wall clock also counts other processes.
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    for (const k of keys) row[k] = i * 1e-3;
    run.log(row);
  }
  const logNs = Number(process.hrtime.bigint() - t0);
  const c1 = process.cpuUsage(c0);
  const t1 = process.hrtime.bigint();
  await run.finish();
  const finishNs = Number(process.hrtime.bigint() - t1);
  const c2 = process.cpuUsage(c0);
  fs.rmSync(logDir, { recursive: true, force: true });
  const points = calls * keys.length;
  return {
    perCallUs: logNs / calls / 1000,
    perCallCpuUs: (c1.user + c1.system) / calls,
    /** All client CPU (log calls, spool, batching, HTTP) per point, until finish() returned. */
    cpuPerPointUs: (c2.user + c2.system) / points,
    points,
    totalS: (logNs + finishNs) / 1e9,
  };
}

const s = await localServer();
try {
  const lines: string[] = [];
  const say = (l: string) => {
    lines.push(l);
    console.log(l);
  };
  say(`SDK benchmark: ${os.cpus().length}× ${os.cpus()[0]?.model.trim()}, Node ${process.version}, server ${s.host}, load average ${os.loadavg()[0]!.toFixed(1)} at start`);
  say("");
  say("| mode | keys per log() | log() calls | µs per log() (wall) | µs per log() (CPU) | client CPU µs per point, incl. delivery | points | log+finish (s) | points/s end-to-end |");
  say("|---|---|---|---|---|---|---|---|---|");
  for (const mode of ["disabled", "offline", "cloud"] as const) {
    for (const [keys, calls] of [[["train/loss"], 200_000], [keys10, 50_000]] as const) {
      const r = await overhead(mode, s, keys as string[], calls);
      const rate = mode === "cloud" ? Math.round(r.points / r.totalS).toLocaleString("en-US") : "—";
      say(`| ${mode} | ${keys.length} | ${calls.toLocaleString("en-US")} | ${r.perCallUs.toFixed(2)} | ${r.perCallCpuUs.toFixed(2)} | ${r.cpuPerPointUs.toFixed(2)} | ${r.points.toLocaleString("en-US")} | ${r.totalS.toFixed(2)} | ${rate} |`);
    }
  }
  const out = path.join(import.meta.dirname, "results.md");
  fs.writeFileSync(out, lines.join("\n") + "\n");
  console.log(`\nwritten to ${out}`);
} finally {
  await s.stop();
}
