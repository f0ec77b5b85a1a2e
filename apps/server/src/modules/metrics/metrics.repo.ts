// The hot path, in raw SQL: one `unnest` INSERT per kind and batch, ON CONFLICT DO NOTHING so a re-sent
// batch is a no-op, RETURNING only the rows that are new (those are the ones pushed to subscribers).
// metric_series keeps per-key last value and count, and scalar_rollups per-block min/max/last, updated in
// the same statement.
import type { Db } from "@swanhouse/db";
import type pg from "pg";

export type PointRow = { key: string; step: number; value: number; time: Date };
export type TextRow = { key: string; step: number; index: number; text: string; caption: string | null; time: Date };
export type LogRow = { seq: number; level: string; message: string; time: Date };

/** Keys under `__swanlab__.` are system metrics (CPU, GPU…), as in the official SDK. */
export const SYSTEM_PREFIX = "__swanlab__.";

type Q = Pick<pg.PoolClient, "query">;

/** Steps per scalar_rollups row (see downsample.ts). */
export const ROLLUP_BLOCK = 256;
const B = ROLLUP_BLOCK;
// Folds the new points (CTE `ins`) into their blocks' min/max/last. Ties as in the migration that made
// the table: min = smallest (value, step), max = largest value at the smallest step, last = largest step.
const ROLLUP_SQL = `
     blk AS (SELECT key, step / ${B} AS block, count(*)::int AS c FROM ins GROUP BY 1, 2),
     lo AS (SELECT DISTINCT ON (key, step / ${B}) key, step / ${B} AS block, step, value, time FROM ins ORDER BY key, step / ${B}, value, step),
     hi AS (SELECT DISTINCT ON (key, step / ${B}) key, step / ${B} AS block, step, value, time FROM ins ORDER BY key, step / ${B}, value DESC, step),
     la AS (SELECT DISTINCT ON (key, step / ${B}) key, step / ${B} AS block, step, value, time FROM ins ORDER BY key, step / ${B}, step DESC),
     roll AS (
       INSERT INTO scalar_rollups AS r (run_id, key, block, count, min_step, min_value, min_time, max_step, max_value, max_time, last_step, last_value, last_time)
       SELECT $1, blk.key, blk.block, blk.c, lo.step, lo.value, lo.time, hi.step, hi.value, hi.time, la.step, la.value, la.time
       FROM blk JOIN lo USING (key, block) JOIN hi USING (key, block) JOIN la USING (key, block)
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
         last_time = CASE WHEN EXCLUDED.last_step > r.last_step THEN EXCLUDED.last_time ELSE r.last_time END)`;

export async function insertPoints(q: Q, runId: string, rows: PointRow[]): Promise<PointRow[]> {
  if (!rows.length) return [];
  const res = await q.query<{ key: string; step: number; value: number; time: Date }>(
    `WITH ins AS (
       INSERT INTO scalar_points (run_id, key, step, value, time)
       SELECT $1, k, s, v, t FROM unnest($2::text[], $3::int4[], $4::float8[], $5::timestamptz[]) AS u(k, s, v, t)
       ON CONFLICT DO NOTHING
       RETURNING key, step, value, time),
     last AS (SELECT DISTINCT ON (key) key, step, value FROM ins ORDER BY key, step DESC),
     cnt AS (SELECT key, count(*)::int AS c FROM ins GROUP BY key),
     up AS (
       INSERT INTO metric_series AS ms (run_id, key, kind, is_system, last_step, last_value, count, updated_at)
       SELECT $1, l.key, 'scalar', starts_with(l.key, '${SYSTEM_PREFIX}'), l.step, l.value::text, c.c, now()
       FROM last l JOIN cnt c USING (key)
       ON CONFLICT (run_id, key) DO UPDATE SET
         count = ms.count + EXCLUDED.count,
         updated_at = now(),
         last_step = CASE WHEN ms.last_step IS NULL OR EXCLUDED.last_step >= ms.last_step THEN EXCLUDED.last_step ELSE ms.last_step END,
         last_value = CASE WHEN ms.last_step IS NULL OR EXCLUDED.last_step >= ms.last_step THEN EXCLUDED.last_value ELSE ms.last_value END),
     ${ROLLUP_SQL}
     SELECT key, step, value, time FROM ins ORDER BY key, step`,
    [runId, rows.map((r) => r.key), rows.map((r) => r.step), rows.map((r) => r.value), rows.map((r) => r.time)],
  );
  return res.rows.map((r) => ({ ...r, value: Number(r.value) }));
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
