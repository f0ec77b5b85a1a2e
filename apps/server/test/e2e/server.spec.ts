// End to end against the built server as real processes (`node dist/main.js`): register over HTTP, make
// an API key, create a run, log 100k points in 10k batches, read them back downsampled and in full, and
// receive every point once over socket.io. A second process on the same database and Redis shows that
// a socket on one process sees points ingested through the other. Needs `npm run build` first.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { io as connect, type Socket } from "socket.io-client";
import { createTestDatabase, redisUrl } from "@swanhouse/testkit";

const root = fileURLToPath(new URL("../..", import.meta.url));
const mainJs = path.join(root, "dist/main.js");

type Server = { proc: ChildProcess; url: string; output: () => string };
async function startServer(env: Record<string, string>): Promise<Server> {
  if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run \`npm run build -w @swanhouse/server\` first`);
  const proc = spawn(process.execPath, [mainJs], {
    cwd: root,
    env: { ...process.env, NODE_ENV: "production", HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
    const check = () => {
      const m = /Swanhouse is running at (http:\/\/\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]!.replace("localhost", "127.0.0.1")); }
    };
    proc.stdout!.on("data", check);
    proc.once("exit", (code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}:\n${out}`)); });
  });
  return { proc, url, output: () => out };
}
/** SIGTERM, then the exit code and how long the graceful close took. */
async function stopServer(s: Server): Promise<{ code: number | null; ms: number }> {
  if (s.proc.exitCode !== null) return { code: s.proc.exitCode, ms: 0 };
  const exited = new Promise<number | null>((resolve) => s.proc.once("exit", (code) => resolve(code)));
  const t0 = Date.now();
  s.proc.kill("SIGTERM");
  const timer = setTimeout(() => s.proc.kill("SIGKILL"), 15_000);
  const code = await exited;
  clearTimeout(timer);
  return { code, ms: Date.now() - t0 };
}

async function http(url: string, method: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method, headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers }, body: body !== undefined ? JSON.stringify(body) : undefined });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}
async function until(cond: () => boolean, ms: number, what: string | (() => string)) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${typeof what === "string" ? what : what()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
const disconnects: string[] = [];
function openSocket(url: string, token: string): Promise<Socket> {
  const s = connect(url, { path: "/socket.io", transports: ["websocket"], auth: { token }, reconnection: false });
  s.on("disconnect", (reason) => disconnects.push(`${url} ${reason} at ${new Date().toISOString()}`));
  return new Promise((resolve, reject) => { s.once("connect", () => resolve(s)); s.once("connect_error", reject); });
}
type Pushed = { runId: string; points: Array<{ key: string; step: number; value: number | string }> };

describe("e2e: the built server as two processes on one database and Redis", () => {
  let database: { url: string; drop: () => Promise<void> };
  let a: Server;
  let b: Server;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    database = await createTestDatabase(inject("pgAdminUrl"), inject("pgTemplate"));
    const env = { DATABASE_URL: database.url, REDIS_URL: redisUrl() };
    [a, b] = await Promise.all([startServer(env), startServer(env)]);
  });
  afterAll(async () => {
    // Sockets stay connected on purpose: SIGTERM must still close gracefully (exit 0), well within
    // close-with-grace's 10 s limit (which would exit 1).
    const stopped = await Promise.all([a, b].filter(Boolean).map(stopServer));
    for (const s of sockets) s.disconnect();
    await database?.drop();
    for (const s of stopped) {
      expect(s.code, a?.output()).toBe(0);
      expect(s.ms).toBeLessThan(8_000);
    }
  });

  let key = "";
  let runId = "";
  it("registers over HTTP, makes an API key, creates a run", async () => {
    const reg = await http(`${a.url}/api/v1/auth/register`, "POST", { username: "e2e-user", password: "a-long-password" });
    expect(reg.status).toBe(201);
    const cookie = reg.headers.get("set-cookie")!.split(";")[0]!;
    const k = await http(`${a.url}/api/v1/api-keys`, "POST", { name: "e2e" }, { cookie });
    expect(k.status).toBe(201);
    key = k.body.key;
    const run = await http(`${a.url}/api/v1/runs`, "POST", { project: "e2e", name: "100k", config: { lr: 3e-4 } }, { authorization: `Bearer ${key}` });
    expect(run.status).toBe(201);
    runId = run.body.run.id;
  });

  it("logs 100k points in 10k batches, reads them back downsampled and in full, and pushes each once", async () => {
    const N = 100_000;
    const BATCH = 10_000;
    const value = (s: number) => (s === 61_234 ? 50 : s === 7 ? "NaN" : Math.exp(-s / 30_000) + 0.01 * Math.sin(s));
    const socket = await openSocket(a.url, key);
    sockets.push(socket);
    const pushed: Pushed[] = [];
    socket.on("metrics:appended", (e: Pushed) => pushed.push(e));
    expect(await socket.timeout(5000).emitWithAck("subscribe", { runId })).toEqual({ ok: true });

    const auth = { authorization: `Bearer ${key}` };
    for (let start = 0; start < N; start += BATCH) {
      const metrics = Array.from({ length: BATCH }, (_, i) => ({ key: "train/loss", step: start + i, value: value(start + i) }));
      const res = await http(`${a.url}/api/v1/runs/${runId}/log`, "POST", { metrics }, auth);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.accepted.metrics).toBe(BATCH);
    }
    await until(() => pushed.reduce((n, e) => n + e.points.length, 0) >= N, 20_000, "100k pushed points");
    const steps = pushed.flatMap((e) => e.points.map((p) => p.step));
    expect(steps).toHaveLength(N);
    expect(new Set(steps).size).toBe(N);
    expect(pushed.every((e) => e.runId === runId)).toBe(true);
    expect(pushed.length).toBeLessThanOrEqual(20); // batched: about one message per request, not one per point
    expect(pushed.flatMap((e) => e.points).find((p) => p.step === 7)!.value).toBe("NaN");

    const down = await http(`${a.url}/api/v1/runs/${runId}/metrics?key=train/loss&maxPoints=2000`, "GET", undefined, auth);
    expect(down.body).toMatchObject({ total: N, downsampled: true });
    expect(down.body.points.length).toBeLessThanOrEqual(2000);
    expect(down.body.points.length).toBeGreaterThan(1000);
    expect(down.body.points).toContainEqual(expect.objectContaining({ step: 61_234, value: 50 }));
    expect(down.body.points.at(-1)).toMatchObject({ step: N - 1 });

    const full = await http(`${a.url}/api/v1/runs/${runId}/metrics?key=train/loss&maxPoints=${N}`, "GET", undefined, auth);
    expect(full.body).toMatchObject({ total: N, downsampled: false });
    expect(full.body.points).toHaveLength(N);
    full.body.points.forEach((p: { step: number; value: number | string }, i: number) => {
      if (p.step !== i || p.value !== value(i)) throw new Error(`point ${i} is ${JSON.stringify(p)}`);
    });

    // A re-sent batch stores and pushes nothing.
    const again = await http(`${a.url}/api/v1/runs/${runId}/log`, "POST", { metrics: [{ key: "train/loss", step: 5, value: 1 }] }, auth);
    expect(again.body.accepted.metrics).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(pushed.reduce((n, e) => n + e.points.length, 0)).toBe(N);
  });

  it("a socket on process A receives points and status ingested through process B", async () => {
    const socket = await openSocket(a.url, key);
    sockets.push(socket);
    const pushed: Pushed[] = [];
    const updates: Array<{ run: { id: string; status: string } }> = [];
    socket.on("metrics:appended", (e: Pushed) => pushed.push(e));
    socket.on("run:updated", (e: { run: { id: string; status: string } }) => updates.push(e));
    const auth = { authorization: `Bearer ${key}` };
    const run = await http(`${b.url}/api/v1/runs`, "POST", { project: "e2e", name: "via-b" }, auth);
    expect(run.status).toBe(201);
    expect(await socket.timeout(5000).emitWithAck("subscribe", { runId: run.body.run.id })).toEqual({ ok: true });
    // A socket on B too: if A gets nothing, this tells Redis fan-out apart from ingestion or batching.
    const local = await openSocket(b.url, key);
    sockets.push(local);
    const localPushed: Pushed[] = [];
    local.on("metrics:appended", (e: Pushed) => localPushed.push(e));
    expect(await local.timeout(5000).emitWithAck("subscribe", { runId: run.body.run.id })).toEqual({ ok: true });
    for (let i = 0; i < 5; i++) {
      const metrics = Array.from({ length: 1000 }, (_, j) => ({ key: "acc", step: i * 1000 + j, value: j / 1000 }));
      expect((await http(`${b.url}/api/v1/runs/${run.body.run.id}/log`, "POST", { metrics }, auth)).body.accepted.metrics).toBe(1000);
    }
    const fin = await http(`${b.url}/api/v1/runs/${run.body.run.id}/finish`, "POST", { state: "finished" }, auth);
    expect(fin.body.run.status).toBe("finished");
    await until(() => pushed.reduce((n, e) => n + e.points.length, 0) >= 5000 && updates.some((u) => u.run.status === "finished"), 20_000,
      () => `points from process B (got ${pushed.reduce((n, e) => n + e.points.length, 0)} points, ${updates.length} run updates; a socket on B got ${localPushed.reduce((n, e) => n + e.points.length, 0)}; disconnects: ${disconnects.join(", ") || "none"}; now ${new Date().toISOString()})\nA: ${a.output().slice(-2000)}\nB: ${b.output().slice(-2000)}`);
    const steps = pushed.flatMap((e) => e.points.map((p) => p.step));
    expect(new Set(steps).size).toBe(5000);
    expect(steps).toHaveLength(5000);
    expect(updates.at(-1)!.run).toMatchObject({ id: run.body.run.id, status: "finished" });
  });
});
