// buildApp on a fresh cloned database per test file, plus builders for users, keys and runs.
import { inject } from "vitest";
import type { FastifyInstance } from "fastify";
import { createDb, type Db } from "@swanhouse/db";
import { createTestDatabase } from "@swanhouse/testkit";
import { buildApp, type Clock } from "../../src/app.js";
import { parseEnv, type Env } from "../../src/env.js";

export type Harness = { app: FastifyInstance; db: Db; env: Env; close: () => Promise<void> };

export async function startHarness(overrides: Partial<Record<keyof Env, string>> = {}, clock?: Clock): Promise<Harness> {
  const database = await createTestDatabase(inject("pgAdminUrl"), inject("pgTemplate"));
  const h = await startAppOn(database.url, overrides, clock);
  return {
    ...h,
    close: async () => {
      await h.close();
      await database.drop();
    },
  };
}

/** buildApp on an existing database (a second "process" on the same data); close() leaves the database. */
export async function startAppOn(databaseUrl: string, overrides: Partial<Record<keyof Env, string>> = {}, clock?: Clock): Promise<Harness> {
  const env = parseEnv({ NODE_ENV: "test", LOG_LEVEL: "silent", DATABASE_URL: databaseUrl, ...overrides } as NodeJS.ProcessEnv);
  const db = createDb(databaseUrl);
  const app = await buildApp({ env, db, clock });
  await app.ready();
  return {
    app, db, env,
    close: async () => {
      await app.close();
      await db.close();
    },
  };
}

let counter = 0;
export type TestUser = { username: string; password: string; cookie: string; key: string; auth: { authorization: string } };

/** Registers a user (session cookie) and makes an API key. */
export async function createUser(app: FastifyInstance, name?: string): Promise<TestUser> {
  const username = name ?? `user${Date.now().toString(36)}${counter++}`;
  const password = "correct horse battery";
  const reg = await app.inject({ method: "POST", url: "/api/v1/auth/register", payload: { username, password } });
  if (reg.statusCode !== 201) throw new Error(`register failed: ${reg.body}`);
  const cookie = String(reg.headers["set-cookie"]).split(";")[0]!;
  const keyRes = await app.inject({ method: "POST", url: "/api/v1/api-keys", headers: { cookie }, payload: { name: "test" } });
  const key = keyRes.json().key as string;
  return { username, password, cookie, key, auth: { authorization: `Bearer ${key}` } };
}

export async function createRun(app: FastifyInstance, user: TestUser, body: Record<string, unknown> = {}) {
  const res = await app.inject({ method: "POST", url: "/api/v1/runs", headers: user.auth, payload: { project: "demo", ...body } });
  if (res.statusCode !== 201 && res.statusCode !== 200) throw new Error(`create run failed: ${res.body}`);
  return res.json().run as { id: string; projectId: string; workspace: string; project: string };
}

type Method = "GET" | "POST" | "PATCH" | "DELETE" | "PUT";
/** One request: `as` is a user (API key), a user's session (`{ cookie }`) or nobody. */
export async function call(app: FastifyInstance, method: Method, url: string, opts: { as?: TestUser | { cookie: string }; body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.as && "auth" in opts.as) Object.assign(headers, opts.as.auth);
  else if (opts.as) headers.cookie = opts.as.cookie;
  const res = await app.inject({ method, url, headers, ...(opts.body !== undefined ? { payload: opts.body as object } : {}) });
  return { status: res.statusCode, body: res.body ? safeJson(res.body) : undefined, headers: res.headers, text: res.body };
}

function safeJson(s: string): any {
  try { return JSON.parse(s); } catch { return undefined; }
}
