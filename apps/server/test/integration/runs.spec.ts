// Projects and runs: idempotent create with a client id, merge-updates, heartbeat, finish states,
// list filters/sort/pagination, the heartbeat reaper on a fake clock, and the OpenAPI document.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, createRun, createUser, startHarness, type Harness, type TestUser } from "./harness.js";

let h: Harness;
let u: TestUser;
let offsetMs = 0;
const clock = { now: () => new Date(Date.now() + offsetMs) };
beforeAll(async () => {
  h = await startHarness({ HEARTBEAT_TIMEOUT_SECONDS: "60" }, clock);
  u = await createUser(h.app);
});
afterAll(async () => { await h.close(); });

describe("projects", () => {
  it("creates, reads, lists with run counts, updates; names are unique per workspace", async () => {
    const c = await call(h.app, "POST", `/api/v1/workspaces/${u.username}/projects`, { as: u, body: { name: "vision", description: "cats" } });
    expect(c.status).toBe(201);
    expect(c.body.project).toMatchObject({ workspace: u.username, name: "vision", description: "cats", visibility: "private", runCount: 0, lastActivityAt: null });
    expect((await call(h.app, "POST", `/api/v1/workspaces/${u.username}/projects`, { as: u, body: { name: "vision" } })).status).toBe(409);
    const bad = await call(h.app, "POST", `/api/v1/workspaces/${u.username}/projects`, { as: u, body: { name: "has space" } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe("body.name");
    await createRun(h.app, u, { project: "vision" });
    const got = await call(h.app, "GET", `/api/v1/projects/${u.username}/vision`, { as: u });
    expect(got.body.project.runCount).toBe(1);
    expect(got.body.project.lastActivityAt).not.toBeNull();
    const list = await call(h.app, "GET", `/api/v1/workspaces/${u.username}/projects`, { as: u });
    expect(list.body.projects.map((p: { name: string }) => p.name)).toContain("vision");
    const up = await call(h.app, "PATCH", `/api/v1/projects/${u.username}/vision`, { as: u, body: { description: "dogs", visibility: "public" } });
    expect(up.body.project).toMatchObject({ description: "dogs", visibility: "public" });
    expect((await call(h.app, "GET", `/api/v1/projects/${u.username}/nope`, { as: u })).status).toBe(404);
    expect((await call(h.app, "GET", `/api/v1/workspaces/no-such-ws/projects`, { as: u })).status).toBe(404);
  });
});

describe("runs", () => {
  it("creates 201, repeats with the client id 200, refuses the id in another project with 409", async () => {
    const body = { project: "p1", id: "client-run-1", name: "first", description: "d", tags: ["a", "b"], config: { lr: 0.1, nested: { x: 1 } } };
    const a = await call(h.app, "POST", "/api/v1/runs", { as: u, body });
    expect(a.status).toBe(201);
    expect(a.body.run).toMatchObject({ id: "client-run-1", project: "p1", workspace: u.username, name: "first", tags: ["a", "b"], status: "running", config: { lr: 0.1, nested: { x: 1 } }, metadata: {}, finishedAt: null });
    const b = await call(h.app, "POST", "/api/v1/runs", { as: u, body });
    expect(b.status).toBe(200);
    expect(b.body.run.id).toBe("client-run-1");
    const c = await call(h.app, "POST", "/api/v1/runs", { as: u, body: { ...body, project: "p2" } });
    expect(c.status).toBe(409);
    expect(c.body.error.field).toBe("id");
    expect(c.body.error.message).toContain("client-run-1");
    // Someone else's run id is also a conflict, and not a way into it.
    const other = await createUser(h.app);
    expect((await call(h.app, "POST", "/api/v1/runs", { as: other, body: { project: "p1", id: "client-run-1" } })).status).toBe(409);
    const gen = await call(h.app, "POST", "/api/v1/runs", { as: u, body: { project: "p1" } });
    expect(gen.status).toBe(201);
    expect(gen.body.run.id).not.toBe("client-run-1");
  });

  it("validates create input and needs a key", async () => {
    expect((await call(h.app, "POST", "/api/v1/runs", { body: { project: "p1" } })).status).toBe(401);
    const noProject = await call(h.app, "POST", "/api/v1/runs", { as: u, body: {} });
    expect(noProject.status).toBe(400);
    expect(noProject.body.error.field).toBe("body.project");
    const badId = await call(h.app, "POST", "/api/v1/runs", { as: u, body: { project: "p1", id: "bad id/" } });
    expect(badId.body.error.field).toBe("body.id");
    const badTags = await call(h.app, "POST", "/api/v1/runs", { as: u, body: { project: "p1", tags: "x" } });
    expect(badTags.body.error.field).toBe("body.tags");
    expect((await call(h.app, "POST", "/api/v1/runs", { as: u, body: { project: "p1", workspace: "nobody-ws" } })).status).toBe(404);
    expect((await call(h.app, "GET", "/api/v1/runs/does-not-exist", { as: u })).status).toBe(404);
  });

  it("PATCH merges config and metadata, replaces name/description/tags/requirements", async () => {
    const run = await createRun(h.app, u, { project: "p1", config: { lr: 0.1, epochs: 3 } });
    const p1 = await call(h.app, "PATCH", `/api/v1/runs/${run.id}`, { as: u, body: { config: { epochs: 5, bs: 32 }, metadata: { os: "linux" } } });
    expect(p1.status).toBe(200);
    const p2 = await call(h.app, "PATCH", `/api/v1/runs/${run.id}`, { as: u, body: { metadata: { gpu: "H100" }, requirements: "torch==2.4", description: "new", tags: ["x"] } });
    expect(p2.body.run).toMatchObject({ config: { lr: 0.1, epochs: 5, bs: 32 }, metadata: { os: "linux", gpu: "H100" }, requirements: "torch==2.4", description: "new", tags: ["x"] });
    const bad = await call(h.app, "PATCH", `/api/v1/runs/${run.id}`, { as: u, body: { config: [1, 2] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe("body.config");
    const renamed = await call(h.app, "PATCH", `/api/v1/runs/${run.id}`, { as: u, body: { name: "  lr-sweep-3  " } });
    expect(renamed.body.run).toMatchObject({ name: "lr-sweep-3", description: "new", tags: ["x"] });
    for (const [body, field] of [[{ name: "  " }, "body.name"], [{ name: "x".repeat(201) }, "body.name"], [{ tags: ["ok", "y".repeat(65)] }, "body.tags.1"]] as const) {
      const refused = await call(h.app, "PATCH", `/api/v1/runs/${run.id}`, { as: u, body: { description: "not written", ...body } });
      expect(refused.status).toBe(400);
      expect(refused.body.error.field).toBe(field);
    }
    const after = await call(h.app, "GET", `/api/v1/runs/${run.id}`, { as: u });
    expect(after.body.run).toMatchObject({ name: "lr-sweep-3", description: "new" });
    expect((await call(h.app, "PATCH", `/api/v1/runs/nope`, { as: u, body: {} })).status).toBe(404);
  });

  it("heartbeat moves lastHeartbeatAt; finish sets each state", async () => {
    const run = await createRun(h.app, u, { project: "p1" });
    offsetMs += 5_000;
    const hb = await call(h.app, "POST", `/api/v1/runs/${run.id}/heartbeat`, { as: u });
    expect(hb.status).toBe(200);
    expect(Date.parse(hb.body.run.lastHeartbeatAt)).toBeGreaterThan(Date.parse((run as unknown as { lastHeartbeatAt: string }).lastHeartbeatAt));
    for (const state of ["crashed", "aborted", "finished"] as const) {
      const r = await createRun(h.app, u, { project: "p1" });
      const f = await call(h.app, "POST", `/api/v1/runs/${r.id}/finish`, { as: u, body: { state } });
      expect(f.status).toBe(200);
      expect(f.body.run.status).toBe(state);
      expect(f.body.run.finishedAt).not.toBeNull();
    }
    const r = await createRun(h.app, u, { project: "p1" });
    const first = (await call(h.app, "POST", `/api/v1/runs/${r.id}/finish`, { as: u })).body.run;
    expect(first.status).toBe("finished");
    // The same state again is still a sign of life: the times move (webhooks and mail hear only the first).
    offsetMs += 5_000;
    const again = (await call(h.app, "POST", `/api/v1/runs/${r.id}/finish`, { as: u })).body.run;
    expect(Date.parse(again.lastHeartbeatAt)).toBeGreaterThan(Date.parse(first.lastHeartbeatAt));
    const bad = await call(h.app, "POST", `/api/v1/runs/${run.id}/finish`, { as: u, body: { state: "running" } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe("body.state");
  });

  it("lists a project's runs: filter by status, tag, name; sort; paginate", async () => {
    const names = ["alpha-1", "alpha-2", "beta-1", "beta-2", "gamma"];
    const ids: string[] = [];
    for (const [i, name] of names.entries()) {
      offsetMs += 1000;
      const r = await createRun(h.app, u, { project: "listing", name, tags: i % 2 ? ["odd"] : ["even"] });
      ids.push(r.id);
    }
    await call(h.app, "POST", `/api/v1/runs/${ids[4]}/finish`, { as: u, body: { state: "finished" } });
    await call(h.app, "POST", `/api/v1/runs/${ids[0]}/log`, { as: u, body: { metrics: [{ key: "loss", step: 3, value: 0.25 }] } });
    const base = `/api/v1/projects/${u.username}/listing/runs`;
    const all = await call(h.app, "GET", base, { as: u });
    expect(all.status).toBe(200);
    expect(all.body.total).toBe(5);
    expect(all.body.runs.map((r: { name: string }) => r.name)).toEqual([...names].reverse()); // createdAt desc
    expect(all.body.runs.at(-1).metrics).toEqual([expect.objectContaining({ key: "loss", lastStep: 3, lastValue: 0.25, count: 1 })]);
    const byStatus = await call(h.app, "GET", `${base}?status=finished`, { as: u });
    expect(byStatus.body.runs.map((r: { name: string }) => r.name)).toEqual(["gamma"]);
    const byTag = await call(h.app, "GET", `${base}?tag=odd&sort=name&order=asc`, { as: u });
    expect(byTag.body.runs.map((r: { name: string }) => r.name)).toEqual(["alpha-2", "beta-2"]);
    const byName = await call(h.app, "GET", `${base}?name=ALPHA&sort=name&order=asc`, { as: u });
    expect(byName.body.runs.map((r: { name: string }) => r.name)).toEqual(["alpha-1", "alpha-2"]);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { body: { runs: { name: string }[]; nextCursor: string | null; total: number } } = await call(h.app, "GET", `${base}?limit=2&sort=name&order=asc${cursor ? `&cursor=${cursor}` : ""}`, { as: u });
      expect(page.body.total).toBe(5);
      seen.push(...page.body.runs.map((r) => r.name));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(names);
    const badQ = await call(h.app, "GET", `${base}?status=sleeping`, { as: u });
    expect(badQ.status).toBe(400);
    expect(badQ.body.error.field).toBe("querystring.status");
    expect((await call(h.app, "GET", `${base}?limit=0`, { as: u })).body.error.field).toBe("querystring.limit");
  });

  it("the reaper marks a running run crashed once its heartbeat is older than the timeout", async () => {
    const stale = await createRun(h.app, u, { project: "reaper" });
    const done = await createRun(h.app, u, { project: "reaper" });
    await call(h.app, "POST", `/api/v1/runs/${done.id}/finish`, { as: u, body: { state: "finished" } });
    offsetMs += 30_000;
    const fresh = await createRun(h.app, u, { project: "reaper" });
    expect(await h.app.reaper.sweep()).toBe(0);
    offsetMs += 45_000; // stale: 75 s without a heartbeat; fresh: 45 s
    const swept = await h.app.reaper.sweep();
    expect(swept).toBeGreaterThanOrEqual(1);
    const status = async (id: string) => (await call(h.app, "GET", `/api/v1/runs/${id}`, { as: u })).body.run.status;
    expect(await status(stale.id)).toBe("crashed");
    expect(await status(fresh.id)).toBe("running");
    expect(await status(done.id)).toBe("finished");
    // A heartbeat keeps a run alive.
    await call(h.app, "POST", `/api/v1/runs/${fresh.id}/heartbeat`, { as: u });
    offsetMs += 30_000;
    await h.app.reaper.sweep();
    expect(await status(fresh.id)).toBe("running");
    expect(await h.app.reaper.sweep()).toBe(0);
  });
});

describe("openapi", () => {
  it("documents the v1 routes at /api/openapi.json and serves the docs UI", async () => {
    const res = await call(h.app, "GET", "/api/openapi.json");
    expect(res.status).toBe(200);
    expect(res.body.openapi).toMatch(/^3\./);
    const paths = Object.keys(res.body.paths);
    for (const p of ["/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/api-keys", "/api/v1/teams", "/api/v1/runs", "/api/v1/runs/{id}", "/api/v1/runs/{id}/log", "/api/v1/runs/{id}/heartbeat", "/api/v1/runs/{id}/finish", "/api/v1/runs/{id}/metrics", "/api/v1/runs/{id}/texts", "/api/v1/runs/{id}/logs", "/api/v1/runs/{id}/export.csv", "/api/v1/projects/{workspace}/{project}/runs"]) {
      expect(paths, p).toContain(p);
    }
    const log = res.body.paths["/api/v1/runs/{id}/log"].post;
    expect(JSON.stringify(log.requestBody)).toContain("metrics");
    expect((await call(h.app, "GET", "/api/docs/")).status).toBe(200);
  });
});
