// Server-side downsampling of one scalar series: the step range is cut into buckets, and each bucket
// keeps its minimum, its maximum and its last point, so spikes survive any zoom level.
// Short ranges are read point by point. Long ones are read from scalar_rollups (min/max/last per block
// of ROLLUP_BLOCK steps, kept by the insert): buckets are whole blocks, plus the points of the partial
// blocks at the range's edges, so 1M points cost ~3,900 rows instead of 1M.
// Ordering as in PostgreSQL: NaN sorts above every number; ties go to the smaller step.
import type pg from "pg";
import { greaterMax, lessMin, ROLLUP_BLOCK } from "./metrics.repo.js";

export type SeriesPoint = { step: number; value: number; time: Date };
type Q = Pick<pg.Pool, "query">;
type Opts = { maxPoints: number; minStep?: number; maxStep?: number };
/** A point, or a block's summary: the bucket of a block is the bucket of its first step. */
type Item = { at: number; count: number; min: SeriesPoint; max: SeriesPoint; last: SeriesPoint };

const MAX_STEP = 2_147_483_647;
/** Below this many candidate points the plain scan is cheap enough. */
const ROLLUP_MIN_POINTS = 50_000;

export async function readSeries(q: Q, runId: string, key: string, opts: Opts): Promise<{ total: number; downsampled: boolean; points: SeriesPoint[] }> {
  const lo = opts.minStep ?? 0;
  const hi = opts.maxStep ?? MAX_STEP;
  if (hi < lo) return { total: 0, downsampled: false, points: [] };
  const B = ROLLUP_BLOCK;
  // Blocks wholly inside [lo, hi]; the partial blocks at either end are read as points.
  const firstFull = Math.ceil(lo / B);
  const lastFull = Math.floor((hi + 1) / B) - 1;
  const { rows: blocks } = await q.query<BlockRow>(
    `SELECT block, count, min_step, min_value, min_time, max_step, max_value, max_time, last_step, last_value, last_time
     FROM scalar_rollups WHERE run_id = $1 AND key = $2 AND block BETWEEN $3 AND $4 ORDER BY block`,
    [runId, key, firstFull, lastFull],
  );
  const inBlocks = blocks.reduce((n, b) => n + b.count, 0);
  if (inBlocks <= Math.max(ROLLUP_MIN_POINTS, opts.maxPoints)) return readPoints(q, runId, key, lo, hi, opts.maxPoints);

  const edges: SeriesPoint[] = [];
  const readRange = async (a: number, b: number) => {
    if (a > b) return;
    const { rows } = await q.query<SeriesPoint>(
      `SELECT step, value, time FROM scalar_points WHERE run_id = $1 AND key = $2 AND step BETWEEN $3 AND $4 ORDER BY step`,
      [runId, key, a, b],
    );
    edges.push(...rows);
  };
  if (firstFull > lastFull) await readRange(lo, hi);
  else {
    await readRange(lo, Math.min(hi, firstFull * B - 1));
    await readRange(Math.max(lo, (lastFull + 1) * B), hi);
  }
  const items: Item[] = [
    ...edges.map((p) => ({ at: p.step, count: 1, min: p, max: p, last: p })),
    ...blocks.map((b) => ({
      at: b.block * B,
      count: b.count,
      min: { step: b.min_step, value: Number(b.min_value), time: b.min_time },
      max: { step: b.max_step, value: Number(b.max_value), time: b.max_time },
      last: { step: b.last_step, value: Number(b.last_value), time: b.last_time },
    })),
  ];
  const total = items.reduce((n, i) => n + i.count, 0);
  // Up to 3 points a bucket, so maxPoints/3 buckets keep the answer within maxPoints. Buckets are whole
  // blocks wide and aligned on blocks, so that no block straddles two buckets.
  const from = Math.floor(lo / B) * B;
  const to = items.reduce((m, i) => Math.max(m, i.last.step), from);
  const buckets = Math.max(1, Math.floor(opts.maxPoints / 3));
  const width = Math.ceil((to - from + 1) / buckets / B) * B;
  const byBucket = new Map<number, { min: SeriesPoint; max: SeriesPoint; last: SeriesPoint }>();
  for (const it of items) {
    const g = Math.floor((it.at - from) / width);
    const cur = byBucket.get(g);
    if (!cur) byBucket.set(g, { min: it.min, max: it.max, last: it.last });
    else {
      if (lessMin(it.min, cur.min)) cur.min = it.min;
      if (greaterMax(it.max, cur.max)) cur.max = it.max;
      if (it.last.step > cur.last.step) cur.last = it.last;
    }
  }
  const seen = new Map<number, SeriesPoint>();
  for (const b of byBucket.values()) for (const p of [b.min, b.max, b.last]) if (!seen.has(p.step)) seen.set(p.step, p);
  return { total, downsampled: true, points: [...seen.values()].sort((a, b) => a.step - b.step) };
}

