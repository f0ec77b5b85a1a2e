// Server-side downsampling of one scalar series: the step range is cut into buckets, and each bucket
// keeps its minimum, its maximum and its last point, so spikes survive any zoom level. Done in one
// aggregate pass in PostgreSQL (min/max over float8[] rows compare element-wise: value first, then step).
import type pg from "pg";

export type SeriesPoint = { step: number; value: number; time: Date };
type Q = Pick<pg.Pool, "query">;

export async function readSeries(
  q: Q,
  runId: string,
  key: string,
  opts: { maxPoints: number; minStep?: number; maxStep?: number },
): Promise<{ total: number; downsampled: boolean; points: SeriesPoint[] }> {
  const lo = opts.minStep ?? 0;
  const hi = opts.maxStep ?? 2_147_483_647;
  const { rows: stat } = await q.query<{ n: number; smin: number | null; smax: number | null }>(
    `SELECT count(*)::int AS n, min(step) AS smin, max(step) AS smax FROM scalar_points
     WHERE run_id = $1 AND key = $2 AND step BETWEEN $3 AND $4`,
    [runId, key, lo, hi],
  );
  const { n, smin, smax } = stat[0]!;
  if (n <= opts.maxPoints || smin === null || smax === null) {
    const { rows } = await q.query<SeriesPoint>(
      `SELECT step, value, time FROM scalar_points WHERE run_id = $1 AND key = $2 AND step BETWEEN $3 AND $4 ORDER BY step`,
      [runId, key, lo, hi],
    );
    return { total: n, downsampled: false, points: rows.map(fixValue) };
  }
  // Up to 3 points a bucket, so maxPoints/3 buckets keep the answer within maxPoints.
  const buckets = Math.max(1, Math.floor(opts.maxPoints / 3));
  const width = Math.max(1, Math.ceil((smax - smin + 1) / buckets));
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
