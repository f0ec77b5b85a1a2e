// Ingestion and downsampling benchmark (a command, not a test): `npm run bench -w @swanhouse/server`.
// 1. HTTP ingestion (POST /api/v1/runs/:id/log to the server in its own process, bench/server-process.ts,
//    over a real socket, keep-alive, one request at a time)
//    with 1k- and 10k-point batches, side by side with a raw `unnest` INSERT of the same rows into the
//    same table, two ways: node-postgres encoding the parameters (JavaScript arrays, Date objects), and
//    the array literals the server itself sends (lib/pg-array.ts). Batches rotate between the paths so
//    machine noise hits all alike. The figure (target ≥ 0.75) is HTTP points/s over the first one's: the
//    raw unnest insert as a trainer would write it with node-postgres. The second, faster because it
//    shares the server's hand-written encoder, is printed beside it as a stricter check: what remains
//    of the gap there is what HTTP, JSON and the server's own work add.
// 2. A 1M-point series read back downsampled to 2,000 points over HTTP (target ≤ 100 ms), from the
//    rollups, and the same answer computed from every point (the way it was done before the rollups).
// PostgreSQL: TEST_DATABASE_URL/DATABASE_URL (an admin URL; a scratch database is created and dropped)
// or embedded. Env: BENCH_POINTS (per batch size, default 200000), BENCH_SERIES_POINTS (default 1000000; 0 skips).
import http from "node:http";
import { fork, type ChildProcess } from "node:child_process";
import os from "node:os";
import { readFileSync } from "node:fs";
import { createDb } from "@swanhouse/db";
import { createTestDatabase, startTestPostgres } from "@swanhouse/testkit";
import { insertPoints, withTransaction } from "../src/modules/metrics/metrics.repo.js";
import { readPoints } from "../src/modules/metrics/downsample.js";
import { numberArray, textArray, timeArray } from "../src/lib/pg-array.js";

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
  const server = await startServer(database.url);
  const base = `http://127.0.0.1:${server.port}`;
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
    // The run with the greatest id appends at the right end of scalar_points' primary key, which
    // PostgreSQL makes cheaper (cached rightmost leaf, 90/10 page splits): 15–20% less insert time. Run
    // ids are random, so whichever path drew the greatest would be favoured. A sentinel run above every
    // generated id (lowercase letters and digits) takes the right end; the measured runs all insert
    // inside the index, as most runs of a shared server do.
    await post("/api/v1/runs", { project: "bench", name: "sentinel", id: "zzzzzzzzzzzz-sentinel" }, auth);
    await post("/api/v1/runs/zzzzzzzzzzzz-sentinel/log", { metrics: [{ key: "train/loss", step: 0, value: 0 }] }, auth);

    console.log(`# swanhouse ingestion benchmark — ${new Date().toISOString()}`);
    console.log(`machine: ${os.cpus().length} CPUs (nproc ${os.availableParallelism()}), ${cpuModel()}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
    console.log(`PostgreSQL: ${(await raw.pool.query("SELECT version()")).rows[0].version.split(" on ")[0]}; node ${process.version}`);
    console.log("");
    console.log("| batch | path | points/s | p50 latency | p99 latency | requests |");
    console.log("|---|---|---|---|---|---|");
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const { port } = new URL(base);
    // node:http rather than fetch: a load generator should cost the measurement as little as it can.
    const postLog = (runId: string, body: string) =>
      new Promise<string>((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port, agent, method: "POST", path: `/api/v1/runs/${runId}/log`, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...auth } }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString()) : reject(new Error(`${res.statusCode} ${Buffer.concat(chunks)}`))));
        });
        req.on("error", reject);
        req.end(body);
      });
    const SQL = `INSERT INTO scalar_points (run_id, key, step, value, time)
       SELECT $1, k, s, v, t FROM unnest($2::text[], $3::int4[], $4::float8[], $5::timestamptz[]) AS u(k, s, v, t)
       ON CONFLICT DO NOTHING`;
    // Points of one log call share a time; a batch holds many calls (here 10 steps per millisecond).
    const batchOf = (size: number, start: number) => {
      const now = Date.now();
      return Array.from({ length: size }, (_, j) => ({ key: "train/loss", step: start + j, value: Math.sin((start + j) / 1000), time: now + Math.floor(j / 10) }));
    };
    const literalArgs = (runId: string, metrics: ReturnType<typeof batchOf>) =>
      [runId, textArray(metrics.map((m) => m.key)), numberArray(metrics.map((m) => m.step)), numberArray(metrics.map((m) => m.value)), timeArray(metrics.map((m) => m.time))];
    const ratios: string[] = [];
    for (const batch of [1_000, 10_000]) {
      // Three runs, and each round every path writes into a different one of them (rotating): where a
      // run's rows sit in the index changes insert costs by several percent, so no path keeps one place.
      const runIds = [await newRun(`bench-${batch}-a`), await newRun(`bench-${batch}-b`), await newRun(`bench-${batch}-c`)];
      const n = Math.max(5, Math.round(TOTAL / batch));
      const lat = { http: [] as number[], pg: [] as number[], literal: [] as number[] };
      // One warm-up batch each (JIT, plan cache), not counted.
      for (let i = -1; i < n; i++) {
        const metrics = batchOf(batch, (i + 1) * batch);
        const runs = { http: runIds[(i + 3) % 3]!, pg: runIds[(i + 4) % 3]!, literal: runIds[(i + 5) % 3]! };
        const body = JSON.stringify({ metrics });
        const paths: Array<[keyof typeof lat, () => Promise<void>]> = [
          ["http", async () => {
            const out = JSON.parse(await postLog(runs.http, body)) as { accepted: { metrics: number } };
            if (out.accepted.metrics !== batch) throw new Error(`accepted ${JSON.stringify(out)}`);
          }],
          // The baselines get their rows already parsed: they pay neither HTTP, JSON nor validation.
          ["pg", async () => {
            await raw.pool.query(SQL, [runs.pg, metrics.map((m) => m.key), metrics.map((m) => m.step), metrics.map((m) => m.value), metrics.map((m) => new Date(m.time))]);
          }],
          ["literal", async () => {
            await raw.pool.query(SQL, literalArgs(runs.literal, metrics));
          }],
        ];
        for (let p = 0; p < paths.length; p++) {
          const [name, run] = paths[(p + i + 3) % paths.length]!;
          const t = performance.now();
          await run();
          if (i >= 0) lat[name].push(performance.now() - t);
        }
      }
      const rate = (xs: number[]) => (batch * xs.length) / (xs.reduce((a, b) => a + b, 0) / 1000);
      const row = (label: string, xs: number[]) =>
        console.log(`| ${batch.toLocaleString("en")} | ${label} | ${Math.round(rate(xs)).toLocaleString("en")} | ${ms(pct(xs, 50))} | ${ms(pct(xs, 99))} | ${n} |`);
      row("HTTP /log", lat.http);
      row("raw unnest INSERT, node-postgres parameters", lat.pg);
      row("raw unnest INSERT, array literals", lat.literal);
      // Per round, the three paths ran back to back: their ratio there is less exposed to the machine's
      // slower and faster phases than the totals are.
      const paired = (base: number[]) => {
        const r = base.map((b, k) => b / lat.http[k]!);
        return `${pct(r, 50).toFixed(2)} (p25–p75 ${pct(r, 25).toFixed(2)}–${pct(r, 75).toFixed(2)})`;
      };
      ratios.push(`${batch.toLocaleString("en")}-point batches (target ≥ 0.75): HTTP / raw unnest INSERT through node-postgres = ${(rate(lat.http) / rate(lat.pg)).toFixed(2)}, ` +
        `per-round median ${paired(lat.pg)}; stricter, HTTP / the same INSERT with the server's array literals = ${(rate(lat.http) / rate(lat.literal)).toFixed(2)}, per-round median ${paired(lat.literal)}`);
    }
    agent.destroy();
    console.log("");
    for (const r of ratios) console.log(`ratio, ${r}`);

    // Several runs logging at once (one client each, 1k-point batches): the server's work overlaps the
    // database's. Same concurrency for the raw path (one connection per client).
    const CLIENTS = 4;
    const concurrent = async (label: string, send: (client: number, runId: string, metrics: ReturnType<typeof batchOf>) => Promise<void>) => {
      const runIds = await Promise.all(Array.from({ length: CLIENTS }, (_, c) => newRun(`${label}-${c}`)));
      const per = Math.max(5, Math.round(TOTAL / 1_000 / CLIENTS));
      const t = performance.now();
      await Promise.all(runIds.map(async (runId, c) => {
        for (let i = 0; i < per; i++) await send(c, runId, batchOf(1_000, i * 1_000));
      }));
      return (CLIENTS * per * 1_000) / ((performance.now() - t) / 1000);
    };
    const agents = Array.from({ length: CLIENTS }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
    const rawMany = createDb(database.url, { max: CLIENTS });
    const httpRate = await concurrent("http-c", async (c, runId, metrics) => {
      const body = JSON.stringify({ metrics });
      await new Promise<void>((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port, agent: agents[c], method: "POST", path: `/api/v1/runs/${runId}/log`, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...auth } }, (res) => {
          res.resume();
          res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
        });
        req.on("error", reject);
        req.end(body);
      });
    });
    const rawRate = await concurrent("raw-c", async (_c, runId, metrics) => {
      await rawMany.pool.query(SQL, literalArgs(runId, metrics));
    });
    for (const a of agents) a.destroy();
    await rawMany.close();
    console.log(`\n${CLIENTS} clients at once, 1,000-point batches: HTTP ${Math.round(httpRate).toLocaleString("en")} points/s, raw unnest (array literals, ${CLIENTS} connections) ${Math.round(rawRate).toLocaleString("en")} points/s, ratio ${(httpRate / rawRate).toFixed(2)}`);

    // --- 1M-point series, downsampled to 2,000 points (BENCH_SERIES_POINTS=0 skips it) ---
    if (SERIES === 0) return;
    const seriesRun = await newRun("series");
    let t = performance.now();
    // Through the product's insert (points + rollups), 10k rows a statement, without HTTP.
    const now = Date.now();
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
    server.child.disconnect();
    await new Promise((resolve) => server.child.once("exit", resolve));
    await raw.close();
    await database.drop();
    await pg.stop();
  }
}

/** Forks bench/server-process.ts (with this process's tsx loader) and waits for its port. */
function startServer(databaseUrl: string): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(new URL("./server-process.ts", import.meta.url), { execArgv: process.execArgv, env: { ...process.env, DATABASE_URL: databaseUrl } });
  return new Promise((resolve, reject) => {
    child.once("message", (m: { port: number }) => resolve({ child, port: m.port }));
    child.once("exit", (code) => reject(new Error(`server process exited (${code})`)));
  });
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
