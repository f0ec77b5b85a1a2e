// The hot path, in raw SQL: one `unnest` INSERT per kind and batch, ON CONFLICT DO NOTHING so a re-sent
// batch is a no-op; only the new rows are pushed to subscribers. For points, metric_series (per-key last
// value and count) and scalar_rollups (per-block min/max/last) are upserted in the same statement.
import type { Db } from "@swanhouse/db";
import type pg from "pg";
import { numberArray, textArray, timeArray } from "../../lib/pg-array.js";

/** `time`: epoch milliseconds (no Date object per point on the hot path). */
export type PointRow = { key: string; step: number; value: number; time: number };
export type TextRow = { key: string; step: number; index: number; text: string; caption: string | null; time: Date };
export type LogRow = { seq: number; level: string; message: string; time: Date };

/** Keys under `__swanlab__.` are system metrics (CPU, GPU…), as in the official SDK. */
export const SYSTEM_PREFIX = "__swanlab__.";

type Q = Pick<pg.PoolClient, "query">;

/** Steps per scalar_rollups row (see downsample.ts). */
export const ROLLUP_BLOCK = 256;

/** PostgreSQL's float8 order, which the rollups and the downsampler follow: NaN above everything. */
export function cmpValue(a: number, b: number): number {
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}
/** Ties: the min is the smallest value at the smallest step, the max the largest value at the smallest step. */
export const lessMin = (a: { step: number; value: number }, b: { step: number; value: number }) => {
  const c = cmpValue(a.value, b.value);
  return c < 0 || (c === 0 && a.step < b.step);
};
export const greaterMax = (a: { step: number; value: number }, b: { step: number; value: number }) => {
  const c = cmpValue(a.value, b.value);
  return c > 0 || (c === 0 && a.step < b.step);
};

/**
 * Inserts the points; returns the new ones (sorted by key, step). The batch is deduplicated and sorted
 * here (the first of a repeated (key, step) wins, as ON CONFLICT DO NOTHING would), and the summaries
 * (per key: count and last; per 256-step block: count, min, max, last) are folded from it in JavaScript.
 * One statement then inserts the points and, when every one of them was new (the usual case), upserts
 * those summaries: one round trip, and no rows sent back. When some already existed (a re-sent batch),
 * it returns the (key, step) of the new ones and a second statement upserts their summaries, in the
 * caller's transaction.
 */
export async function insertPoints(q: Q, runId: string, rows: PointRow[], heartbeatAt?: Date): Promise<PointRow[]> {
  if (!rows.length) return [];
  const points = distinctSorted(rows);
  const { rows: out } = await q.query<{ n: number; key: string | null; step: number | null }>(pointsStatement(runId, points, heartbeatAt, false));
  const inserted = out[0]!.n;
  if (inserted === points.length) return points;
  if (inserted === 0) return [];
  const isNew = new Set(out.map((r) => `${r.step}\u0000${r.key}`));
  const fresh = points.filter((r) => isNew.has(`${r.step}\u0000${r.key}`));
  const more = new Args([runId]);
  await q.query(`WITH series AS (${upsertSeriesSql(more, fresh, "true")}) ${upsertRollupsSql(more, fresh, "true")}`, more.values);
  return fresh;
}

/** SQLSTATE of swanhouse_partial_batch() (migration 20261128070000_ingest_partial_batch). */
const PARTIAL_BATCH = "SHPB1";
const FOREIGN_KEY_VIOLATION = "23503";
const DEADLOCK_DETECTED = "40P01";

/** An API key that must be allowed to write to the run for a statement to store anything. */
export type Writer = { keyHash: string; roles: readonly string[] };

export type AloneResult =
  | { stored: PointRow[]; writer?: { keyId: string; projectId: string } }
  | "partial" // some points were already stored: nothing was written, use insertPoints in a transaction
  | "denied"; // the writer may not write to this run, or the run is gone: nothing was written

/**
 * insertPoints without a transaction (one round trip less than BEGIN … COMMIT, and no pinned connection):
 * the statement is atomic by itself as long as every point is new or none is. A batch with some points
 * already stored makes the statement raise (undoing it) and answers "partial". With a `writer`, the same
 * statement also checks the API key and its write access to the run (so an ingest request is one round
 * trip) and answers "denied" when that fails; the caller then finds out why the usual way.
 */
