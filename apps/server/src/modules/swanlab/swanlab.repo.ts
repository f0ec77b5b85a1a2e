// SQL for the SwanLab wire protocol that the shared services do not already cover: media files of a run
// (media_files + their metric_series row, duplicates ignored like the other hot-path inserts) and the
// read-only views the SDK needs on resume (last step per key, last console line number).
import type { Db } from "@swanhouse/db";
import type pg from "pg";
import { SYSTEM_PREFIX } from "../metrics/metrics.repo.js";
import { newUuid } from "../../lib/ids.js";

export type MediaRow = { path: string; key: string; step: number; kind: "image" | "audio" | "object3d" | "other"; contentType: string | null; size: number | null };
type Q = Pick<pg.PoolClient, "query">;

/** Inserts media rows (a re-sent batch is a no-op) and counts only the new ones in metric_series. */
export async function insertMedia(q: Q, runId: string, rows: MediaRow[]): Promise<string[]> {
  if (!rows.length) return [];
  const res = await q.query<{ path: string }>(
    `WITH ins AS (
       INSERT INTO media_files (id, run_id, path, content_type, size)
       SELECT i, $1, p, c, s FROM unnest($2::uuid[], $3::text[], $4::text[], $5::int4[]) AS u(i, p, c, s)
       ON CONFLICT (path) DO NOTHING
       RETURNING path),
     new AS (SELECT u.k, u.st, u.kd FROM unnest($3::text[], $6::text[], $7::int4[], $8::text[]) AS u(p, k, st, kd) JOIN ins ON ins.path = u.p),
     agg AS (SELECT k, max(st) AS st, min(kd) AS kd, count(*)::int AS c FROM new GROUP BY k),
     up AS (
       INSERT INTO metric_series AS ms (run_id, key, kind, is_system, last_step, count, updated_at)
       SELECT $1, k, kd::"SeriesKind", starts_with(k, '${SYSTEM_PREFIX}'), st, c, now() FROM agg
       ON CONFLICT (run_id, key) DO UPDATE SET count = ms.count + EXCLUDED.count, updated_at = now(),
         last_step = GREATEST(ms.last_step, EXCLUDED.last_step))
     SELECT path FROM ins`,
    [
      runId,
      rows.map(() => newUuid()),
      rows.map((r) => r.path),
      rows.map((r) => r.contentType),
      rows.map((r) => r.size),
      rows.map((r) => r.key),
      rows.map((r) => r.step),
      rows.map((r) => r.kind),
    ],
  );
  return res.rows.map((r) => r.path);
}

type MediaFileRow = { path: string; contentType: string | null; size: number | null; createdAt: Date };
type SeriesRow = { key: string; kind: "scalar" | "text" | "image" | "audio" | "object3d" | "other"; isSystem: boolean; lastStep: number | null };
type ProjectRow = { id: string; name: string; visibility: "private" | "public"; createdAt: Date };
const mediaSelect = { path: true, contentType: true, size: true, createdAt: true } as const;
const projectSelect = { id: true, name: true, visibility: true, createdAt: true } as const;

export function createSwanlabRepo(db: Pick<Db, "prisma" | "pool">) {
  const { prisma } = db;
  return {
    mediaExists: async (path: string): Promise<boolean> => (await prisma.mediaFile.count({ where: { path } })) > 0,
    mediaByPath: (path: string): Promise<MediaFileRow | null> => prisma.mediaFile.findUnique({ where: { path }, select: mediaSelect }),
    mediaOfRun: (runId: string, pathPrefix: string): Promise<MediaFileRow[]> =>
      prisma.mediaFile.findMany({ where: { runId, path: { startsWith: pathPrefix } }, orderBy: [{ path: "asc" }], select: mediaSelect }),
    series: (runId: string): Promise<SeriesRow[]> =>
      prisma.metricSeries.findMany({ where: { runId }, orderBy: { key: "asc" }, select: { key: true, kind: true, isSystem: true, lastStep: true } }),
    async lastLogSeq(runId: string): Promise<number | null> {
      const { rows } = await db.pool.query<{ m: string | null }>("SELECT max(seq)::text AS m FROM log_lines WHERE run_id = $1", [runId]);
      return rows[0]?.m ? Number(rows[0].m) : null;
    },
    /** A saved file (swanlab.save) is replaced when saved again. */
    upsertFile: (runId: string, path: string, contentType: string | null, size: number): Promise<MediaFileRow> =>
      prisma.mediaFile.upsert({ where: { path }, create: { id: newUuid(), runId, path, contentType, size }, update: { contentType, size, createdAt: new Date() }, select: mediaSelect }),
    runCount: (projectId: string): Promise<number> => prisma.run.count({ where: { projectId } }),
    project: (workspaceId: string, name: string): Promise<ProjectRow | null> =>
      prisma.project.findUnique({ where: { workspaceId_name: { workspaceId, name } }, select: projectSelect }),
    createProject: (data: { id: string; workspaceId: string; name: string; visibility: "private" | "public" }): Promise<ProjectRow> =>
      prisma.project.create({ data, select: projectSelect }),
  };
}
export type SwanlabRepo = ReturnType<typeof createSwanlabRepo>;
