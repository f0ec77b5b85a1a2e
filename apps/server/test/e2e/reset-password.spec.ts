// `npm run reset-password -- <user>` as the operator runs it (`node dist/reset-password.js`, a process
// of its own on the server's database): a new generated password that logs in, the old one refused,
// every session of the user signed out, other users untouched; a clear error for an unknown user or
// missing argument. Needs `npm run build` first.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createTestDatabase } from "@swanhouse/testkit";
import { call, createUser, startAppOn, type Harness, type TestUser } from "../integration/harness.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const script = path.join(root, "dist/reset-password.js");

function resetPassword(args: string[], databaseUrl: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
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

describe("reset-password", () => {
  it("sets a generated password, prints it once and signs out the user's sessions", async () => {
    const [alice, bob] = [await createUser(h.app), await createUser(h.app)];
    const out = await resetPassword([alice.username], database.url);
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
    const unknown = await resetPassword(["nobody-here"], database.url);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe("there is no user 'nobody-here'");
    const missing = await resetPassword([], database.url);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/usage: npm run reset-password -- <username>/);
    expect(await meStatus({ cookie: carol.cookie })).toBe(200);
    expect((await login(carol.username, carol.password)).status).toBe(200);
  });
});
