// Values sent by the official SDK are pushed to dashboard sockets like /api/v1 ones (same service path).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { io as connect, type Socket } from "socket.io-client";
import { createUser, startHarness, type Harness } from "../integration/harness.js";

let h: Harness;
let dataDir: string;
let socket: Socket | undefined;
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "swanlab-rt-"));
  h = await startHarness({ SWANHOUSE_DATA_DIR: dataDir });
  await h.app.listen({ host: "127.0.0.1", port: 0 });
});
afterAll(async () => {
  socket?.disconnect();
  await h.close();
  rmSync(dataDir, { recursive: true, force: true });
});

it("pushes metrics, texts and console lines from /api/house/metrics, each once", async () => {
  const u = await createUser(h.app);
  const sid = (await h.app.inject({ method: "POST", url: "/api/login/api_key", headers: { authorization: u.key } })).json().sid as string;
  const headers = { cookie: `sid=${sid}`, "X-SwanLab-SDK-Version": "0.9.7" };
  await h.app.inject({ method: "POST", url: `/api/projects/${u.username}`, headers, payload: { name: "live" } });
  expect((await h.app.inject({ method: "POST", url: `/api/project/${u.username}/live/experiment`, headers, payload: { name: "live", cuid: "live0001" } })).statusCode).toBe(201);

  const addr = h.app.server.address();
  if (!addr || typeof addr !== "object") throw new Error("no address");
  socket = connect(`http://127.0.0.1:${addr.port}`, { path: "/socket.io", transports: ["websocket"], auth: { token: u.key }, reconnection: false });
  await new Promise<void>((resolve, reject) => { socket!.once("connect", () => resolve()); socket!.once("connect_error", reject); });
  const got = { points: [] as Array<{ key: string; step: number }>, texts: [] as Array<{ text: string }>, logs: [] as Array<{ seq: number }> };
  socket.on("metrics:appended", (e: { points: typeof got.points }) => got.points.push(...e.points));
  socket.on("texts:appended", (e: { items: typeof got.texts }) => got.texts.push(...e.items));
  socket.on("logs:appended", (e: { logs: typeof got.logs }) => got.logs.push(...e.logs));
  expect(await socket.timeout(5000).emitWithAck("subscribe", { runId: "live0001" })).toEqual({ ok: true });

  const send = (type: string, metrics: unknown[]) => h.app.inject({ method: "POST", url: "/api/house/metrics", headers, payload: { experimentId: "live0001", type, metrics } });
  const scalars = [{ key: "loss", index: 0, data: 1 }, { key: "loss", index: 1, data: 0.5 }];
  for (let i = 0; i < 2; i++) {
    // The second round is a re-sent batch: nothing new, nothing pushed.
    await send("scalar", scalars);
    await send("media", [{ key: "sample", index: 0, data: ["hi"] }]);
    await send("log", [{ level: "INFO", message: "hello", epoch: 1 }]);
  }
  const t0 = Date.now();
  while (got.points.length < 2 || got.texts.length < 1 || got.logs.length < 1) {
    if (Date.now() - t0 > 5000) throw new Error(`timed out: ${JSON.stringify(got)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 300));
  expect(got.points.map((p) => [p.key, p.step])).toEqual([["loss", 0], ["loss", 1]]);
  expect(got.texts.map((t) => t.text)).toEqual(["hi"]);
  expect(got.logs.map((l) => l.seq)).toEqual([1]);
});
