// schema.prisma and the hand-written migrations cannot drift: the full DMMF of schema.prisma (obtained
// from `prisma generate` with a tiny generator that dumps it) is turned into the tables, columns, types,
// nullability, defaults, keys, indexes, foreign keys and enums Prisma would create, and compared with
// the catalog of a database migrated by our runner. The generated client's runtime model is checked too.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createTestDatabase, withClient } from "@swanhouse/testkit";
import { createDb } from "./client.js";

const schemaPath = fileURLToPath(new URL("../../../prisma/schema.prisma", import.meta.url));

// --- the DMMF of schema.prisma ---
type DmmfField = {
  name: string; dbName?: string | null; kind: "scalar" | "enum" | "object" | "unsupported"; type: string;
  isList: boolean; isRequired: boolean; isId: boolean; hasDefaultValue: boolean; default?: unknown;
  nativeType?: [string, string[]] | null; relationFromFields?: string[]; relationToFields?: string[];
  relationOnDelete?: string; relationOnUpdate?: string;
};
type DmmfModel = { name: string; dbName: string | null; fields: DmmfField[]; primaryKey: { name: string | null; fields: string[] } | null };
type DmmfIndex = { model: string; type: "id" | "unique" | "normal" | "fulltext"; dbName?: string | null; fields: Array<{ name: string }> };
type Datamodel = { models: DmmfModel[]; enums: Array<{ name: string; dbName?: string | null; values: Array<{ name: string; dbName?: string | null }> }>; indexes: DmmfIndex[] };

const GENERATOR = `
import readline from "node:readline";
import { writeFileSync } from "node:fs";
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const msg = JSON.parse(line);
  let result = null;
  if (msg.method === "getManifest") result = { manifest: { prettyName: "dmmf dump", defaultOutput: "dmmf.json", requiresEngines: [] } };
  if (msg.method === "generate") writeFileSync(process.env.DMMF_OUT, JSON.stringify(msg.params.dmmf.datamodel));
  process.stderr.write(JSON.stringify({ jsonrpc: "2.0", id: msg.id, result }) + "\\n");
});`;

