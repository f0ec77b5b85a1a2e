// SIGNUP=closed: the form takes the first account only (the operator's own), then answers 403
// signup_closed and writes nothing; GET /auth/signup says which. Two first sign-ups at once: one wins.
// Open servers (the default) keep taking accounts.
import { afterEach, describe, expect, it } from "vitest";
import { call, startHarness, type Harness } from "./harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const register = (app: Harness["app"], username: string) => call(app, "POST", "/api/v1/auth/register", { body: { username, password: "a-long-password" } });
const signupOpen = async (app: Harness["app"]) => (await call(app, "GET", "/api/v1/auth/signup")).body.open as boolean;

describe("closed sign-up", () => {
  it("takes the first account, then refuses with signup_closed and writes nothing", async () => {
    h = await startHarness({ SIGNUP: "closed" });
    expect(await signupOpen(h.app)).toBe(true);
    expect((await register(h.app, "operator")).status).toBe(201);
    expect(await signupOpen(h.app)).toBe(false);
    const refused = await register(h.app, "stranger");
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("signup_closed");
    expect(refused.body.error.message).toContain("npm run create-user");
    expect(await h.db.prisma.user.count()).toBe(1);
    expect(await h.db.prisma.workspace.count({ where: { name: "stranger" } })).toBe(0);
  });

  it("lets exactly one of two simultaneous first sign-ups through", async () => {
    h = await startHarness({ SIGNUP: "closed" });
    const statuses = (await Promise.all([register(h.app, "first-a"), register(h.app, "first-b")])).map((r) => r.status).sort();
    expect(statuses).toEqual([201, 403]);
    expect(await h.db.prisma.user.count()).toBe(1);
  });

  it("open (the default) keeps taking accounts", async () => {
    h = await startHarness();
    expect((await register(h.app, "one")).status).toBe(201);
    expect((await register(h.app, "two")).status).toBe(201);
    expect(await signupOpen(h.app)).toBe(true);
  });
});
