// One data model: the same values logged by the official SDK's protocol and by /api/v1 read back alike.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createRun, createUser, startHarness, type Harness } from "../integration/harness.js";

let h: Harness;
let dataDir: string;
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "swanlab-model-"));
  h = await startHarness({ SWANHOUSE_DATA_DIR: dataDir });
});
afterAll(async () => {
  await h.close();
  rmSync(dataDir, { recursive: true, force: true });
});

it("an SDK run and a /api/v1 run with the same data look the same", async () => {
  const u = await createUser(h.app);
  const t = "2026-08-21T12:00:00.000Z";

  const v1 = await createRun(h.app, u, { project: "same", name: "twin", config: { lr: 0.1, layers: [2, 3] } });
  const logged = await h.app.inject({ method: "POST", url: `/api/v1/runs/${v1.id}/log`, headers: u.auth, payload: {
    metrics: [{ key: "train/loss", step: 1, value: 0.5, time: t }, { key: "train/loss", step: 2, value: "NaN", time: t }, { key: "__swanlab__.cpu.pct", step: 0, value: 7, time: t }],
    texts: [{ key: "pred", step: 1, text: "yes", caption: "c", time: t }],
    logs: [{ level: "info", message: "hi", seq: 1, time: t }],
  } });
  expect(logged.statusCode).toBe(200);

  const login = await h.app.inject({ method: "POST", url: "/api/login/api_key", headers: { authorization: u.key } });
  const cookie = `sid=${login.json().sid as string}`;
  const exp = await h.app.inject({ method: "POST", url: `/api/project/${u.username}/same/experiment`, headers: { cookie }, payload: { name: "twin", cuid: "sdktwin1" } });
  expect(exp.statusCode).toBe(201);
  const house = (type: string, metrics: unknown[]) => h.app.inject({ method: "POST", url: "/api/house/metrics", headers: { cookie }, payload: { experimentId: "sdktwin1", type, metrics } });
  expect((await house("scalar", [{ key: "train/loss", index: 1, data: 0.5, create_time: t }, { key: "train/loss", index: 2, data: "nan", create_time: t }, { key: "__swanlab__.cpu.pct", index: 0, data: 7, create_time: t }])).statusCode).toBe(200);
  expect((await house("media", [{ key: "pred", index: 1, data: ["yes"], more: [{ caption: "c" }], create_time: t }])).statusCode).toBe(200);
  expect((await house("log", [{ level: "INFO", message: "hi", epoch: 1, create_time: t }])).statusCode).toBe(200);
  const profile = await h.app.inject({ method: "PUT", url: `/api/project/${u.username}/same/runs/sdktwin1/profile`, headers: { cookie }, payload: { config: { lr: { value: 0.1, sort: 0, desc: "" }, layers: { value: [2, 3], sort: 1, desc: "" } } } });
  expect(profile.statusCode).toBe(200);

  const read = async (id: string) => {
    const get = (url: string) => h.app.inject({ method: "GET", url, headers: u.auth }).then((r) => r.json());
    const detail = await get(`/api/v1/runs/${id}`);
    return {
      config: detail.run.config, status: detail.run.status, name: detail.run.name,
      metrics: detail.metrics,
      loss: await get(`/api/v1/runs/${id}/metrics?key=train%2Floss`),
      texts: (await get(`/api/v1/runs/${id}/texts?key=pred`)).items.map(({ time: _t, ...rest }: { time: string }) => rest),
      logs: (await get(`/api/v1/runs/${id}/logs`)).logs,
    };
  };
  const [a, b] = [await read(v1.id), await read("sdktwin1")];
  expect(b).toEqual(a);
  expect(b.metrics).toHaveLength(3);
});

it("a run the heartbeat reaper marked crashed runs again when its SDK process beats or writes", async () => {
  const u = await createUser(h.app);
  const login = await h.app.inject({ method: "POST", url: "/api/login/api_key", headers: { authorization: u.key } });
  const cookie = `sid=${login.json().sid as string}`;
  await h.app.inject({ method: "POST", url: `/api/projects/${u.username}`, headers: { cookie }, payload: { name: "reaped" } });
  const exp = await h.app.inject({ method: "POST", url: `/api/project/${u.username}/reaped/experiment`, headers: { cookie }, payload: { name: "slow", cuid: "reaped01" } });
  expect(exp.statusCode).toBe(201);
  const status = async () => (await h.app.inject({ method: "GET", url: "/api/v1/runs/reaped01", headers: u.auth })).json().run.status as string;
  const reap = () => h.db.pool.query("UPDATE runs SET status = 'crashed', finished_at = now() WHERE id = 'reaped01'");

  await reap();
  expect(await status()).toBe("crashed");
  expect((await h.app.inject({ method: "POST", url: "/api/house/experiments/reaped01/heartbeat", headers: { cookie }, payload: { flagId: "123456" } })).statusCode).toBe(200);
  expect(await status()).toBe("running");

  await reap();
  const write = await h.app.inject({ method: "POST", url: "/api/house/metrics", headers: { cookie }, payload: { experimentId: "reaped01", type: "scalar", metrics: [{ key: "loss", index: 0, data: 1 }] } });
  expect(write.json()).toEqual({ accepted: 1, skipped: 0 });
  expect(await status()).toBe("running");

  // The SDK's own CRASHED is final: its heartbeat stopped before it sent the state.
  await h.app.inject({ method: "PUT", url: `/api/project/${u.username}/reaped/runs/reaped01/state`, headers: { cookie }, payload: { state: "CRASHED", from: "sdk" } });
  expect(await status()).toBe("crashed");
});

it("the SDK routes appear in the OpenAPI document", async () => {
  const res = await h.app.inject({ method: "GET", url: "/api/openapi.json" });
  expect(res.statusCode).toBe(200);
  const paths = Object.keys(res.json().paths as object);
  expect(paths).toEqual(expect.arrayContaining(["/api/login/api_key", "/api/house/metrics", "/api/project/{username}/{project}/experiment", "/api/v1/runs/{id}/media"]));
});
