// Test fixtures on real services. A vitest globalSetup starts (or reuses) PostgreSQL and migrates a
// template database once; each test file then gets its own database cloned from the template
// (fast: a file copy) and drops it afterwards. Redis is the machine's (the test command starts it).
import path from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { migrate, startEmbeddedPostgres, type EmbeddedDatabase } from "@swanhouse/db";

/** Per test run, so that concurrent runs on one server do not drop each other's template. */
const TEMPLATE_DB = `swanhouse_template_${process.pid}`;

/** For vitest globalSetup: returns the admin URL (a database on the server, not the template). */
export async function startTestPostgres(): Promise<{ adminUrl: string; template: string; stop: () => Promise<void> }> {
  let embedded: EmbeddedDatabase | undefined;
  let adminUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!adminUrl) {
    const root = path.resolve(process.env.SWANHOUSE_TEST_DATA_DIR ?? path.join(import.meta.dirname, "../../../.test-data"));
    embedded = await startEmbeddedPostgres({ dataDir: root, port: Number(process.env.TEST_PG_PORT ?? 54330), database: "swanhouse_admin" });
    adminUrl = embedded.url;
  }
  await withClient(adminUrl, async (c) => {
    // A fresh template every run, so a changed migration is always what the tests see.
    await c.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  });
  await migrate(withDatabase(adminUrl, TEMPLATE_DB));
  return {
    adminUrl,
    template: TEMPLATE_DB,
    stop: async () => {
      await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`)).catch(() => {});
      await embedded?.stop();
    },
  };
}

/** A fresh migrated database for one test file. */
export async function createTestDatabase(adminUrl: string, template: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `t_${randomBytes(6).toString("hex")}`;
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  return {
    url: withDatabase(adminUrl, name),
    drop: () => withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export const redisUrl = () => process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
export { freePort, waitForHttp } from "./net.js";
