// Prisma access for fine-tune jobs and job workers; maps rows to the contract types.
import type { Db, Prisma } from "@swanhouse/db";
import { Hyperparameters, JobModel, type Job, type JobDataSummary, type JobStatus, type JobWorker, type WorkerHeartbeat } from "@swanhouse/contracts";
import { iso, isoOrNull } from "../../lib/serialize.js";

type Tx = Pick<Db["prisma"], "fineTuneJob" | "jobWorker" | "user">;

/** What `spec` (jsonb) holds: the request minus uploaded content. */
export type JobSpec = { model: JobModel; data: JobDataSummary; hyperparameters: Hyperparameters; description?: string };

const include = { project: { select: { name: true, workspace: { select: { name: true } } } } } as const;
export type JobRow = Prisma.FineTuneJobGetPayload<{ include: typeof include }>;

export function createJobsRepo(db: Pick<Db, "prisma">) {
  const p = (tx?: Tx) => tx ?? db.prisma;
  return {
    create: (data: Prisma.FineTuneJobUncheckedCreateInput, tx?: Tx) => p(tx).fineTuneJob.create({ data, include }),
    byId: (id: string, tx?: Tx) => p(tx).fineTuneJob.findUnique({ where: { id }, include }),
    update: (id: string, data: Prisma.FineTuneJobUncheckedUpdateInput, tx?: Tx) => p(tx).fineTuneJob.update({ where: { id }, data, include }),
    /** Moves a job only out of a non-terminal status: two writers (events, sweep) never flip a finished job. */
    updateIfOpen: async (id: string, data: Prisma.FineTuneJobUncheckedUpdateInput, tx?: Tx) => {
      const { count } = await p(tx).fineTuneJob.updateMany({ where: { id, status: { in: ["queued", "running"] } }, data });
      return count > 0;
    },
    list: (where: Prisma.FineTuneJobWhereInput, limit: number, cursor: string | undefined, tx?: Tx) =>
      p(tx).fineTuneJob.findMany({
        where,
        include,
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: limit + 1,
        ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
      }),
    open: (tx?: Tx) => p(tx).fineTuneJob.findMany({ where: { status: { in: ["queued", "running"] } }, include }),
    usernames: async (ids: string[], tx?: Tx) => {
      const rows = await p(tx).user.findMany({ where: { id: { in: [...new Set(ids)] } }, select: { id: true, username: true } });
      return new Map(rows.map((r) => [r.id, r.username]));
    },
    upsertWorker: (hb: WorkerHeartbeat, at: Date, tx?: Tx) =>
      p(tx).jobWorker.upsert({
        where: { id: hb.workerId },
        create: { id: hb.workerId, heartbeat: hb as object, lastHeartbeatAt: at },
        update: { heartbeat: hb as object, lastHeartbeatAt: at },
      }),
    workers: (since: Date, tx?: Tx) => p(tx).jobWorker.findMany({ where: { lastHeartbeatAt: { gte: since } }, orderBy: { id: "asc" } }),
    worker: (id: string, tx?: Tx) => p(tx).jobWorker.findUnique({ where: { id } }),
  };
}
export type JobsRepo = ReturnType<typeof createJobsRepo>;

export function toJob(row: JobRow, createdBy: string): Job {
  const spec = row.spec as unknown as JobSpec;
  return {
    id: row.id,
    projectId: row.projectId,
    workspace: row.project.workspace.name,
    project: row.project.name,
    runName: row.runName,
    runId: row.runId,
    status: row.status as JobStatus,
    device: row.device === "cuda" ? "cuda" : "cpu",
    model: JobModel.parse(spec.model),
    data: spec.data,
    hyperparameters: Hyperparameters.parse(spec.hyperparameters),
    progress: row.progress,
    step: row.step,
    totalSteps: row.totalSteps,
    etaSeconds: row.etaSeconds,
    error: row.error,
    workerId: row.workerId,
    createdBy,
    createdAt: iso(row.createdAt),
    startedAt: isoOrNull(row.startedAt),
    finishedAt: isoOrNull(row.finishedAt),
    cancelRequested: row.cancelRequestedAt !== null,
  };
}

export function toJobWorker(row: { heartbeat: unknown; lastHeartbeatAt: Date }, online: boolean): JobWorker {
  return { ...(row.heartbeat as WorkerHeartbeat), lastHeartbeatAt: iso(row.lastHeartbeatAt), online };
}