type BlockRow = {
  block: number; count: number;
  min_step: number; min_value: number; min_time: Date;
  max_step: number; max_value: number; max_time: Date;
  last_step: number; last_value: number; last_time: Date;
};

/** The point-by-point path: full resolution when it fits, else one aggregate pass over the points. */
export async function readPoints(q: Q, runId: string, key: string, lo: number, hi: number, maxPoints: number) {
  const { rows: stat } = await q.query<{ n: number; smin: number | null; smax: number | null }>(
    `SELECT count(*)::int AS n, min(step) AS smin, max(step) AS smax FROM scalar_points
     WHERE run_id = $1 AND key = $2 AND step BETWEEN $3 AND $4`,
    [runId, key, lo, hi],
  );
  const { n, smin, smax } = stat[0]!;
  if (n <= maxPoints || smin === null || smax === null) {
    const { rows } = await q.query<SeriesPoint>(
      `SELECT step, value, time FROM scalar_points WHERE run_id = $1 AND key = $2 AND step BETWEEN $3 AND $4 ORDER BY step`,
      [runId, key, lo, hi],
    );
    return { total: n, downsampled: false, points: rows.map(fixValue) };
  }
  const buckets = Math.max(1, Math.floor(maxPoints / 3));
  const width = Math.max(1, Math.ceil((smax - smin + 1) / buckets));
  // min/max over float8[] compare element-wise: value first, then step.
  const { rows } = await q.query<{ lo: number[]; hi: number[]; last: number[] }>(
    `SELECT min(ARRAY[value, step, extract(epoch FROM time)]) AS lo,
            max(ARRAY[value, -step, extract(epoch FROM time)]) AS hi,
            max(ARRAY[step, value, extract(epoch FROM time)]) AS last
     FROM scalar_points WHERE run_id = $1 AND key = $2 AND step BETWEEN $3 AND $4
     GROUP BY (step - $3::int) / $5::int`,
    [runId, key, smin, smax, width],
  );
  const seen = new Map<number, SeriesPoint>();
  const add = (step: number, value: number, epoch: number) => {
    if (!seen.has(step)) seen.set(step, { step, value, time: new Date(epoch * 1000) });
  };
  for (const r of rows) {
    const [lv, ls, lt] = r.lo.map(Number) as [number, number, number];
    const [hv, hs, ht] = r.hi.map(Number) as [number, number, number];
    const [as, av, at] = r.last.map(Number) as [number, number, number];
    add(ls, lv, lt);
    add(-hs, hv, ht);
    add(as, av, at);
  }
  const points = [...seen.values()].sort((a, b) => a.step - b.step);
  return { total: n, downsampled: true, points };
}

// node-pg parses float8 to number already, but "NaN"/"Infinity" arrive as numbers too: keep as is.
function fixValue(r: SeriesPoint): SeriesPoint {
  return { step: r.step, value: Number(r.value), time: r.time };
}
