// Teams and access: members by username with roles, last-owner rules, viewers cannot write, private
// resources answer 404 to outsiders, public projects are readable anonymously and writable by nobody outside.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, createRun, createUser, startHarness, type Harness, type TestUser } from "./harness.js";

let h: Harness;
let owner: TestUser, admin: TestUser, member: TestUser, viewer: TestUser, outsider: TestUser;
beforeAll(async () => {
  h = await startHarness();
  [owner, admin, member, viewer, outsider] = (await Promise.all([0, 1, 2, 3, 4].map(() => createUser(h.app)))) as [TestUser, TestUser, TestUser, TestUser, TestUser];
});
afterAll(async () => { await h.close(); });

describe("teams", () => {
  it("creates a team (creator is owner) and refuses a taken name", async () => {
    const res = await call(h.app, "POST", "/api/v1/teams", { as: owner, body: { name: "lab", displayName: "The Lab" } });
    expect(res.status).toBe(201);
    expect(res.body.workspace).toMatchObject({ name: "lab", displayName: "The Lab", kind: "team", role: "owner" });
    expect((await call(h.app, "POST", "/api/v1/teams", { as: admin, body: { name: "lab" } })).status).toBe(409);
    expect((await call(h.app, "POST", "/api/v1/teams", { as: admin, body: { name: owner.username } })).status).toBe(409);
    expect((await call(h.app, "POST", "/api/v1/teams", { body: { name: "anon" } })).status).toBe(401);
    const ws = await call(h.app, "GET", "/api/v1/workspaces", { as: owner });
    expect(ws.body.workspaces.map((w: { name: string }) => w.name).sort()).toEqual(["lab", owner.username].sort());
  });

  it("adds members by username with a role", async () => {
    for (const [u, role] of [[admin, "admin"], [member, "member"], [viewer, "viewer"]] as const) {
      const res = await call(h.app, "POST", "/api/v1/workspaces/lab/members", { as: owner, body: { username: u.username, role } });
      expect(res.status).toBe(201);
      expect(res.body.member).toMatchObject({ username: u.username, role });
    }
    expect((await call(h.app, "POST", "/api/v1/workspaces/lab/members", { as: owner, body: { username: member.username, role: "viewer" } })).status).toBe(409);
    expect((await call(h.app, "POST", "/api/v1/workspaces/lab/members", { as: owner, body: { username: "nobody-here", role: "viewer" } })).status).toBe(404);
    const badRole = await call(h.app, "POST", "/api/v1/workspaces/lab/members", { as: owner, body: { username: outsider.username, role: "god" } });
    expect(badRole.status).toBe(400);
    expect(badRole.body.error.field).toBe("body.role");
    // Members and viewers cannot manage members; outsiders do not see the team.
    expect((await call(h.app, "POST", "/api/v1/workspaces/lab/members", { as: member, body: { username: outsider.username, role: "viewer" } })).status).toBe(403);
    expect((await call(h.app, "POST", "/api/v1/workspaces/lab/members", { as: outsider, body: { username: outsider.username, role: "admin" } })).status).toBe(404);
    const list = await call(h.app, "GET", "/api/v1/workspaces/lab/members", { as: viewer });
    expect(list.status).toBe(200);
    expect(list.body.members).toHaveLength(4);
    expect((await call(h.app, "GET", "/api/v1/workspaces/lab/members", { as: outsider })).status).toBe(404);
    // A personal workspace has no members to add.
    expect((await call(h.app, "POST", `/api/v1/workspaces/${owner.username}/members`, { as: owner, body: { username: member.username, role: "viewer" } })).status).toBe(400);
  });

  it("changes roles; only an owner touches the owner role; the last owner stays", async () => {
    const demoteLast = await call(h.app, "PATCH", `/api/v1/workspaces/lab/members/${owner.username}`, { as: owner, body: { role: "admin" } });
    expect(demoteLast.status).toBe(400);
    expect((await call(h.app, "DELETE", `/api/v1/workspaces/lab/members/${owner.username}`, { as: owner })).status).toBe(400);
    expect((await call(h.app, "PATCH", `/api/v1/workspaces/lab/members/${member.username}`, { as: admin, body: { role: "owner" } })).status).toBe(403);
    expect((await call(h.app, "DELETE", `/api/v1/workspaces/lab/members/${owner.username}`, { as: admin })).status).toBe(403);

    const promote = await call(h.app, "PATCH", `/api/v1/workspaces/lab/members/${admin.username}`, { as: owner, body: { role: "owner" } });
    expect(promote.status).toBe(200);
    expect(promote.body.member.role).toBe("owner");
    // Two owners now: one may step down.
    const down = await call(h.app, "PATCH", `/api/v1/workspaces/lab/members/${admin.username}`, { as: owner, body: { role: "admin" } });
    expect(down.body.member.role).toBe("admin");
    const toViewer = await call(h.app, "PATCH", `/api/v1/workspaces/lab/members/${member.username}`, { as: admin, body: { role: "viewer" } });
    expect(toViewer.body.member.role).toBe("viewer");
    expect((await call(h.app, "PATCH", `/api/v1/workspaces/lab/members/${member.username}`, { as: admin, body: { role: "member" } })).status).toBe(200);
    expect((await call(h.app, "PATCH", `/api/v1/workspaces/lab/members/not-a-member`, { as: admin, body: { role: "member" } })).status).toBe(404);
  });

  it("removes a member, who then loses access", async () => {
    await call(h.app, "POST", "/api/v1/workspaces/lab/members", { as: owner, body: { username: outsider.username, role: "member" } });
    const run = await createRun(h.app, outsider, { workspace: "lab", project: "tmp" });
    expect((await call(h.app, "GET", `/api/v1/runs/${run.id}`, { as: outsider })).status).toBe(200);
    expect((await call(h.app, "DELETE", `/api/v1/workspaces/lab/members/${outsider.username}`, { as: admin })).status).toBe(200);
    expect((await call(h.app, "GET", `/api/v1/runs/${run.id}`, { as: outsider })).status).toBe(404);
    expect((await call(h.app, "DELETE", `/api/v1/workspaces/lab/members/${outsider.username}`, { as: admin })).status).toBe(404);
  });
});

