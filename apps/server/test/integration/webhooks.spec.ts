// Project webhooks: owners and admins manage them (members, viewers and outsiders cannot, nor see the
// URLs); bad input is named; a run that ends is POSTed once to each webhook subscribed to that event,
// signed with the secret; failures are retried and the last outcome is shown; the heartbeat reaper's
// crashes are delivered too. The receiver is a real HTTP server in this process.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebhookPayload, WebhookTestPayload } from "@swanhouse/contracts";
import { sign } from "../../src/modules/webhooks/webhooks.service.js";
import { call, createRun, createUser, startHarness, type Harness, type TestUser } from "./harness.js";

type Received = { path: string; headers: http.IncomingHttpHeaders; body: string };

let h: Harness;
let receiver: http.Server;
let base = "";
const received: Received[] = [];
const waiting: Array<() => void> = [];
/** Answers per path, consumed in order; then 200. */
const plan = new Map<string, number[]>();
let offsetMs = 0;
const clock = { now: () => new Date(Date.now() + offsetMs) };

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ path: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(plan.get(req.url!)?.shift() ?? 200).end();
      for (const w of waiting.splice(0)) w();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
  h = await startHarness({ WEBHOOK_RETRY_SECONDS: "0.05,0.05", HEARTBEAT_TIMEOUT_SECONDS: "60", PUBLIC_URL: "https://tracker.example.com/" }, clock);
});
afterAll(async () => {
  await h.close();
  await new Promise((resolve) => receiver.close(resolve));
});

/** Resolves once `n` requests reached `path`. */
async function deliveries(path: string, n: number): Promise<Received[]> {
  const mine = () => received.filter((r) => r.path === path);
  while (mine().length < n) await new Promise<void>((resolve) => waiting.push(resolve));
  return mine();
}
/** A port that was just free: connections to it are refused. */
async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address() as { port: number };
  await new Promise((resolve) => s.close(resolve));
  return port;
}
const hooksUrl = (u: TestUser, project: string) => `/api/v1/projects/${u.username}/${project}/webhooks`;
const finish = (u: TestUser, runId: string, state: string) => call(h.app, "POST", `/api/v1/runs/${runId}/finish`, { as: u, body: { state } });

