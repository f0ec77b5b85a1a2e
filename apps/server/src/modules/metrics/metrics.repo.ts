// The hot path, in raw SQL: one `unnest` INSERT per kind and batch, ON CONFLICT DO NOTHING so a re-sent
// batch is a no-op, RETURNING only the rows that are new (those are the ones pushed to subscribers).
// metric_series (per-key last value and count) and scalar_rollups (per-block min/max/last) follow in one
// small statement built from the new rows.
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
 * Inserts the points; returns the new ones (sorted by key, step). The summaries of the new points (per
 * key: count and last; per block: count, min, max, last) are folded in JavaScript, which already holds
 * the rows, and upserted by one small statement: cheaper than sorting the batch again in PostgreSQL.
 */
export async function insertPoints(q: Q, runId: string, rows: PointRow[], heartbeatAt?: Date): Promise<PointRow[]> {
  if (!rows.length) return [];
  // The run's heartbeat rides along (a write means the run is alive): one round trip less per request.
  const res = await q.query<{ key: string; step: number; value: number; time: Date }>(
    `WITH heartbeat AS (UPDATE runs SET last_heartbeat_at = $6 WHERE id = $1 AND $6::timestamptz IS NOT NULL)
     INSERT INTO scalar_points (run_id, key, step, value, time)
     SELECT $1, k, s, v, t FROM unnest($2::text[], $3::int4[], $4::float8[], $5::timestamptz[]) AS u(k, s, v, t)
     ON CONFLICT DO NOTHING
     RETURNING key, step, value, time`,
    [runId, rows.map((r) => r.key), rows.map((r) => r.step), rows.map((r) => r.value), rows.map((r) => r.time), heartbeatAt ?? null],
  );
  const inserted = res.rows.map((r) => ({ ...r, value: Number(r.value) }));
  inserted.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.step - b.step));
  if (inserted.length) await upsertSummaries(q, runId, inserted);
  return inserted;
}

type Block = { key: string; block: number; count: number; min: PointRow; max: PointRow; last: PointRow };

/** `rows` sorted by (key, step): so the last row of a key or block is its last point. */
async function upsertSummaries(q: Q, runId: string, rows: PointRow[]): Promise<void> {
  const series: Array<{ key: string; last: PointRow; count: number }> = [];
  const blocks: Block[] = [];
  for (const r of rows) {
    const s = series[series.length - 1];
    if (s && s.key === r.key) {
      s.last = r;
      s.count++;
    } else series.push({ key: r.key, last: r, count: 1 });
    const block = Math.floor(r.step / ROLLUP_BLOCK);
    const b = blocks[blocks.length - 1];
    if (b && b.key === r.key && b.block === block) {
      b.count++;
      b.last = r;
      if (lessMin(r, b.min)) b.min = r;
      if (greaterMax(r, b.max)) b.max = r;
    } else blocks.push({ key: r.key, block, count: 1, min: r, max: r, last: r });
  }
  const col = <T>(f: (b: Block) => T) => blocks.map(f);
  await q.query(
    `WITH up AS (
       INSERT INTO metric_series AS ms (run_id, key, kind, is_system, last_step, last_value, count, updated_at)
       SELECT $1, k, 'scalar', starts_with(k, '${SYSTEM_PREFIX}'), s, v::text, c, now()
       FROM unnest($2::text[], $3::int4[], $4::float8[], $5::int4[]) AS u(k, s, v, c)
       ON CONFLICT (run_id, key) DO UPDATE SET
         count = ms.count + EXCLUDED.count,
         updated_at = now(),
         last_step = CASE WHEN ms.last_step IS NULL OR EXCLUDED.last_step >= ms.last_step THEN EXCLUDED.last_step ELSE ms.last_step END,
         last_value = CASE WHEN ms.last_step IS NULL OR EXCLUDED.last_step >= ms.last_step THEN EXCLUDED.last_value ELSE ms.last_value END)
     INSERT INTO scalar_rollups AS r (run_id, key, block, count, min_step, min_value, min_time, max_step, max_value, max_time, last_step, last_value, last_time)
     SELECT $1, * FROM unnest($6::text[], $7::int4[], $8::int4[], $9::int4[], $10::float8[], $11::timestamptz[],
                               $12::int4[], $13::float8[], $14::timestamptz[], $15::int4[], $16::float8[], $17::timestamptz[])
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
       last_time = CASE WHEN EXCLUDED.last_step > r.last_step THEN EXCLUDED.last_time ELSE r.last_time END`,
    [
      runId, series.map((s) => s.key), series.map((s) => s.last.step), series.map((s) => s.last.value), series.map((s) => s.count),
      col((b) => b.key), col((b) => b.block), col((b) => b.count),
      col((b) => b.min.step), col((b) => b.min.value), col((b) => b.min.time),
      col((b) => b.max.step), col((b) => b.max.value), col((b) => b.max.time),
      col((b) => b.last.step), col((b) => b.last.value), col((b) => b.last.time),
    ],
  );
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