export async function insertPointsAlone(db: Pick<Db, "pool">, runId: string, rows: PointRow[], heartbeatAt?: Date, writer?: Writer): Promise<AloneResult> {
  if (!rows.length) return { stored: [] };
  const points = distinctSorted(rows);
  try {
    const { rows: out } = await db.pool.query<{ n: number; keyId: string | null; projectId: string | null }>(pointsStatement(runId, points, heartbeatAt, true, writer));
    const row = out[0]!;
    if (!writer) return { stored: row.n === 0 ? [] : points };
    if (row.keyId === null || row.projectId === null) return "denied";
    return { stored: row.n === 0 ? [] : points, writer: { keyId: row.keyId, projectId: row.projectId } };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === PARTIAL_BATCH) return "partial";
    // The run was deleted while this statement ran (metric_series' foreign key, or a deadlock with the
    // delete): nothing was written, and the general path answers 404.
    if (code === FOREIGN_KEY_VIOLATION || code === DEADLOCK_DETECTED) return "denied";
    throw err;
  }
}

/** The one statement: heartbeat, insert, and the summaries when every point was new. `refusePartial`:
 * raise when only some were (outside a transaction), else return the (key, step) of the new ones.
 * `writer`: nothing is written unless its key may write to the run; the key's id and the run's project
 * come back (null when refused). */
function pointsStatement(runId: string, points: PointRow[], heartbeatAt: Date | undefined, refusePartial: boolean, writer?: Writer) {
  const args = new Args([runId]);
  // Who may write, as access.service.ts's check() decides it for a signed-in user: a member of the
  // run's workspace in one of `roles` (public projects are never writable from outside).
  const writerCte = writer
    ? `writer AS (
       SELECT k.id AS key_id, r.project_id
       FROM api_keys k
       JOIN runs r ON r.id = $1
       JOIN projects p ON p.id = r.project_id
       JOIN memberships m ON m.workspace_id = p.workspace_id AND m.user_id = k.user_id
       WHERE k.key_hash = ${args.add(writer.keyHash)} AND k.revoked_at IS NULL AND m.role::text = ANY(${args.add(writer.roles)}::text[])),`
    : "";
  const allowed = writer ? "EXISTS (SELECT FROM writer)" : "true";
  const insert = `INSERT INTO scalar_points (run_id, key, step, value, time)
     SELECT $1, k, s, v, t FROM unnest(${args.add(textArray(points.map((r) => r.key)))}::text[], ${args.add(numberArray(points.map((r) => r.step)))}::int4[],
                                      ${args.add(numberArray(points.map((r) => r.value)))}::float8[], ${args.add(timeArray(points.map((r) => r.time)))}::timestamptz[]) AS u(k, s, v, t)
     WHERE ${allowed}
     ON CONFLICT DO NOTHING
     RETURNING ${refusePartial ? "1" : "key, step"}`;
  // The run's heartbeat rides along (a write means the run is alive): one round trip less per request.
  const heartbeat = `UPDATE runs SET last_heartbeat_at = ${args.add(heartbeatAt ?? null)} WHERE id = $1 AND ${args.last}::timestamptz IS NOT NULL AND ${allowed}`;
  const total = args.add(points.length);
  const allNew = `(SELECT n FROM n) = ${total}`;
  const who = writer ? `, (SELECT key_id FROM writer) AS "keyId", (SELECT project_id FROM writer) AS "projectId"` : "";
  const answer = refusePartial
    ? `SELECT CASE WHEN n.n > 0 AND n.n < ${total} THEN swanhouse_partial_batch() ELSE n.n END AS n${who} FROM n`
    : `SELECT n.n, ins.key, ins.step FROM n LEFT JOIN ins ON n.n < ${total}`;
  return {
    // The text depends only on the flags: prepared once per connection, so PostgreSQL does not parse and
    // plan it on every request (~0.3–0.6 ms a request on the 2-core VM; the raw INSERT plans in 0.05).
    // Behind a pooler, named statements need session pooling or PgBouncer ≥ 1.21 (max_prepared_statements).
    name: `ingest-points${writer ? "-writer" : ""}${refusePartial ? "-alone" : ""}`,
    text: `WITH ${writerCte}
       heartbeat AS (${heartbeat}),
       ins AS (${insert}),
       n AS (SELECT count(*)::int AS n FROM ins),
       series AS (${upsertSeriesSql(args, points, allNew)}),
       rollups AS (${upsertRollupsSql(args, points, allNew)})
     ${answer}`,
    values: args.values,
  };
}

/** Numbered query parameters: `add` returns the placeholder of the value it appends. */
class Args {
  constructor(readonly values: unknown[]) {}
  add(v: unknown): string {
    this.values.push(v);
    return this.last;
  }
  get last(): string {
    return `$${this.values.length}`;
  }
}