/** Runs `prisma generate` on a copy of schema.prisma whose only generator dumps the DMMF. */
export function loadDatamodel(schemaText: string): Datamodel {
  const dir = mkdtempSync(path.join(os.tmpdir(), "dmmf-"));
  try {
    writeFileSync(path.join(dir, "gen.mjs"), GENERATOR);
    const withoutGenerators = schemaText.replace(/^generator\s+\w+\s*\{[^}]*\}/gm, "");
    writeFileSync(path.join(dir, "schema.prisma"), `${withoutGenerators}\ngenerator dump {\n  provider = "node ${path.join(dir, "gen.mjs")}"\n}\n`);
    const cli = createRequire(import.meta.url).resolve("prisma/build/index.js");
    execFileSync(process.execPath, [cli, "generate", "--schema", path.join(dir, "schema.prisma")], {
      cwd: dir, stdio: "pipe", env: { ...process.env, DMMF_OUT: path.join(dir, "dmmf.json"), PRISMA_SCHEMA_ENGINE_BINARY: "/bin/false", PRISMA_HIDE_UPDATE_MESSAGE: "1", CHECKPOINT_DISABLE: "1" },
    });
    return JSON.parse(readFileSync(path.join(dir, "dmmf.json"), "utf8")) as Datamodel;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- what Prisma would create for that model (PostgreSQL) ---
export type Shape = {
  columns: string[]; // "table.column type null|not-null default|no-default"
  primaryKeys: string[]; // "table(col, …) name"
  indexes: string[]; // "unique|normal table(col, …) name"
  foreignKeys: string[]; // "table(col, …) -> table(col, …) onDelete onUpdate name"
  enums: string[]; // "Name: a, b, c"
};

const SCALAR_UDT: Record<string, string> = { String: "text", Int: "int4", BigInt: "int8", Float: "float8", Boolean: "bool", DateTime: "timestamp(3)", Json: "jsonb", Decimal: "numeric(65,30)", Bytes: "bytea" };
const NATIVE_UDT: Record<string, (a: string[]) => string> = {
  Uuid: () => "uuid", Text: () => "text", VarChar: (a) => `varchar(${a[0]})`, Char: (a) => `bpchar(${a[0]})`, Integer: () => "int4", SmallInt: () => "int2",
  BigInt: () => "int8", DoublePrecision: () => "float8", Real: () => "float4", Boolean: () => "bool", Timestamptz: (a) => `timestamptz(${a[0] ?? 6})`,
  Timestamp: (a) => `timestamp(${a[0] ?? 6})`, Date: () => "date", JsonB: () => "jsonb", Json: () => "json", Inet: () => "inet",
};
const ACTION: Record<string, string> = { Cascade: "cascade", Restrict: "restrict", NoAction: "no-action", SetNull: "set-null", SetDefault: "set-default" };
const CLIENT_SIDE_DEFAULTS = new Set(["uuid", "cuid", "nanoid", "ulid"]);

export function expectedShape(dm: Datamodel): Shape {
  const models = new Map(dm.models.map((m) => [m.name, m]));
  const table = (m: DmmfModel) => m.dbName ?? m.name;
  const enumName = (name: string) => dm.enums.find((e) => e.name === name)?.dbName ?? name;
  const col = (m: DmmfModel, field: string) => {
    const f = m.fields.find((x) => x.name === field);
    if (!f) throw new Error(`no field ${m.name}.${field}`);
    return f.dbName ?? f.name;
  };
  const shape: Shape = { columns: [], primaryKeys: [], indexes: [], foreignKeys: [], enums: [] };
  for (const m of dm.models) {
    const t = table(m);
    for (const f of m.fields) {
      if (f.kind === "object") {
        if (f.relationFromFields?.length) {
          const target = models.get(f.type)!;
          const from = f.relationFromFields.map((x) => col(m, x));
          const to = (f.relationToFields ?? []).map((x) => col(target, x));
          // Prisma's defaults: Restrict for a required relation, SetNull for an optional one; updates cascade.
          const optional = f.relationFromFields.some((x) => !m.fields.find((y) => y.name === x)!.isRequired);
          const onDelete = ACTION[f.relationOnDelete ?? (optional ? "SetNull" : "Restrict")];
          const onUpdate = ACTION[f.relationOnUpdate ?? "Cascade"];
          shape.foreignKeys.push(`${t}(${from.join(", ")}) -> ${table(target)}(${to.join(", ")}) ${onDelete} ${onUpdate} ${t}_${from.join("_")}_fkey`);
        }
        continue;
      }
      const base = f.kind === "enum" ? `enum ${enumName(f.type)}` : f.nativeType ? NATIVE_UDT[f.nativeType[0]]!(f.nativeType[1]) : SCALAR_UDT[f.type]!;
      if (!base) throw new Error(`no mapping for ${m.name}.${f.name}`);
      const type = f.isList ? `${base}[]` : base;
      // Prisma never puts NOT NULL on scalar lists.
      const nullable = f.isList || !f.isRequired;
      const dbDefault = f.hasDefaultValue && !(typeof f.default === "object" && f.default !== null && "name" in f.default && CLIENT_SIDE_DEFAULTS.has((f.default as { name: string }).name));
      shape.columns.push(`${t}.${f.dbName ?? f.name} ${type} ${nullable ? "null" : "not-null"} ${dbDefault ? "default" : "no-default"}`);
    }
  }
  for (const ix of dm.indexes) {
    const m = models.get(ix.model)!;
    const t = table(m);
    const cols = ix.fields.map((x) => col(m, x.name));
    if (ix.type === "id") shape.primaryKeys.push(`${t}(${cols.join(", ")}) ${ix.dbName ?? `${t}_pkey`}`);
    else shape.indexes.push(`${ix.type} ${t}(${cols.join(", ")}) ${ix.dbName ?? `${t}_${cols.join("_")}_${ix.type === "unique" ? "key" : "idx"}`}`);
  }
  for (const e of dm.enums) shape.enums.push(`${e.dbName ?? e.name}: ${e.values.map((v) => v.dbName ?? v.name).join(", ")}`);
  for (const k of Object.keys(shape) as Array<keyof Shape>) shape[k].sort();
  return shape;
}

// --- what the migrated database has ---
export async function actualShape(url: string): Promise<Shape> {
  return withClient(url, async (c) => {
    const q = async <T>(sql: string) => (await c.query(sql)).rows as T[];
    const skip = `'_prisma_migrations'`;
    const columns = await q<{ t: string; c: string; udt: string; dt: string; len: number | null; prec: number | null; nullable: string; def: string | null; enum_name: string | null; elem: string | null }>(`
      SELECT table_name AS t, column_name AS c, udt_name AS udt, data_type AS dt, character_maximum_length AS len, datetime_precision AS prec,
             is_nullable AS nullable, column_default AS def,
             CASE WHEN data_type = 'USER-DEFINED' THEN udt_name END AS enum_name,
             CASE WHEN data_type = 'ARRAY' THEN substr(udt_name, 2) END AS elem
      FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> ${skip}`);
    const typeOf = (r: (typeof columns)[number]) => {
      if (r.enum_name) return `enum ${r.enum_name}`;
      if (r.elem) return `${r.elem}[]`;
      if (r.udt === "varchar" || r.udt === "bpchar") return `${r.udt}(${r.len})`;
      if (r.udt === "timestamptz" || r.udt === "timestamp") return `${r.udt}(${r.prec})`;
      if (r.udt === "numeric") return "numeric(65,30)";
      return r.udt;
    };
    const keys = await q<{ t: string; name: string; cols: string[]; kind: string }>(`
      SELECT t.relname::text AS t, i.relname::text AS name, x.indisprimary::text AS kind, x.indisunique AS uniq,
             array_agg(a.attname::text ORDER BY k.ord) AS cols
      FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
      CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
      WHERE n.nspname = 'public' AND t.relname <> ${skip}
      GROUP BY t.relname, i.relname, x.indisprimary, x.indisunique`);
    const fks = await q<{ t: string; name: string; cols: string[]; rt: string; rcols: string[]; del: string; upd: string }>(`
      SELECT c.conrelid::regclass::text AS t, c.conname::text AS name, c.confrelid::regclass::text AS rt, c.confdeltype AS del, c.confupdtype AS upd,
             (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY k(n, ord) JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n) AS cols,
             (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(c.confkey) WITH ORDINALITY k(n, ord) JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n) AS rcols
      FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = 'public'`);
    const enums = await q<{ name: string; vals: string[] }>(`
      SELECT t.typname::text AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS vals
      FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = 'public' GROUP BY t.typname`);
    const action: Record<string, string> = { c: "cascade", r: "restrict", a: "no-action", n: "set-null", d: "set-default" };
    const unquote = (s: string) => s.replace(/^"(.*)"$/, "$1");
    const shape: Shape = {
      columns: columns.map((r) => `${r.t}.${r.c} ${typeOf(r)} ${r.nullable === "YES" ? "null" : "not-null"} ${r.def !== null ? "default" : "no-default"}`),
      primaryKeys: keys.filter((k) => k.kind === "true").map((k) => `${k.t}(${k.cols.join(", ")}) ${k.name}`),
      indexes: (keys as Array<(typeof keys)[number] & { uniq: boolean }>).filter((k) => k.kind !== "true").map((k) => `${k.uniq ? "unique" : "normal"} ${k.t}(${k.cols.join(", ")}) ${k.name}`),
      foreignKeys: fks.map((f) => `${unquote(f.t)}(${f.cols.join(", ")}) -> ${unquote(f.rt)}(${f.rcols.join(", ")}) ${action[f.del]} ${action[f.upd]} ${f.name}`),
      enums: enums.map((e) => `${e.name}: ${e.vals.join(", ")}`),
    };
    for (const k of Object.keys(shape) as Array<keyof Shape>) shape[k].sort();
    return shape;
  });
}

describe("schema.prisma matches the migrated database", () => {
  let db: { url: string; drop: () => Promise<void> };
  let dm: Datamodel;
  beforeAll(async () => {
    db = await createTestDatabase(inject("pgAdminUrl"), inject("pgTemplate"));
    dm = loadDatamodel(readFileSync(schemaPath, "utf8"));
  });
  afterAll(async () => { await db.drop(); });

  it("tables, columns, types, nullability, defaults, keys, indexes, foreign keys and enums agree", async () => {
    const expected = expectedShape(dm);
    const actual = await actualShape(db.url);
    expect(expected.columns.length).toBeGreaterThan(50);
    expect(expected.primaryKeys.length).toBe(dm.models.length);
    expect(expected.indexes.filter((i) => i.startsWith("unique")).length).toBeGreaterThanOrEqual(5);
    expect(expected.foreignKeys.length).toBeGreaterThanOrEqual(7);
    expect(expected.enums.length).toBeGreaterThanOrEqual(5);
    expect(actual.columns).toEqual(expected.columns);
    expect(actual.primaryKeys).toEqual(expected.primaryKeys);
    expect(actual.indexes).toEqual(expected.indexes);
    expect(actual.foreignKeys).toEqual(expected.foreignKeys);
    expect(actual.enums).toEqual(expected.enums);
  });

  it("the check notices a column on one side only, and a changed nullability, type or index", async () => {
    const schema = readFileSync(schemaPath, "utf8");
    const addedToSchema = expectedShape(loadDatamodel(schema.replace(/(model User \{\n)/, "$1  nickname String?\n")));
    const actual = await actualShape(db.url);
    expect(addedToSchema.columns).toContain("users.nickname text null no-default");
    expect(actual.columns).not.toEqual(addedToSchema.columns);

    const expected = expectedShape(dm);
    await withClient(db.url, async (c) => {
      await c.query(`ALTER TABLE users ADD COLUMN nickname TEXT`);
      expect((await actualShape(db.url)).columns).not.toEqual(expected.columns);
      await c.query(`ALTER TABLE users DROP COLUMN nickname; ALTER TABLE runs ALTER COLUMN description DROP NOT NULL`);
      expect((await actualShape(db.url)).columns).not.toEqual(expected.columns);
      await c.query(`ALTER TABLE runs ALTER COLUMN description SET NOT NULL; ALTER TABLE runs ALTER COLUMN name TYPE VARCHAR(100)`);
      expect((await actualShape(db.url)).columns).not.toEqual(expected.columns);
      await c.query(`ALTER TABLE runs ALTER COLUMN name TYPE VARCHAR(200); DROP INDEX runs_status_last_heartbeat_at_idx`);
      const after = await actualShape(db.url);
      expect(after.columns).toEqual(expected.columns);
      expect(after.indexes).not.toEqual(expected.indexes);
    });
  });

  it("the generated client's runtime model has the same tables and columns", async () => {
    const client = createDb(db.url);
    try {
      const runtime = (client.prisma as unknown as { _runtimeDataModel: { models: Record<string, { dbName: string | null; fields: Array<{ name: string; kind: string; dbName?: string | null }> }> } })._runtimeDataModel;
      const fromClient = Object.entries(runtime.models).flatMap(([name, m]) => m.fields.filter((f) => f.kind !== "object").map((f) => `${m.dbName ?? name}.${f.dbName ?? f.name}`)).sort();
      const fromSchema = dm.models.flatMap((m) => m.fields.filter((f) => f.kind !== "object").map((f) => `${m.dbName ?? m.name}.${f.dbName ?? f.name}`)).sort();
      expect(fromClient, "the generated client is stale: run `npm run build -w @swanhouse/db`").toEqual(fromSchema);
    } finally {
      await client.close();
    }
  });
});
