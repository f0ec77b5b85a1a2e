// socket.io: subscribing needs read access (ack ok:false otherwise); pushes are batched (1,000 points
// arrive in a few messages); with REDIS_URL two app instances on one database share events.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { io as connect, type Socket } from "socket.io-client";
import type { FastifyInstance } from "fastify";
import { redisUrl } from "@swanhouse/testkit";
import { call, createRun, createUser, startAppOn, startHarness, type Harness, type TestUser } from "./harness.js";

type Pushed = { runId: string; points: Array<{ key: string; step: number; value: unknown }> };

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: "127.0.0.1", port: 0 });
  const addr = app.server.address();
  if (!addr || typeof addr !== "object") throw new Error("no address");
  return `http://127.0.0.1:${addr.port}`;
}

const sockets: Socket[] = [];
function open(url: string, auth: { token?: string; cookie?: string } = {}): Promise<Socket> {
  const s = connect(url, { path: "/socket.io", transports: ["websocket"], auth: auth.token ? { token: auth.token } : {}, extraHeaders: auth.cookie ? { cookie: auth.cookie } : {}, reconnection: false });
  sockets.push(s);
  return new Promise((resolve, reject) => {
    s.once("connect", () => resolve(s));
    s.once("connect_error", reject);
  });
}
const subscribe = (s: Socket, body: object) => s.timeout(5000).emitWithAck("subscribe", body) as Promise<{ ok: boolean; error?: string }>;
async function until(cond: () => boolean, ms = 5000) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

afterAll(() => { for (const s of sockets) s.disconnect(); });

describe("realtime, one process", () => {
  let h: Harness;
  let url: string;
  let owner: TestUser, outsider: TestUser;
  beforeAll(async () => {
    h = await startHarness();
    url = await listen(h.app);
    [owner, outsider] = [await createUser(h.app), await createUser(h.app)];
  });
  afterAll(async () => { await h.close(); });

  it("subscribe needs read access: ack ok:false for strangers, unknown runs and bad bodies", async () => {
    const run = await createRun(h.app, owner);
    const stranger = await open(url, { token: outsider.key });
    expect(await subscribe(stranger, { runId: run.id })).toMatchObject({ ok: false });
    expect(await subscribe(stranger, { projectId: run.projectId })).toMatchObject({ ok: false });
    const anon = await open(url);
    expect(await subscribe(anon, { runId: run.id })).toMatchObject({ ok: false });
    const mine = await open(url, { token: owner.key });
    expect(await subscribe(mine, { runId: "no-such-run" })).toMatchObject({ ok: false });
    expect(await subscribe(mine, { nothing: 1 })).toMatchObject({ ok: false });
    expect(await subscribe(mine, { runId: run.id })).toEqual({ ok: true });
    const byCookie = await open(url, { cookie: owner.cookie });
    expect(await subscribe(byCookie, { projectId: run.projectId })).toEqual({ ok: true });
    // A bad key is refused at the handshake.
    await expect(open(url, { token: "AAAAAAAAAAAAAAAAAAAAA" })).rejects.toThrow();

    // The stranger receives nothing for the run it could not join.
    const strangerGot: Pushed[] = [];
    stranger.on("metrics:appended", (e: Pushed) => strangerGot.push(e));
    const got: Pushed[] = [];
    mine.on("metrics:appended", (e: Pushed) => got.push(e));
    await call(h.app, "POST", `/api/v1/runs/${run.id}/log`, { as: owner, body: { metrics: [{ key: "x", step: 0, value: "NaN" }] } });
    await until(() => got.length > 0);
    expect(got[0]).toEqual({ runId: run.id, points: [expect.objectContaining({ key: "x", step: 0, value: "NaN" })] });
    await new Promise((r) => setTimeout(r, 300));
    expect(strangerGot).toEqual([]);
  });

  it("a public project's runs can be watched anonymously", async () => {
    await call(h.app, "POST", `/api/v1/workspaces/${owner.username}/projects`, { as: owner, body: { name: "pub", visibility: "public" } });
    const run = await createRun(h.app, owner, { project: "pub" });
    const anon = await open(url);
    expect(await subscribe(anon, { runId: run.id })).toEqual({ ok: true });
  });

  it("a deleted run is announced to its subscribers and its project's", async () => {
    const run = await createRun(h.app, owner);
    const runSock = await open(url, { token: owner.key });
    const projSock = await open(url, { cookie: owner.cookie });
    expect(await subscribe(runSock, { runId: run.id })).toEqual({ ok: true });
    expect(await subscribe(projSock, { projectId: run.projectId })).toEqual({ ok: true });
    const heard: unknown[] = [];
    for (const s of [runSock, projSock]) s.on("run:deleted", (e: unknown) => heard.push(e));
    expect((await call(h.app, "DELETE", `/api/v1/runs/${run.id}`, { as: owner })).status).toBe(200);
    await until(() => heard.length === 2);
    expect(heard).toEqual([{ runId: run.id, projectId: run.projectId }, { runId: run.id, projectId: run.projectId }]);
  });

  it("batches pushes: 1,000 points logged one request at a time arrive complete in a few messages", async () => {
    const run = await createRun(h.app, owner);
    const runSock = await open(url, { token: owner.key });
    const projSock = await open(url, { token: owner.key });
    expect(await subscribe(runSock, { runId: run.id })).toEqual({ ok: true });
    expect(await subscribe(projSock, { projectId: run.projectId })).toEqual({ ok: true });
    const got: Pushed[] = [];
    const projGot: Pushed[] = [];
    const texts: unknown[] = [];
    const logs: unknown[] = [];
    const updates: Array<{ run: { status: string } }> = [];
    runSock.on("metrics:appended", (e: Pushed) => got.push(e));
    runSock.on("texts:appended", (e: unknown) => texts.push(e));
    runSock.on("logs:appended", (e: unknown) => logs.push(e));
    runSock.on("run:updated", (e: { run: { status: string } }) => updates.push(e));
    projSock.on("metrics:appended", (e: Pushed) => projGot.push(e));
    const t0 = Date.now();
    // 100 requests of 10 points, 10 at a time: 1,000 points in well under a second.
    for (let b = 0; b < 100; b += 10) {
      await Promise.all(Array.from({ length: 10 }, (_, j) => {
        const base = (b + j) * 10;
        return call(h.app, "POST", `/api/v1/runs/${run.id}/log`, { as: owner, body: { metrics: Array.from({ length: 10 }, (_, i) => ({ key: "loss", step: base + i, value: base + i })) } });
      }));
    }
    const elapsed = Date.now() - t0;
    await call(h.app, "POST", `/api/v1/runs/${run.id}/log`, { as: owner, body: { texts: [{ key: "p", step: 1, text: "t" }], logs: [{ message: "hello" }] } });
    await call(h.app, "POST", `/api/v1/runs/${run.id}/finish`, { as: owner, body: { state: "finished" } });
    await until(() => got.reduce((n, e) => n + e.points.length, 0) >= 1000 && texts.length > 0 && logs.length > 0 && updates.length > 0);
    const steps = got.flatMap((e) => e.points.map((p) => p.step));
    expect(new Set(steps).size).toBe(1000);
    expect(steps).toHaveLength(1000);
    // One message per 100 ms flush at most, plus slack for the boundaries.
    expect(got.length).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 3);
    expect(got.length).toBeLessThan(50);
    await until(() => projGot.reduce((n, e) => n + e.points.length, 0) >= 1000);
    expect(updates.at(-1)!.run.status).toBe("finished");
    // Re-sent points are not pushed again.
    const before = got.length;
    await call(h.app, "POST", `/api/v1/runs/${run.id}/log`, { as: owner, body: { metrics: [{ key: "loss", step: 5, value: 5 }] } });
    await new Promise((r) => setTimeout(r, 300));
    expect(got.length).toBe(before);
  });
});

