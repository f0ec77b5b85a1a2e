// Real servers for the SDK tests: buildApp in this process on a fresh cloned database, listening on a
// real port, or `node apps/server/dist/main.js` as a subprocess (so a test can SIGKILL and restart it).
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { inject } from "vitest";
import { createTestDatabase, freePort } from "@swanhouse/testkit";
export { freePort };
import { createDb } from "@swanhouse/db";

const ROOT = path.resolve(import.meta.dirname, "../../..");
export const SDK_DIR = path.resolve(import.meta.dirname, "..");


export type TestServer = { url: string; close: () => Promise<void> };

type ServerModules = {
  buildApp: (deps: { env: unknown; db: unknown }) => Promise<{ listen: (o: object) => Promise<string>; server: net.Server; close: () => Promise<void> }>;
  parseEnv: (source: NodeJS.ProcessEnv) => unknown;
};

/**
 * The server's own buildApp, loaded from its sources by a computed path: the SDK never compiles against
 * server code (its typecheck stays independent), the tests still run the real thing.
 */
async function serverModules(): Promise<ServerModules> {
  const src = path.join(ROOT, "apps/server/src");
  const [app, env] = await Promise.all([import(path.join(src, "app.ts")), import(path.join(src, "env.ts"))]);
  return { buildApp: app.buildApp, parseEnv: env.parseEnv };
}

export async function startInProcess(): Promise<TestServer> {
  const { buildApp, parseEnv } = await serverModules();
  const database = await createTestDatabase(inject("pgAdminUrl"), inject("pgTemplate"));
  const env = parseEnv({ NODE_ENV: "test", LOG_LEVEL: "silent", DATABASE_URL: database.url } as NodeJS.ProcessEnv);
  const db = createDb(database.url);
  const app = await buildApp({ env, db });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const port = (app.server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await app.close();
      await db.close();
      await database.drop();
    },
  };
}

export type ServerProcess = TestServer & { kill: () => Promise<void>; start: () => Promise<void>; databaseUrl: string };

/** The built server (apps/server/dist) as a child process; falls back to its sources through tsx. */
export async function startProcess(): Promise<ServerProcess> {
  const database = await createTestDatabase(inject("pgAdminUrl"), inject("pgTemplate"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dist = path.join(ROOT, "apps/server/dist/main.js");
  const args = fs.existsSync(dist) ? [dist] : ["--conditions=source", "--import", "tsx", path.join(ROOT, "apps/server/src/main.ts")];
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: database.url, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "silent", NODE_ENV: "test" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`server exited: ${stderr}`);
      const ok = await fetch(`${url}/api/v1/auth/me`).then((r) => r.status === 401, () => false);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`server did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill("SIGKILL");
    await exited;
  };
  await start();
  return { url, databaseUrl: database.url, start, kill, close: async () => { await kill(); await database.drop(); } };
}

export type TestUser = { username: string; key: string };
let counter = 0;

/** Registers a user over HTTP and makes an API key. */
export async function createUser(url: string): Promise<TestUser> {
  const username = `sdk${Date.now().toString(36)}${counter++}`;
  const reg = await fetch(`${url}/api/v1/auth/register`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username, password: "correct horse battery" }),
  });
  if (reg.status !== 201) throw new Error(`register failed: ${await reg.text()}`);
  const cookie = String(reg.headers.get("set-cookie")).split(";")[0]!;
  const res = await fetch(`${url}/api/v1/api-keys`, { method: "POST", headers: { "content-type": "application/json", cookie }, body: JSON.stringify({ name: "sdk test" }) });
  const key = ((await res.json()) as { key: string }).key;
  return { username, key };
}

/** GET helper with the key, returning parsed JSON (throws on non-2xx). */
export async function get<T>(url: string, key: string, p: string): Promise<T> {
  const res = await fetch(`${url}/api/v1${p}`, { headers: { authorization: `Bearer ${key}` } });
  if (!res.ok) throw new Error(`GET ${p}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
