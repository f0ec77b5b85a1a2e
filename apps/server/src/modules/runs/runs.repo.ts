// Runs in PostgreSQL: rows → contract shapes; merges of config/metadata are done in SQL (jsonb ||) so
// concurrent PATCHes do not lose each other's keys.
import type { Db, Prisma } from "@swanhouse/db";
import type { MetricSummary, Run } from "@swanhouse/contracts";
import { iso, isoOrNull, storedValueToWire } from "../../lib/serialize.js";

type RunRow = Prisma.RunGetPayload<{ include: { project: { include: { workspace: true } } } }>;
export const runInclude = { project: { include: { workspace: true } } } as const;

export function toRun(row: RunRow): Run {
  return {
    id: row.id,
    projectId: row.projectId,
    project: row.project.name,
    workspace: row.project.workspace.name,
    name: row.name,
    description: row.description,
    tags: row.tags,
    status: row.status,
    config: row.config as Run["config"],
    metadata: row.metadata as Run["metadata"],
    requirements: row.requirements,
    summary: row.summary as Run["summary"],
    createdAt: iso(row.createdAt),
    finishedAt: isoOrNull(row.finishedAt),
    lastHeartbeatAt: iso(row.lastHeartbeatAt),
  };
}

type SeriesRow = { key: string; kind: MetricSummary["kind"]; isSystem: boolean; lastStep: number | null; lastValue: string | null; count: number };
export function toMetricSummary(s: SeriesRow): MetricSummary {
  return { key: s.key, kind: s.kind, isSystem: s.isSystem, lastStep: s.lastStep, lastValue: storedValueToWire(s.lastValue), count: s.count };
}

export function createRunsRepo(db: Pick<Db, "prisma">) {
  const { prisma } = db;
  return {
    byId: (id: string) => prisma.run.findUnique({ where: { id }, include: runInclude }),
    series: (runId: string) =>
      prisma.metricSeries.findMany({ where: { runId }, orderBy: { key: "asc" } }),
    seriesForRuns: (runIds: string[]) =>
      prisma.metricSeries.findMany({ where: { runId: { in: runIds }, kind: "scalar" }, orderBy: { key: "asc" } }),
    async mergeJson(id: string, patch: { config?: object; metadata?: object; summary?: object }) {
      await prisma.$executeRaw`UPDATE runs SET
        config = config || ${JSON.stringify(patch.config ?? {})}::jsonb,
        metadata = metadata || ${JSON.stringify(patch.metadata ?? {})}::jsonb,
        summary = summary || ${JSON.stringify(patch.summary ?? {})}::jsonb
        WHERE id = ${id}`;
    },
  };
}
export type RunsRepo = ReturnType<typeof createRunsRepo>;

/**
 * Deletes runs and all that was recorded for them, in the caller's transaction. Points, rollups, texts,
 * log lines and media rows carry no foreign key to runs (the ingest path stays cheap), so they are
 * deleted here. The run rows are locked first: an ingest statement in flight holds the run row
 * (heartbeat) and finishes before; one that comes later finds no run (its metric_series upsert fails
 * on the foreign key, which undoes its points).
 */
export async function deleteRuns(tx: Prisma.TransactionClient, runIds: string[]): Promise<void> {
  if (!runIds.length) return;
  await tx.$queryRaw`SELECT id FROM runs WHERE id = ANY(${runIds}::text[]) ORDER BY id FOR UPDATE`;
  await tx.$executeRaw`DELETE FROM scalar_points WHERE run_id = ANY(${runIds}::text[])`;
  await tx.$executeRaw`DELETE FROM scalar_rollups WHERE run_id = ANY(${runIds}::text[])`;
  await tx.$executeRaw`DELETE FROM text_items WHERE run_id = ANY(${runIds}::text[])`;
  await tx.$executeRaw`DELETE FROM log_lines WHERE run_id = ANY(${runIds}::text[])`;
  await tx.$executeRaw`DELETE FROM media_files WHERE run_id = ANY(${runIds}::text[])`;
  await tx.$executeRaw`UPDATE fine_tune_jobs SET run_id = NULL WHERE run_id = ANY(${runIds}::text[])`;
  await tx.$executeRaw`DELETE FROM runs WHERE id = ANY(${runIds}::text[])`; // metric_series: ON DELETE CASCADE
}