describe("access on projects and runs", () => {
  let run: { id: string; projectId: string };
  beforeAll(async () => {
    run = await createRun(h.app, member, { workspace: "lab", project: "secret" });
  });

  it("a viewer reads but cannot write runs", async () => {
    expect((await call(h.app, "GET", `/api/v1/runs/${run.id}`, { as: viewer })).status).toBe(200);
    expect((await call(h.app, "GET", "/api/v1/projects/lab/secret/runs", { as: viewer })).status).toBe(200);
    expect((await call(h.app, "POST", "/api/v1/runs", { as: viewer, body: { workspace: "lab", project: "secret" } })).status).toBe(403);
    expect((await call(h.app, "POST", `/api/v1/runs/${run.id}/log`, { as: viewer, body: { metrics: [{ key: "a", step: 0, value: 1 }] } })).status).toBe(403);
    expect((await call(h.app, "PATCH", `/api/v1/runs/${run.id}`, { as: viewer, body: { description: "x" } })).status).toBe(403);
    expect((await call(h.app, "POST", `/api/v1/runs/${run.id}/finish`, { as: viewer, body: { state: "finished" } })).status).toBe(403);
    expect((await call(h.app, "POST", `/api/v1/runs/${run.id}/heartbeat`, { as: viewer })).status).toBe(403);
    expect((await call(h.app, "POST", "/api/v1/workspaces/lab/projects", { as: viewer, body: { name: "v" } })).status).toBe(403);
  });

  it("a non-member gets 404 for a private project and its runs; anonymous gets 401", async () => {
    for (const url of [`/api/v1/runs/${run.id}`, `/api/v1/runs/${run.id}/metrics?key=a`, `/api/v1/runs/${run.id}/logs`, `/api/v1/runs/${run.id}/texts?key=a`, `/api/v1/runs/${run.id}/export.csv`, "/api/v1/projects/lab/secret", "/api/v1/projects/lab/secret/runs", "/api/v1/workspaces/lab/projects"]) {
      const res = await call(h.app, "GET", url, { as: outsider });
      expect(res.status, url).toBe(404);
      expect(res.body.error.code).toBe("not_found");
      expect((await call(h.app, "GET", url)).status, url).toBeOneOf([401, 404]);
    }
    expect((await call(h.app, "POST", `/api/v1/runs/${run.id}/log`, { as: outsider, body: { metrics: [{ key: "a", step: 0, value: 1 }] } })).status).toBe(404);
    expect((await call(h.app, "POST", "/api/v1/runs", { as: outsider, body: { workspace: "lab", project: "secret" } })).status).toBe(404);
    expect((await call(h.app, "POST", `/api/v1/runs/${run.id}/log`, { body: { metrics: [{ key: "a", step: 0, value: 1 }] } })).status).toBe(401);
  });

  it("a public project is readable by anyone and writable by nobody outside", async () => {
    const pub = await call(h.app, "POST", "/api/v1/workspaces/lab/projects", { as: member, body: { name: "open", visibility: "public", description: "shared" } });
    expect(pub.status).toBe(201);
    const r = await createRun(h.app, member, { workspace: "lab", project: "open" });
    await call(h.app, "POST", `/api/v1/runs/${r.id}/log`, { as: member, body: { metrics: [{ key: "loss", step: 0, value: 1 }] } });
    for (const as of [undefined, outsider]) {
      expect((await call(h.app, "GET", "/api/v1/projects/lab/open", { as })).status).toBe(200);
      expect((await call(h.app, "GET", "/api/v1/projects/lab/open/runs", { as })).body.runs).toHaveLength(1);
      expect((await call(h.app, "GET", `/api/v1/runs/${r.id}`, { as })).status).toBe(200);
      expect((await call(h.app, "GET", `/api/v1/runs/${r.id}/metrics?key=loss`, { as })).body.points).toHaveLength(1);
      const projects = await call(h.app, "GET", "/api/v1/workspaces/lab/projects", { as });
      expect(projects.body.projects.map((p: { name: string }) => p.name)).toEqual(["open"]);
      expect((await call(h.app, "GET", "/api/v1/workspaces/lab", { as })).body.workspace.role).toBeNull();
    }
    expect((await call(h.app, "POST", `/api/v1/runs/${r.id}/log`, { as: outsider, body: { metrics: [{ key: "loss", step: 1, value: 1 }] } })).status).toBe(403);
    expect((await call(h.app, "POST", `/api/v1/runs/${r.id}/log`, { body: { metrics: [{ key: "loss", step: 1, value: 1 }] } })).status).toBe(401);
    expect((await call(h.app, "PATCH", `/api/v1/runs/${r.id}`, { as: outsider, body: { description: "x" } })).status).toBe(403);
    expect((await call(h.app, "POST", "/api/v1/runs", { as: outsider, body: { workspace: "lab", project: "open" } })).status).toBe(404);
    expect((await call(h.app, "PATCH", "/api/v1/projects/lab/open", { as: outsider, body: { description: "x" } })).status).toBe(403);
    const series = await call(h.app, "GET", `/api/v1/runs/${r.id}/metrics?key=loss`, { as: outsider });
    expect(series.body.total).toBe(1);
  });
});