describe("webhooks", () => {
  let owner: TestUser;
  beforeAll(async () => { owner = await createUser(h.app); });

  it("only owners and admins manage them; bad input is named", async () => {
    await createRun(h.app, owner, { project: "access" });
    const url = hooksUrl(owner, "access");
    const [member, viewer, outsider] = [await createUser(h.app), await createUser(h.app), await createUser(h.app)];
    // Personal workspaces have one owner: the team case uses a team.
    expect((await call(h.app, "POST", "/api/v1/teams", { as: owner, body: { name: `team-${owner.username}` } })).status).toBe(201);
    for (const [u, role] of [[member, "member"], [viewer, "viewer"]] as const) {
      expect((await call(h.app, "POST", `/api/v1/workspaces/team-${owner.username}/members`, { as: owner, body: { username: u.username, role } })).status).toBe(201);
    }
    await createRun(h.app, owner, { project: "shared", workspace: `team-${owner.username}` });
    const teamUrl = `/api/v1/projects/team-${owner.username}/shared/webhooks`;
    const body = { url: `${base}/a`, events: ["run.finished"] };
    expect((await call(h.app, "POST", teamUrl, { as: member, body })).status).toBe(403);
    expect((await call(h.app, "GET", teamUrl, { as: viewer })).status).toBe(403);
    expect((await call(h.app, "GET", url, { as: outsider })).status).toBe(404);
    expect((await call(h.app, "GET", url)).status).toBe(401);
    const created = await call(h.app, "POST", teamUrl, { as: owner, body });
    expect(created.status).toBe(201);

    for (const [bad, field] of [[{ url: "ftp://example.com/x", events: ["run.finished"] }, "body.url"], [{ url: `${base}/a`, events: [] }, "body.events"], [{ url: `${base}/a`, events: ["run.started"] }, "body.events.0"]] as const) {
      const res = await call(h.app, "POST", url, { as: owner, body: bad });
      expect(res.status).toBe(400);
      expect(res.body.error.field).toBe(field);
    }
    expect((await call(h.app, "GET", url, { as: owner })).body.webhooks).toEqual([]);
    expect((await call(h.app, "DELETE", `${teamUrl}/${created.body.webhook.id}`, { as: member })).status).toBe(403);
    expect((await call(h.app, "POST", `${teamUrl}/${created.body.webhook.id}/test`, { as: member })).status).toBe(403);
    expect((await call(h.app, "DELETE", `${url}/${created.body.webhook.id}`, { as: owner })).status).toBe(404); // another project's
    expect((await call(h.app, "DELETE", `${teamUrl}/${created.body.webhook.id}`, { as: owner })).status).toBe(200);
    expect((await call(h.app, "GET", teamUrl, { as: owner })).body.webhooks).toEqual([]);
  });

  it("POSTs a signed payload once per ended run and subscribed event, with the dashboard's link", async () => {
    const url = hooksUrl(owner, "notify");
    const [a, b, c] = [await createRun(h.app, owner, { project: "notify", name: "lr-3e-4" }), await createRun(h.app, owner, { project: "notify" }), await createRun(h.app, owner, { project: "notify" })];
    const created = await call(h.app, "POST", url, { as: owner, body: { url: `${base}/notify`, events: ["run.crashed", "run.finished"] } });
    expect(created.status).toBe(201);
    expect(created.body.webhook).toMatchObject({ url: `${base}/notify`, events: ["run.crashed", "run.finished"], lastDelivery: null });
    const secret = created.body.secret as string;
    expect(JSON.stringify((await call(h.app, "GET", url, { as: owner })).body)).not.toContain(secret);

    expect((await finish(owner, a.id, "crashed")).status).toBe(200);
    const [first] = await deliveries("/notify", 1);
    expect(first!.headers["x-swanhouse-signature"]).toBe(sign(secret, first!.body));
    expect(first!.headers["x-swanhouse-event"]).toBe("run.crashed");
    const payload = WebhookPayload.parse(JSON.parse(first!.body));
    expect(payload).toMatchObject({ event: "run.crashed", run: { id: a.id, name: "lr-3e-4", status: "crashed", workspace: owner.username, project: "notify", url: `https://tracker.example.com/${owner.username}/notify/runs/${a.id}` } });
    expect(payload.text).toContain('Run "lr-3e-4"');

    // Crashing it again is no news; aborted is not subscribed; b finishing is.
    await finish(owner, a.id, "crashed");
    await finish(owner, c.id, "aborted");
    await finish(owner, b.id, "finished");
    const all = await deliveries("/notify", 2);
    expect(all.map((r) => (JSON.parse(r.body) as WebhookPayload).run.id)).toEqual([a.id, b.id]);
    const listed = (await call(h.app, "GET", url, { as: owner })).body.webhooks[0];
    expect(listed.lastDelivery).toMatchObject({ status: 200, error: null });
  });

  it("retries failures and shows the last outcome; the reaper's crashes are delivered", async () => {
    const url = hooksUrl(owner, "flaky");
    const run = await createRun(h.app, owner, { project: "flaky" });
    plan.set("/flaky", [500, 503]);
    const flaky = (await call(h.app, "POST", url, { as: owner, body: { url: `${base}/flaky`, events: ["run.crashed"] } })).body.webhook;
    const down = (await call(h.app, "POST", url, { as: owner, body: { url: `http://127.0.0.1:${await closedPort()}/nothing-listens`, events: ["run.crashed"] } })).body.webhook;

    offsetMs += 120_000; // past the 60 s heartbeat timeout
    expect(await h.app.reaper.sweep()).toBeGreaterThanOrEqual(1);
    const tries = await deliveries("/flaky", 3);
    expect(tries.map((t) => (JSON.parse(t.body) as WebhookPayload).run.id)).toEqual([run.id, run.id, run.id]);
    const outcome = async (id: string) => ((await call(h.app, "GET", url, { as: owner })).body.webhooks as Array<{ id: string; lastDelivery: unknown }>).find((w) => w.id === id)!.lastDelivery;
    await expect.poll(() => outcome(flaky.id)).toMatchObject({ status: 200, error: null });
    await expect.poll(() => outcome(down.id)).toMatchObject({ status: null, error: "ECONNREFUSED" });
  });

  it("sends a signed webhook.test message on request, answering its outcome", async () => {
    await createRun(h.app, owner, { project: "tested" });
    const url = hooksUrl(owner, "tested");
    const created = (await call(h.app, "POST", url, { as: owner, body: { url: `${base}/tested`, events: ["run.finished"] } })).body;
    const res = await call(h.app, "POST", `${url}/${created.webhook.id}/test`, { as: owner });
    expect(res.status).toBe(200);
    expect(res.body.webhook.lastDelivery).toMatchObject({ status: 200, error: null });
    const [got] = await deliveries("/tested", 1);
    expect(got!.headers["x-swanhouse-event"]).toBe("webhook.test");
    expect(got!.headers["x-swanhouse-signature"]).toBe(sign(created.secret, got!.body));
    expect(WebhookTestPayload.parse(JSON.parse(got!.body)).project).toEqual({ workspace: owner.username, project: "tested", url: `https://tracker.example.com/${owner.username}/tested` });
    const down = (await call(h.app, "POST", url, { as: owner, body: { url: `http://127.0.0.1:${await closedPort()}/x`, events: ["run.finished"] } })).body.webhook;
    const failed = await call(h.app, "POST", `${url}/${down.id}/test`, { as: owner });
    expect(failed.body.webhook.lastDelivery).toMatchObject({ status: null, error: "ECONNREFUSED" });
    expect((await call(h.app, "POST", `${url}/00000000-0000-4000-8000-000000000000/test`, { as: owner })).status).toBe(404);
  });
});
