-- Per-block (256 steps) min/max/last of each scalar series, so that long series downsample without
-- reading every point. Maintained by the point insert; filled here from the points already stored.
CREATE TABLE "scalar_rollups" (
    "run_id" VARCHAR(64) NOT NULL,
    "key" VARCHAR(255) NOT NULL,
    "block" INTEGER NOT NULL,
    "count" INTEGER NOT NULL,
    "min_step" INTEGER NOT NULL,
    "min_value" DOUBLE PRECISION NOT NULL,
    "min_time" TIMESTAMPTZ(3) NOT NULL,
    "max_step" INTEGER NOT NULL,
    "max_value" DOUBLE PRECISION NOT NULL,
    "max_time" TIMESTAMPTZ(3) NOT NULL,
    "last_step" INTEGER NOT NULL,
    "last_value" DOUBLE PRECISION NOT NULL,
    "last_time" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "scalar_rollups_pkey" PRIMARY KEY ("run_id","key","block")
);

-- Ties: the min is the smallest value at the smallest step, the max the largest value at the smallest
-- step (NaN sorts above every number, as in PostgreSQL), the last the largest step.
INSERT INTO "scalar_rollups"
SELECT c.run_id, c.key, c.block, c.n, lo.step, lo.value, lo.time, hi.step, hi.value, hi.time, la.step, la.value, la.time
FROM (SELECT run_id, key, step / 256 AS block, count(*)::int AS n FROM "scalar_points" GROUP BY 1, 2, 3) c
JOIN (SELECT DISTINCT ON (run_id, key, step / 256) run_id, key, step / 256 AS block, step, value, time FROM "scalar_points" ORDER BY run_id, key, step / 256, value, step) lo USING (run_id, key, block)
JOIN (SELECT DISTINCT ON (run_id, key, step / 256) run_id, key, step / 256 AS block, step, value, time FROM "scalar_points" ORDER BY run_id, key, step / 256, value DESC, step) hi USING (run_id, key, block)
JOIN (SELECT DISTINCT ON (run_id, key, step / 256) run_id, key, step / 256 AS block, step, value, time FROM "scalar_points" ORDER BY run_id, key, step / 256, step DESC) la USING (run_id, key, block);
