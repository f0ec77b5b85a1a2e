// Ingestion and downsampling benchmark (a command, not a test): `npm run bench -w @swanhouse/server`.
// 1. HTTP ingestion (POST /api/v1/runs/:id/log over a real socket) with 1k- and 10k-point batches, side by
//    side with a raw `unnest` INSERT of the same rows into the same table; batches alternate between the
//    two so machine noise hits both alike. The figure is the ratio of points/s (target ≥ 0.75).
// 2. A 1M-point series read back downsampled to 2,000 points over HTTP (target ≤ 100 ms), from the
//    rollups, and the same answer computed from every point (the way it was done before the rollups).
// PostgreSQL: TEST_DATABASE_URL/DATABASE_URL (an admin URL; a scratch database is created and dropped)
// or embedded. Env: BENCH_POINTS (per batch size, default 200000), BENCH_SERIES_POINTS (default 1000000).
import os from "node:os";
import { readFileSync } from "node:fs";
import { createDb } from "@swanhouse/db";
import { createTestDatabase, startTestPostgres } from "@swanhouse/testkit";
import { buildApp } from "../src/app.js";
import { insertPoints, withTransaction } from "../src/modules/metrics/metrics.repo.js";
import { readPoints } from "../src/modules/metrics/downsample.js";
import { parseEnv } from "../src/env.js";

const TOTAL = Number(process.env.BENCH_POINTS ?? 200_000);
const SERIES = Number(process.env.BENCH_SERIES_POINTS ?? 1_000_000);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (x: number) => `${x.toFixed(1)} ms`;

