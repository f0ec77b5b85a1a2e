import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRun, createUser, startHarness, type Harness } from "./harness.js";

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h.close(); });

describe("smoke", () => {
  it("registers, creates a run, logs and reads back", async () => {
    const u = await createUser(h.app);
    const run = await createRun(h.app, u);
    const log = await h.app.inject({ method: "POST", url: `/api/v1/runs/${run.id}/log`, headers: u.auth, payload: { metrics: [{ key: "train/loss", step: 1, value: 0.5 }, { key: "train/loss", step: 2, value: "NaN" }], texts: [{ key: "Prediction", step: 1, text: "hi", caption: "Sports" }], logs: [{ level: "info", message: "hello" }] } });
    expect(log.json()).toEqual({ accepted: { metrics: 2, texts: 1, logs: 1 } });
    const got = await h.app.inject({ method: "GET", url: `/api/v1/runs/${run.id}`, headers: u.auth });
    expect(got.json().metrics).toContainEqual(expect.objectContaining({ key: "train/loss", lastStep: 2, lastValue: "NaN", count: 2 }));
    const series = await h.app.inject({ method: "GET", url: `/api/v1/runs/${run.id}/metrics?key=train/loss`, headers: u.auth });
    expect(series.json().points.map((p: { value: unknown }) => p.value)).toEqual([0.5, "NaN"]);
  });
});

describe("NUL characters (PostgreSQL text cannot hold them)", () => {
  it("are refused in texts and logs with the field named, and stripped from config and metadata JSON", async () => {
    const u = await createUser(h.app);
    const run = await createRun(h.app, u, { config: { "a\u0000": "x\u0000y" } });
    const log = await h.app.inject({ method: "POST", url: `/api/v1/runs/${run.id}/log`, headers: u.auth, payload: { texts: [{ key: "t", step: 0, text: "a\u0000b" }] } });
    expect(log.statusCode).toBe(400);
    expect(log.json().error.field).toBe("body.texts.0.text");
    const patch = await h.app.inject({ method: "PATCH", url: `/api/v1/runs/${run.id}`, headers: u.auth, payload: { metadata: { host: "h\u0000" } } });
    expect(patch.statusCode).toBe(200);
    expect(patch.json().run.config).toEqual({ a: "xy" });
    expect(patch.json().run.metadata).toEqual({ host: "h" });
  });
  it("run ids are 21 lowercase letters and digits", async () => {
    const u = await createUser(h.app);
    const run = await createRun(h.app, u);
    expect(run.id).toMatch(/^[a-z0-9]{21}$/);
  });
});

describe("resume", () => {
  it("creating a finished run again with its id answers 200 and sets it running", async () => {
    const u = await createUser(h.app);
    const run = await createRun(h.app, u, { id: "resume-me" });
    await h.app.inject({ method: "POST", url: `/api/v1/runs/${run.id}/finish`, headers: u.auth, payload: { state: "crashed" } });
    const again = await h.app.inject({ method: "POST", url: "/api/v1/runs", headers: u.auth, payload: { project: "demo", id: "resume-me" } });
    expect(again.statusCode).toBe(200);
    expect(again.json().run).toMatchObject({ id: "resume-me", status: "running", finishedAt: null });
  });
});
