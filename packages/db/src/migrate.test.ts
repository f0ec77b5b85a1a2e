// The migration runner: records each file in `_prisma_migrations` with its sha256, applies nothing on
// a second run, refuses an applied migration whose file was edited, and rolls back a failing one.
import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { withClient, withDatabase } from "@swanhouse/testkit";
import { defaultMigrationsDir, migrate, readMigrations } from "./migrate.js";

const admin = () => inject("pgAdminUrl");
const created: string[] = [];
async function emptyDatabase(): Promise<string> {
  const name = `m_${Math.random().toString(16).slice(2, 10)}`;
  await withClient(admin(), (c) => c.query(`CREATE DATABASE ${name}`));
  created.push(name);
  return withDatabase(admin(), name);
}
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "migrations-"));
  cpSync(defaultMigrationsDir, dir, { recursive: true });
});
afterAll(async () => {
  for (const name of created) await withClient(admin(), (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  rmSync(dir, { recursive: true, force: true });
});

describe("migrate", () => {
  it("applies every folder in order and records it like Prisma does", async () => {
    const url = await emptyDatabase();
    const names = readdirSync(defaultMigrationsDir).sort();
    expect(await migrate(url)).toEqual(names);
    const rows = await withClient(url, async (c) => (await c.query<{ migration_name: string; checksum: string; finished_at: Date | null; rolled_back_at: Date | null; applied_steps_count: number; id: string }>(
      `SELECT * FROM "_prisma_migrations" ORDER BY migration_name`)).rows);
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    for (const r of rows) {
      const sql = readFileSync(path.join(defaultMigrationsDir, r.migration_name, "migration.sql"));
      expect(r.checksum).toBe(createHash("sha256").update(sql).digest("hex"));
      expect(r.finished_at).toBeInstanceOf(Date);
      expect(r.rolled_back_at).toBeNull();
      expect(r.applied_steps_count).toBe(1);
      expect(r.id).toMatch(/^[0-9a-f-]{36}$/);
    }
    // Prisma's own column set, so `prisma migrate deploy` reads the table.
    const cols = await withClient(url, async (c) => (await c.query<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY column_name`)).rows.map((r) => r.column_name));
    expect(cols).toEqual(["applied_steps_count", "checksum", "finished_at", "id", "logs", "migration_name", "rolled_back_at", "started_at"]);
    // A second run applies nothing and changes nothing.
    expect(await migrate(url)).toEqual([]);
    const again = await withClient(url, async (c) => (await c.query(`SELECT count(*)::int AS n FROM "_prisma_migrations"`)).rows[0].n);
    expect(again).toBe(names.length);
  });

  it("applies only the new folder, refuses an edited applied one, rolls back a failing one", async () => {
    const url = await emptyDatabase();
    await migrate(url, dir);
    mkdirSync(path.join(dir, "29990101000000_extra"));
    writeFileSync(path.join(dir, "29990101000000_extra", "migration.sql"), `CREATE TABLE "extra_things" ("id" INTEGER PRIMARY KEY);\n`);
    expect(await migrate(url, dir)).toEqual(["29990101000000_extra"]);
    expect(await migrate(url, dir)).toEqual([]);

    writeFileSync(path.join(dir, "29990101000000_extra", "migration.sql"), `CREATE TABLE "extra_things" ("id" BIGINT PRIMARY KEY);\n`);
    await expect(migrate(url, dir)).rejects.toThrow(/29990101000000_extra.*edited/);

    rmSync(path.join(dir, "29990101000000_extra"), { recursive: true });
    mkdirSync(path.join(dir, "29990102000000_broken"));
    writeFileSync(path.join(dir, "29990102000000_broken", "migration.sql"), `CREATE TABLE "half_done" ("id" INTEGER);\nSELECT no_such_function();\n`);
    await expect(migrate(url, dir)).rejects.toThrow(/29990102000000_broken failed/);
    const state = await withClient(url, async (c) => ({
      table: (await c.query(`SELECT to_regclass('half_done') AS t`)).rows[0].t,
      recorded: (await c.query(`SELECT count(*)::int AS n FROM "_prisma_migrations" WHERE migration_name = '29990102000000_broken'`)).rows[0].n,
    }));
    expect(state).toEqual({ table: null, recorded: 0 });
    rmSync(path.join(dir, "29990102000000_broken"), { recursive: true });
  });

  it("lets several processes start at once (advisory lock): each migration is applied once", async () => {
    const url = await emptyDatabase();
    const results = await Promise.all([migrate(url), migrate(url), migrate(url)]);
    expect(results.flat().sort()).toEqual((await readMigrations()).map((m) => m.name).sort());
  });
});