/** The batch without repeated (key, step) (the first one kept), sorted by key, then step. */
function distinctSorted(rows: PointRow[]): PointRow[] {
  const byKey = new Map<string, PointRow[]>();
  for (const r of rows) {
    const list = byKey.get(r.key);
    if (list) list.push(r);
    else byKey.set(r.key, [r]);
  }
  const keys = [...byKey.keys()].sort();
  const out: PointRow[] = [];
  for (const key of keys) {
    const list = byKey.get(key)!;
    let increasing = true; // the usual case: one log call after another
    for (let i = 1; i < list.length && increasing; i++) increasing = list[i]!.step > list[i - 1]!.step;
    if (increasing) {
      for (const r of list) out.push(r);
      continue;
    }
    const seen = new Set<number>();
    const kept = list.filter((r) => !seen.has(r.step) && seen.add(r.step));
    kept.sort((a, b) => a.step - b.step); // stable: equal steps cannot remain
    for (const r of kept) out.push(r);
  }
  return out;
}

type Block = { key: string; block: number; count: number; min: PointRow; max: PointRow; last: PointRow };

/** metric_series upsert of `rows` (sorted by key, step: the last row of a key is its last point). */
function upsertSeriesSql(args: Args, rows: PointRow[], guard: string): string {
  const series: Array<{ key: string; last: PointRow; count: number }> = [];
  for (const r of rows) {
    const s = series[series.length - 1];
    if (s && s.key === r.key) {
      s.last = r;
      s.count++;
    } else series.push({ key: r.key, last: r, count: 1 });
  }
  return `INSERT INTO metric_series AS ms (run_id, key, kind, is_system, last_step, last_value, count, updated_at)
       SELECT $1, k, 'scalar', starts_with(k, '${SYSTEM_PREFIX}'), s, v::text, c, now()
       FROM unnest(${args.add(series.map((s) => s.key))}::text[], ${args.add(series.map((s) => s.last.step))}::int4[],
                   ${args.add(numberArray(series.map((s) => s.last.value)))}::float8[], ${args.add(series.map((s) => s.count))}::int4[]) AS u(k, s, v, c)
       WHERE ${guard}
       ON CONFLICT (run_id, key) DO UPDATE SET
         count = ms.count + EXCLUDED.count,
         updated_at = now(),
         last_step = CASE WHEN ms.last_step IS NULL OR EXCLUDED.last_step >= ms.last_step THEN EXCLUDED.last_step ELSE ms.last_step END,
         last_value = CASE WHEN ms.last_step IS NULL OR EXCLUDED.last_step >= ms.last_step THEN EXCLUDED.last_value ELSE ms.last_value END`;
}

/** scalar_rollups upsert of `rows` (sorted by key, step). */
function upsertRollupsSql(args: Args, rows: PointRow[], guard: string): string {
  const blocks: Block[] = [];
  for (const r of rows) {
    const block = Math.floor(r.step / ROLLUP_BLOCK);
    const b = blocks[blocks.length - 1];
    if (b && b.key === r.key && b.block === block) {
      b.count++;
      b.last = r;
      if (lessMin(r, b.min)) b.min = r;
      if (greaterMax(r, b.max)) b.max = r;
    } else blocks.push({ key: r.key, block, count: 1, min: r, max: r, last: r });
  }
  const col = <T>(f: (b: Block) => T) => args.add(blocks.map(f));
  const values = (f: (b: Block) => number) => args.add(numberArray(blocks.map(f)));
  const times = (f: (b: Block) => number) => args.add(timeArray(blocks.map(f)));
  return `INSERT INTO scalar_rollups AS r (run_id, key, block, count, min_step, min_value, min_time, max_step, max_value, max_time, last_step, last_value, last_time)
     SELECT $1, * FROM unnest(${col((b) => b.key)}::text[], ${col((b) => b.block)}::int4[], ${col((b) => b.count)}::int4[],
                              ${col((b) => b.min.step)}::int4[], ${values((b) => b.min.value)}::float8[], ${times((b) => b.min.time)}::timestamptz[],
                              ${col((b) => b.max.step)}::int4[], ${values((b) => b.max.value)}::float8[], ${times((b) => b.max.time)}::timestamptz[],
                              ${col((b) => b.last.step)}::int4[], ${values((b) => b.last.value)}::float8[], ${times((b) => b.last.time)}::timestamptz[])
     WHERE ${guard}
     ON CONFLICT (run_id, key, block) DO UPDATE SET
       count = r.count + EXCLUDED.count,
       min_step = CASE WHEN (EXCLUDED.min_value, EXCLUDED.min_step) < (r.min_value, r.min_step) THEN EXCLUDED.min_step ELSE r.min_step END,
       min_value = CASE WHEN (EXCLUDED.min_value, EXCLUDED.min_step) < (r.min_value, r.min_step) THEN EXCLUDED.min_value ELSE r.min_value END,
       min_time = CASE WHEN (EXCLUDED.min_value, EXCLUDED.min_step) < (r.min_value, r.min_step) THEN EXCLUDED.min_time ELSE r.min_time END,
       max_step = CASE WHEN (EXCLUDED.max_value, -EXCLUDED.max_step) > (r.max_value, -r.max_step) THEN EXCLUDED.max_step ELSE r.max_step END,
       max_value = CASE WHEN (EXCLUDED.max_value, -EXCLUDED.max_step) > (r.max_value, -r.max_step) THEN EXCLUDED.max_value ELSE r.max_value END,
       max_time = CASE WHEN (EXCLUDED.max_value, -EXCLUDED.max_step) > (r.max_value, -r.max_step) THEN EXCLUDED.max_time ELSE r.max_time END,
       last_step = GREATEST(EXCLUDED.last_step, r.last_step),
       last_value = CASE WHEN EXCLUDED.last_step > r.last_step THEN EXCLUDED.last_value ELSE r.last_value END,
       last_time = CASE WHEN EXCLUDED.last_step > r.last_step THEN EXCLUDED.last_time ELSE r.last_time END`;
}

