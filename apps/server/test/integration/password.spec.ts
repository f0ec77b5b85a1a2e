// Changing a password: only from a signed-in session, only with the current password; it signs out the
// user's other sessions, keeps the current one and the API keys; bad input changes nothing; attempts
// are rate-limited like logins.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, createUser, startHarness, type Harness, type TestUser } from "./harness.js";

let h: Harness;
beforeAll(async () => { h = await startHarness({ LOGIN_RATE_LIMIT_PER_MINUTE: "8" }); });
afterAll(async () => { await h.close(); });

const login = async (username: string, password: string) => {
  const res = await call(h.app, "POST", "/api/v1/auth/login", { body: { username, password } });
  return { status: res.status, cookie: String(res.headers["set-cookie"]).split(";")[0]! };
};
const meStatus = async (as: TestUser | { cookie: string }) => (await call(h.app, "GET", "/api/v1/auth/me", { as })).status;
const storedHash = async (username: string) => (await h.db.prisma.user.findUniqueOrThrow({ where: { username } })).passwordHash;

describe("password change", () => {
  it("replaces the password, keeps this session and the API keys, signs out the other sessions", async () => {
    const u = await createUser(h.app);
    const other = await login(u.username, u.password);
    expect(await meStatus({ cookie: other.cookie })).toBe(200);
    const before = await storedHash(u.username);

    const res = await call(h.app, "POST", "/api/v1/auth/password", { as: { cookie: u.cookie }, body: { currentPassword: u.password, newPassword: "a-brand-new-password" } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });

    expect((await login(u.username, u.password)).status).toBe(401);
    expect((await login(u.username, "a-brand-new-password")).status).toBe(200);
    expect(await meStatus({ cookie: u.cookie })).toBe(200);
    expect(await meStatus({ cookie: other.cookie })).toBe(401);
    expect(await meStatus(u)).toBe(200); // the API key
    const after = await storedHash(u.username);
    expect(after).toMatch(/^\$argon2id\$/);
    expect(after).not.toBe(before);
  });

  it("refuses without a session, with an API key, a wrong current password or a weak new one, and changes nothing", async () => {
    const u = await createUser(h.app);
    const other = await login(u.username, u.password);
    const before = await storedHash(u.username);
    const change = (as: TestUser | { cookie: string } | undefined, body: unknown) => call(h.app, "POST", "/api/v1/auth/password", { as, body });
    const good = { currentPassword: u.password, newPassword: "a-brand-new-password" };

    expect((await change(undefined, good)).status).toBe(401);
    const withKey = await change(u, good);
    expect(withKey.status).toBe(403);
    expect(withKey.body.error.message).toMatch(/session/);
    // The key decides who is calling even when a cookie rides along: still not a session.
    const keyAndCookie = await call(h.app, "POST", "/api/v1/auth/password", { headers: { ...u.auth, cookie: "sh_session=made-up" }, body: good });
    expect(keyAndCookie.status).toBe(403);
    const wrong = await change({ cookie: u.cookie }, { ...good, currentPassword: "not-the-password" });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.field).toBe("body.currentPassword");
    const weak = await change({ cookie: u.cookie }, { ...good, newPassword: "short" });
    expect(weak.status).toBe(400);
    expect(weak.body.error.field).toBe("body.newPassword");

    expect(await storedHash(u.username)).toBe(before);
    expect(await meStatus({ cookie: other.cookie })).toBe(200);
    expect((await login(u.username, u.password)).status).toBe(200);
  });

  it("rate-limits attempts (429 after the per-minute budget, even with the right password)", async () => {
    // Eight a minute in this harness, six spent above.
    const u = await createUser(h.app);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push((await call(h.app, "POST", "/api/v1/auth/password", { as: { cookie: u.cookie }, body: { currentPassword: "wrong-guess", newPassword: "a-brand-new-password" } })).status);
    }
    expect(statuses).toEqual([400, 400, 429]);
    const right = await call(h.app, "POST", "/api/v1/auth/password", { as: { cookie: u.cookie }, body: { currentPassword: u.password, newPassword: "a-brand-new-password" } });
    expect(right.status).toBe(429);
    expect(right.body.error).toBeTruthy();
  });
});
