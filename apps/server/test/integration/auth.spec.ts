// Accounts: register, login/logout with the session cookie, me, duplicate names, login rate limit.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, createUser, startHarness, type Harness } from "./harness.js";

let h: Harness;
beforeAll(async () => { h = await startHarness({ LOGIN_RATE_LIMIT_PER_MINUTE: "3" }); });
afterAll(async () => { await h.close(); });

const cookieOf = (headers: Record<string, unknown>) => String(headers["set-cookie"]).split(";")[0]!;

describe("auth", () => {
  it("registers with an httpOnly SameSite cookie and a personal workspace", async () => {
    const res = await call(h.app, "POST", "/api/v1/auth/register", { body: { username: "alice", password: "a-long-password", email: "a@example.com" } });
    expect(res.status).toBe(201);
    expect(res.body.user).toMatchObject({ username: "alice", email: "a@example.com" });
    expect(JSON.stringify(res.body)).not.toContain("a-long-password");
    const setCookie = String(res.headers["set-cookie"]);
    expect(setCookie).toMatch(/^sh_session=/);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    const me = await call(h.app, "GET", "/api/v1/auth/me", { as: { cookie: cookieOf(res.headers) } });
    expect(me.status).toBe(200);
    expect(me.body.user.username).toBe("alice");
    expect(me.body.workspaces).toEqual([expect.objectContaining({ name: "alice", kind: "personal", role: "owner" })]);
    expect(me.body.mail).toBe(false); // no SMTP_URL in this harness
  });

  it("stores an argon2id hash, not the password", async () => {
    const row = await h.db.prisma.user.findUnique({ where: { username: "alice" } });
    expect(row?.passwordHash).toMatch(/^\$argon2id\$/);
  });

  it("refuses a duplicate username with 409 and bad input with 400 naming the field", async () => {
    const dup = await call(h.app, "POST", "/api/v1/auth/register", { body: { username: "alice", password: "another-password" } });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBeTruthy();
    const short = await call(h.app, "POST", "/api/v1/auth/register", { body: { username: "bob", password: "short" } });
    expect(short.status).toBe(400);
    expect(short.body.error.field).toBe("body.password");
    const badName = await call(h.app, "POST", "/api/v1/auth/register", { body: { username: "bad name!", password: "a-long-password" } });
    expect(badName.status).toBe(400);
    expect(badName.body.error.field).toBe("body.username");
  });

  it("logs in and out; the old cookie no longer works", async () => {
    const wrong = await call(h.app, "POST", "/api/v1/auth/login", { body: { username: "alice", password: "wrong-password" } });
    expect(wrong.status).toBe(401);
    const ok = await call(h.app, "POST", "/api/v1/auth/login", { body: { username: "alice", password: "a-long-password" } });
    expect(ok.status).toBe(200);
    const cookie = cookieOf(ok.headers);
    expect((await call(h.app, "GET", "/api/v1/auth/me", { as: { cookie } })).status).toBe(200);
    const out = await call(h.app, "POST", "/api/v1/auth/logout", { as: { cookie } });
    expect(out.status).toBe(200);
    expect(String(out.headers["set-cookie"])).toMatch(/sh_session=;/);
    expect((await call(h.app, "GET", "/api/v1/auth/me", { as: { cookie } })).status).toBe(401);
  });

  it("me without credentials is 401; a bad API key is 401, not anonymous", async () => {
    expect((await call(h.app, "GET", "/api/v1/auth/me")).status).toBe(401);
    const bad = await call(h.app, "GET", "/api/v1/auth/me", { headers: { authorization: "Bearer AAAAAAAAAAAAAAAAAAAAA" } });
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBeTruthy();
  });

  it("rate-limits login attempts (429 after the per-minute budget)", async () => {
    // Three allowed a minute in this harness; two were spent above.
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await call(h.app, "POST", "/api/v1/auth/login", { body: { username: "alice", password: "wrong-password" } })).status);
    }
    expect(statuses).toContain(429);
    expect(statuses.indexOf(429)).toBeLessThanOrEqual(2);
    const limited = await call(h.app, "POST", "/api/v1/auth/login", { body: { username: "alice", password: "a-long-password" } });
    expect(limited.status).toBe(429);
    expect(limited.body.error).toBeTruthy();
  });
});

describe("api keys", () => {
  it("creates (shown once), lists prefix/name/lastUsedAt, revokes", async () => {
    const u = await createUser(h.app);
    const created = await call(h.app, "POST", "/api/v1/api-keys", { as: { cookie: u.cookie }, body: { name: "laptop" } });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    expect(key).toMatch(/^[A-Za-z0-9]{21}$/);
    expect(created.body.apiKey).toMatchObject({ name: "laptop", prefix: key.slice(0, created.body.apiKey.prefix.length), lastUsedAt: null });

    let list = await call(h.app, "GET", "/api/v1/api-keys", { as: { cookie: u.cookie } });
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.body)).not.toContain(key);
    const row = list.body.apiKeys.find((k: { name: string }) => k.name === "laptop");
    expect(row).toMatchObject({ id: created.body.apiKey.id, prefix: created.body.apiKey.prefix, lastUsedAt: null });

    const used = await call(h.app, "GET", "/api/v1/auth/me", { headers: { authorization: `Bearer ${key}` } });
    expect(used.status).toBe(200);
    list = await call(h.app, "GET", "/api/v1/api-keys", { as: { cookie: u.cookie } });
    expect(list.body.apiKeys.find((k: { name: string }) => k.name === "laptop").lastUsedAt).not.toBeNull();

    // The key is stored hashed.
    const stored = await h.db.prisma.apiKey.findUnique({ where: { id: created.body.apiKey.id } });
    expect(stored?.keyHash).not.toContain(key);

    const other = await createUser(h.app);
    expect((await call(h.app, "DELETE", `/api/v1/api-keys/${created.body.apiKey.id}`, { as: other })).status).toBe(404);
    expect((await call(h.app, "DELETE", `/api/v1/api-keys/${created.body.apiKey.id}`, { as: { cookie: u.cookie } })).status).toBe(200);
    const rejected = await call(h.app, "GET", "/api/v1/auth/me", { headers: { authorization: `Bearer ${key}` } });
    expect(rejected.status).toBe(401);
    list = await call(h.app, "GET", "/api/v1/api-keys", { as: { cookie: u.cookie } });
    expect(list.body.apiKeys.map((k: { name: string }) => k.name)).not.toContain("laptop");
    expect((await call(h.app, "DELETE", `/api/v1/api-keys/${created.body.apiKey.id}`, { as: { cookie: u.cookie } })).status).toBe(404);
  });

  it("needs a user and a name", async () => {
    expect((await call(h.app, "POST", "/api/v1/api-keys", { body: { name: "x" } })).status).toBe(401);
    expect((await call(h.app, "GET", "/api/v1/api-keys")).status).toBe(401);
    const u = await createUser(h.app);
    const bad = await call(h.app, "POST", "/api/v1/api-keys", { as: u, body: { name: "" } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe("body.name");
    expect((await call(h.app, "DELETE", "/api/v1/api-keys/not-a-uuid", { as: u })).status).toBe(400);
  });
});