export async function insertTexts(q: Q, runId: string, rows: TextRow[]): Promise<TextRow[]> {
  if (!rows.length) return [];
  const res = await q.query<TextRow>(
    `WITH ins AS (
       INSERT INTO text_items (run_id, key, step, index, text, caption, time)
       SELECT $1, k, s, i, x, c, t FROM unnest($2::text[], $3::int4[], $4::int4[], $5::text[], $6::text[], $7::timestamptz[]) AS u(k, s, i, x, c, t)
       ON CONFLICT DO NOTHING
       RETURNING key, step, index, text, caption, time),
     agg AS (SELECT key, max(step) AS step, count(*)::int AS c FROM ins GROUP BY key),
     up AS (
       INSERT INTO metric_series AS ms (run_id, key, kind, is_system, last_step, count, updated_at)
       SELECT $1, key, 'text', false, step, c, now() FROM agg
       ON CONFLICT (run_id, key) DO UPDATE SET count = ms.count + EXCLUDED.count, updated_at = now(),
         last_step = GREATEST(ms.last_step, EXCLUDED.last_step))
     SELECT * FROM ins ORDER BY key, step, index`,
    [runId, rows.map((r) => r.key), rows.map((r) => r.step), rows.map((r) => r.index), rows.map((r) => r.text), rows.map((r) => r.caption), rows.map((r) => r.time)],
  );
  return res.rows;
}

/** Lines without a client seq get the next numbers after the run's highest (serialised per run). */
export async function insertLogs(q: Q, runId: string, rows: Array<Omit<LogRow, "seq"> & { seq?: number }>): Promise<LogRow[]> {
  if (!rows.length) return [];
  await q.query("SELECT pg_advisory_xact_lock(hashtext('log_lines:' || $1))", [runId]);
  let next = 0;
  if (rows.some((r) => r.seq === undefined)) {
    const { rows: m } = await q.query<{ m: string | null }>("SELECT max(seq)::text AS m FROM log_lines WHERE run_id = $1", [runId]);
    next = m[0]?.m ? Number(m[0].m) + 1 : 0;
  }
  const seqs = rows.map((r) => r.seq ?? next++);
  const res = await q.query<{ seq: string; level: string; message: string; time: Date }>(
    `INSERT INTO log_lines (run_id, seq, level, message, time)
     SELECT $1, s, l, m, t FROM unnest($2::int8[], $3::text[], $4::text[], $5::timestamptz[]) AS u(s, l, m, t)
     ON CONFLICT DO NOTHING RETURNING seq::text, level, message, time`,
    [runId, seqs, rows.map((r) => r.level), rows.map((r) => r.message), rows.map((r) => r.time)],
  );
  return res.rows.map((r) => ({ ...r, seq: Number(r.seq) })).sort((a, b) => a.seq - b.seq);
}

export async function withTransaction<T>(db: Pick<Db, "pool">, fn: (q: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.pool.connect();
  try {
    await client.query("BEGIN");
    const out = await fn(client);
    await client.query("COMMIT");
    return out;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