describe("realtime across two app instances over Redis", () => {
  let a: Harness;
  let b: Harness;
  beforeAll(async () => {
    a = await startHarness({ REDIS_URL: redisUrl() });
    b = await startAppOn(a.env.DATABASE_URL!, { REDIS_URL: redisUrl() });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  it("a socket on instance A receives points ingested through instance B", async () => {
    const urlA = await listen(a.app);
    const u = await createUser(a.app);
    const run = await createRun(b.app, u);
    const s = await open(urlA, { token: u.key });
    expect(await subscribe(s, { runId: run.id })).toEqual({ ok: true });
    const got: Pushed[] = [];
    s.on("metrics:appended", (e: Pushed) => got.push(e));
    const updates: unknown[] = [];
    s.on("run:updated", (e: unknown) => updates.push(e));
    for (let i = 0; i < 5; i++) {
      const res = await call(b.app, "POST", `/api/v1/runs/${run.id}/log`, { as: u, body: { metrics: Array.from({ length: 200 }, (_, j) => ({ key: "loss", step: i * 200 + j, value: j })) } });
      expect(res.body.accepted.metrics).toBe(200);
    }
    await call(b.app, "POST", `/api/v1/runs/${run.id}/finish`, { as: u, body: { state: "finished" } });
    await until(() => got.reduce((n, e) => n + e.points.length, 0) >= 1000 && updates.length > 0);
    const steps = got.flatMap((e) => e.points.map((p) => p.step));
    expect(new Set(steps).size).toBe(1000);
    expect(steps).toHaveLength(1000);
  });
});
