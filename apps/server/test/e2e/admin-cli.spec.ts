// The operator's commands as they run them (`node dist/admin-cli.js …`, a process of its own on the
// server's database). reset-password: a new generated password that logs in, the old one refused, every
// session of the user signed out, other users untouched. create-user: an account that logs in with the
// printed password (also on SIGNUP=closed servers, where the form refuses). Clear one-line errors for
// an unknown user, a taken or invalid name, missing arguments. Needs `npm run build` first.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createTestDatabase } from "@swanhouse/testkit";
import { call, createUser, startAppOn, type Harness, type TestUser } from "../integration/harness.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const script = path.join(root, "dist/admin-cli.js");

function adminCli(args: string[], databaseUrl: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  if (!existsSync(script)) throw new Error(`${script} is missing: run \`npm run build -w @swanhouse/server\` first`);
  const proc = spawn(process.execPath, [script, ...args], { cwd: root, env: { ...process.env, DATABASE_URL: databaseUrl }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  proc.stdout.on("data", (d) => (stdout += d));
  proc.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve) => proc.once("exit", (code) => resolve({ code, stdout, stderr })));
}

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let h: Harness;
beforeAll(async () => {
  database = await createTestDatabase(inject("pgAdminUrl"), inject("pgTemplate"));
  h = await startAppOn(database.url);
});
afterAll(async () => {
  await h?.close();
  await database?.drop();
});

const login = (username: string, password: string) => call(h.app, "POST", "/api/v1/auth/login", { body: { username, password } });
const meStatus = async (as: TestUser | { cookie: string }) => (await call(h.app, "GET", "/api/v1/auth/me", { as })).status;

describe("admin-cli reset-password", () => {
  it("sets a generated password, prints it once and signs out the user's sessions", async () => {
    const [alice, bob] = [await createUser(h.app), await createUser(h.app)];
    const out = await adminCli(["reset-password", alice.username], database.url);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    const password = /New password for \S+: ([A-Za-z0-9]{20})\n/.exec(out.stdout)?.[1];
    expect(password, out.stdout).toBeDefined();

    expect((await login(alice.username, alice.password)).status).toBe(401);
    expect((await login(alice.username, password!)).status).toBe(200);
    expect(await meStatus({ cookie: alice.cookie })).toBe(401);
    expect(await meStatus(alice)).toBe(200); // API keys are not sessions
    expect(await meStatus({ cookie: bob.cookie })).toBe(200);
    expect((await login(bob.username, bob.password)).status).toBe(200);
  });

  it("refuses an unknown user or a missing name with a one-line error, changing nothing", async () => {
    const carol = await createUser(h.app);
    const unknown = await adminCli(["reset-password", "nobody-here"], database.url);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe("there is no user 'nobody-here'");
    const missing = await adminCli(["reset-password"], database.url);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/usage: npm run reset-password -- <username>/);
    expect(await meStatus({ cookie: carol.cookie })).toBe(200);
    expect((await login(carol.username, carol.password)).status).toBe(200);
  });
});

describe("admin-cli create-user", () => {
  it("creates an account that logs in with the printed password", async () => {
    const out = await adminCli(["create-user", "dana", "dana@example.com"], database.url);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    const password = /Created dana with the password: ([A-Za-z0-9]{20})\n/.exec(out.stdout)?.[1];
    expect(password, out.stdout).toBeDefined();
    const res = await login("dana", password!);
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ username: "dana", email: "dana@example.com" });
  });

  it("refuses a taken or invalid name and wrong arguments with one line each", async () => {
    const taken = await adminCli(["create-user", "dana"], database.url);
    expect(taken.code).toBe(1);
    expect(taken.stderr.trim()).toBe("username 'dana' is taken");
    const invalid = await adminCli(["create-user", "bad name!"], database.url);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr.trim()).toMatch(/^username: /);
    const none = await adminCli(["create-user"], database.url);
    expect(none.code).toBe(1);
    expect(none.stderr.trim()).toBe("usage: npm run create-user -- <username> [email]");
    const unknown = await adminCli(["make-coffee"], database.url);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/usage: npm run create-user/);
  });
});