async function main() {
  const pg = await startTestPostgres();
  const database = await createTestDatabase(pg.adminUrl, pg.template);
  const env = parseEnv({ NODE_ENV: "production", LOG_LEVEL: "silent", DATABASE_URL: database.url } as NodeJS.ProcessEnv);
  const db = createDb(database.url);
  const app = await buildApp({ env, db });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const addr = app.server.address();
  const base = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  const raw = createDb(database.url, { max: 2 });
  try {
    const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(base + path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return { res, json: (await res.json()) as any };
    };
    const reg = await post("/api/v1/auth/register", { username: "bench", password: "bench-password" });
    const cookie = reg.res.headers.get("set-cookie")!.split(";")[0]!;
    const key = (await post("/api/v1/api-keys", { name: "bench" }, { cookie })).json.key as string;
    const auth = { authorization: `Bearer ${key}` };
    const newRun = async (name: string) => (await post("/api/v1/runs", { project: "bench", name }, auth)).json.run.id as string;

    console.log(`# swanhouse ingestion benchmark — ${new Date().toISOString()}`);
    console.log(`machine: ${os.cpus().length} CPUs (nproc ${os.availableParallelism()}), ${cpuModel()}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
    console.log(`PostgreSQL: ${(await raw.pool.query("SELECT version()")).rows[0].version.split(" on ")[0]}; node ${process.version}`);
    console.log("");
    console.log("| batch | path | points/s | p50 latency | p99 latency | requests |");
    console.log("|---|---|---|---|---|---|");
    const ratios: string[] = [];
    for (const batch of [1_000, 10_000]) {
      const httpRun = await newRun(`http-${batch}`);
      const rawRun = await newRun(`raw-${batch}`);
      const n = Math.max(5, Math.round(TOTAL / batch));
      const httpLat: number[] = [];
      const rawLat: number[] = [];
      // One warm-up batch each (JIT, plan cache), not counted.
      for (let i = -1; i < n; i++) {
        const start = (i + 1) * batch;
        const now = Date.now();
        const metrics = Array.from({ length: batch }, (_, j) => ({ key: "train/loss", step: start + j, value: Math.sin((start + j) / 1000), time: now }));
        const body = JSON.stringify({ metrics });
        let t = performance.now();
        const res = await fetch(`${base}/api/v1/runs/${httpRun}/log`, { method: "POST", headers: { "content-type": "application/json", ...auth }, body });
        const out = (await res.json()) as { accepted: { metrics: number } };
        if (out.accepted.metrics !== batch) throw new Error(`accepted ${JSON.stringify(out)}`);
        if (i >= 0) httpLat.push(performance.now() - t);
        // The baseline gets its rows already parsed: it pays neither HTTP, JSON nor validation.
        t = performance.now();
        await raw.pool.query(
          `INSERT INTO scalar_points (run_id, key, step, value, time)
           SELECT $1, k, s, v, t FROM unnest($2::text[], $3::int4[], $4::float8[], $5::timestamptz[]) AS u(k, s, v, t)
           ON CONFLICT DO NOTHING`,
          [rawRun, metrics.map((m) => m.key), metrics.map((m) => m.step), metrics.map((m) => m.value), metrics.map((m) => new Date(m.time))],
        );
        if (i >= 0) rawLat.push(performance.now() - t);
      }
      const rate = (lat: number[]) => (batch * lat.length) / (lat.reduce((a, b) => a + b, 0) / 1000);
      const h = rate(httpLat);
      const r = rate(rawLat);
      console.log(`| ${batch.toLocaleString("en")} | HTTP /log | ${Math.round(h).toLocaleString("en")} | ${ms(pct(httpLat, 50))} | ${ms(pct(httpLat, 99))} | ${n} |`);
      console.log(`| ${batch.toLocaleString("en")} | raw unnest INSERT | ${Math.round(r).toLocaleString("en")} | ${ms(pct(rawLat, 50))} | ${ms(pct(rawLat, 99))} | ${n} |`);
      ratios.push(`${batch.toLocaleString("en")}-point batches: HTTP / raw = ${(h / r).toFixed(2)}`);
    }
    console.log("");
    for (const r of ratios) console.log(`ratio, ${r} (target ≥ 0.75)`);

    // --- 1M-point series, downsampled to 2,000 points ---
    const seriesRun = await newRun("series");
    let t = performance.now();
    // Through the product's insert (points + rollups), 10k rows a statement, without HTTP.
    const now = new Date();
    for (let start = 0; start < SERIES; start += 10_000) {
      const rows = Array.from({ length: Math.min(10_000, SERIES - start) }, (_, j) => {
        const s = start + j;
        return { key: "loss", step: s, value: s === 777_777 ? 1000 : Math.exp(-s / 300_000) + 0.05 * Math.sin(s), time: now };
      });
      await withTransaction(raw, (q) => insertPoints(q, seriesRun, rows));
    }
    await raw.pool.query("VACUUM ANALYZE scalar_points");
    await raw.pool.query("VACUUM ANALYZE scalar_rollups");
    console.log(`\nloaded a ${SERIES.toLocaleString("en")}-point series in ${ms(performance.now() - t)}`);
    const url = `${base}/api/v1/runs/${seriesRun}/metrics?key=loss&maxPoints=2000`;
    const lat: number[] = [];
    let points = 0;
    let spike = false;
    for (let i = 0; i < 22; i++) {
      t = performance.now();
      const res = await fetch(url, { headers: auth });
      const body = (await res.json()) as { total: number; points: Array<{ step: number; value: number }> };
      if (i >= 2) lat.push(performance.now() - t); // two warm-ups
      points = body.points.length;
      spike = body.points.some((p) => p.step === 777_777 && p.value === 1000);
      if (body.total !== SERIES) throw new Error(`total ${body.total}`);
    }
    console.log(`GET ${SERIES.toLocaleString("en")} points → maxPoints=2000 (rollups): ${points} points (spike kept: ${spike}); p50 ${ms(pct(lat, 50))}, min ${ms(Math.min(...lat))}, max ${ms(Math.max(...lat))} over ${lat.length} requests (target ≤ 100 ms)`);
    // Before: the same answer computed from every point (the path short ranges still take), no HTTP.
    const before: number[] = [];
    for (let i = 0; i < 4; i++) {
      t = performance.now();
      const out = await readPoints(raw.pool, seriesRun, "loss", 0, 2_147_483_647, 2000);
      if (i >= 1) before.push(performance.now() - t);
      if (!out.points.some((p) => p.step === 777_777)) throw new Error("spike lost");
    }
    console.log(`same query from the points (before the rollups), in process: p50 ${ms(pct(before, 50))}, min ${ms(Math.min(...before))} over ${before.length} runs`);
  } finally {
    await app.close();
    await db.close();
    await raw.close();
    await database.drop();
    await pg.stop();
  }
}

function cpuModel(): string {
  try {
    return /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? os.cpus()[0]?.model ?? "unknown CPU";
  } catch {
    return os.cpus()[0]?.model ?? "unknown CPU";
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
