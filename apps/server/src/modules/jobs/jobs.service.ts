// Fine-tune jobs: validate and enqueue (after the row is committed), list/get with project access,
// cancel, and keep each row in step with its BullMQ job (queue events + a sweep that also catches
// missed events and workers that stopped sending heartbeats). Each job gets its own API key, minted
// at create and revoked when the job ends, with which the worker logs the run through the SDK.
import type { Db, Prisma } from "@swanhouse/db";
import {
  DEFAULT_HYPERPARAMETERS, InitRandomConfig, type CreateJobBody, type Job, type JobData, type JobDataSummary, type JobOptionsResponse,
  type JobStatus, type ListJobsQuery, type LoraJobData, type WorkerHeartbeat,
} from "@swanhouse/contracts";
import type { Clock } from "../../app.js";
import type { Env } from "../../env.js";
import type { Actor, UserActor } from "../../plugins/auth.js";
import { BadRequest, Conflict, Forbidden, NotFound } from "../../lib/errors.js";
import { newApiKey, newUuid, sha256 } from "../../lib/ids.js";
import { WRITE_ROLES, type AccessService } from "../access/access.service.js";
import type { RunsService } from "../runs/runs.service.js";
import type { JobQueuePort, QueueJobState } from "./job-queue.js";
import { createJobsRepo, toJob, toJobWorker, type JobRow, type JobSpec } from "./jobs.repo.js";

type Deps = {
  db: Pick<Db, "prisma">;
  env: Pick<Env, "JOB_WORKER_TIMEOUT_SECONDS">;
  clock: Clock;
  access: AccessService;
  runs: Pick<RunsService, "setStatus">;
  queue: JobQueuePort | undefined;
};

/** A job whose queue entry is missing this long after creation was lost (not merely not yet enqueued). */
const MISSING_GRACE_MS = 30_000;

export function summarizeData(data: JobData): JobDataSummary {
  if (data.kind === "synthetic") return { kind: "synthetic", trainSamples: data.trainSamples, testSamples: data.testSamples, seed: data.seed };
  const file = (f: NonNullable<typeof data.test>) =>
    f.kind === "path" ? { kind: "path" as const, path: f.path } : { kind: "upload" as const, filename: f.filename, bytes: Buffer.byteLength(f.content) };
  return { kind: "files", train: file(data.train), test: data.test ? file(data.test) : null };
}

type RowState = Pick<JobRow, "status" | "createdAt" | "cancelRequestedAt" | "startedAt" | "totalSteps">;

/** The row update that brings a non-terminal job row in line with its queue state (undefined: nothing to do). */
export function transition(row: RowState, q: QueueJobState, now: Date): Prisma.FineTuneJobUncheckedUpdateInput | undefined {
  const fromProgress = q.progress
    ? {
        runId: q.progress.runId,
        step: q.progress.step,
        totalSteps: q.progress.totalSteps,
        etaSeconds: q.progress.etaSeconds,
        workerId: q.progress.workerId,
        progress: q.progress.totalSteps ? Math.min(1, q.progress.step / q.progress.totalSteps) : 0,
      }
    : {};
  switch (q.state) {
    case "queued":
      return row.status === "queued" ? undefined : { status: "queued" };
    case "active":
      return { status: "running", startedAt: row.startedAt ?? now, ...fromProgress };
    case "completed": {
      const cancelled = q.result?.outcome === "cancelled";
      return {
        ...fromProgress,
        status: cancelled ? "cancelled" : "succeeded",
        finishedAt: now,
        etaSeconds: null,
        ...(q.result?.runId ? { runId: q.result.runId } : {}),
        ...(cancelled ? {} : { progress: 1, ...(row.totalSteps || q.progress?.totalSteps ? { step: q.progress?.totalSteps ?? row.totalSteps ?? 0 } : {}) }),
      };
    }
    case "failed":
      return { ...fromProgress, status: "failed", finishedAt: now, etaSeconds: null, error: (q.failedReason ?? "failed").slice(0, 20_000) };
    case "missing":
      if (now.getTime() - row.createdAt.getTime() < MISSING_GRACE_MS) return undefined;
      return row.cancelRequestedAt
        ? { status: "cancelled", finishedAt: now, etaSeconds: null }
        : { status: "failed", finishedAt: now, etaSeconds: null, error: "the job is no longer in the queue (removed, or the queue was reset)" };
  }
}

export function createJobsService(deps: Deps) {
  const { prisma } = deps.db;
  const repo = createJobsRepo(deps.db);
  const requireQueue = () => {
    if (!deps.queue) throw Conflict("the job queue is not configured on this server");
    return deps.queue;
  };
  const workerCutoff = () => new Date(deps.clock.now().getTime() - deps.env.JOB_WORKER_TIMEOUT_SECONDS * 1000);

  async function present(rows: JobRow[]): Promise<Job[]> {
    const names = await repo.usernames(rows.map((r) => r.createdById));
    return rows.map((r) => toJob(r, names.get(r.createdById) ?? "unknown"));
  }
  const one = async (row: JobRow) => (await present([row]))[0]!;

  async function onlineWorkers() {
    return (await repo.workers(workerCutoff())).map((w) => toJobWorker(w, true));
  }

  async function options(): Promise<JobOptionsResponse> {
    const workers = await onlineWorkers();
    const local = [...new Set(workers.flatMap((w) => w.models))].sort();
    return {
      models: [
        ...InitRandomConfig.options.map((config) => ({ model: { kind: "init-random" as const, config, seed: 1 }, label: `init-random: ${config} (random weights, demo)` })),
        ...local.map((name) => ({ model: { kind: "local" as const, name }, label: name })),
      ],
      workers,
      defaults: DEFAULT_HYPERPARAMETERS,
    };
  }

  async function validate(body: CreateJobBody) {
    const workers = await onlineWorkers();
    if (body.model.kind === "local") {
      const name = body.model.name;
      const have = [...new Set(workers.flatMap((w) => w.models))];
      if (!have.includes(name)) {
        throw BadRequest(`model '${name}' is not in the models folder of any online worker (${have.length ? `they have: ${have.join(", ")}` : "no worker reports any model"})`, "model.name");
      }
    }
    if (body.device === "cuda" && !workers.some((w) => w.gpus.length > 0)) {
      throw BadRequest("device 'cuda': no online worker has a GPU; choose 'cpu' or start a worker on a GPU machine", "device");
    }
    const h = body.hyperparameters;
    if (body.data.kind === "files" && body.data.train.kind === "path" && !/\.(jsonl|qld)$/i.test(body.data.train.path)) {
      throw BadRequest(`data.train.path '${body.data.train.path}': expected a .jsonl or .qld file`, "data.train.path");
    }
    if (h.loraAlpha <= 0) throw BadRequest("hyperparameters.loraAlpha must be positive", "hyperparameters.loraAlpha");
  }

  async function create(actor: UserActor, body: CreateJobBody): Promise<Job> {
    const wsName = body.workspace ?? actor.username;
    const { workspace, role } = await deps.access.workspaceForMember(actor, wsName);
    if (!WRITE_ROLES.has(role)) throw Forbidden(`role '${role}' cannot start jobs in workspace '${wsName}'`);
    await validate(body);
    const queue = requireQueue();
    const id = newUuid();
    const key = newApiKey();
    const now = deps.clock.now();
    const spec: JobSpec = { model: body.model, data: summarizeData(body.data), hyperparameters: body.hyperparameters, ...(body.description ? { description: body.description } : {}) };
    const row = await prisma.$transaction(async (tx) => {
      const project = await tx.project.upsert({
        where: { workspaceId_name: { workspaceId: workspace.id, name: body.project } },
        create: { id: newUuid(), workspaceId: workspace.id, name: body.project },
        update: {},
      });
      const apiKey = await tx.apiKey.create({ data: { id: newUuid(), userId: actor.userId, name: `fine-tune job ${id.slice(0, 8)}`, prefix: key.slice(0, 4), keyHash: sha256(key) } });
      return repo.create({ id, projectId: project.id, createdById: actor.userId, runName: body.runName, device: body.device, spec: spec as object, apiKeyId: apiKey.id, createdAt: now }, tx);
    });
    // Enqueue after commit: the worker may look the job up at once.
    const data: LoraJobData = {
      jobId: id, apiKey: key, workspace: wsName, project: body.project, runName: body.runName,
      ...(body.description ? { description: body.description } : {}),
      model: body.model, data: body.data, hyperparameters: body.hyperparameters, device: body.device,
    };
    try {
      await queue.enqueue(data);
    } catch (err) {
      await finish(row, { status: "failed", finishedAt: deps.clock.now(), error: `could not enqueue: ${(err as Error).message}` });
      throw err;
    }
    return one(row);
  }

  async function visible(actor: Actor, id: string, need: "read" | "write") {
    const row = await repo.byId(id);
    if (!row) throw NotFound(`job '${id}' not found`);
    await deps.access.projectById(actor, row.projectId, need).catch((e: { statusCode?: number }) => {
      throw e.statusCode === 404 ? NotFound(`job '${id}' not found`) : e;
    });
    return row;
  }

  async function get(actor: Actor, id: string): Promise<Job> {
    return one(await visible(actor, id, "read"));
  }

  async function list(actor: UserActor, q: ListJobsQuery) {
    const where: Prisma.FineTuneJobWhereInput = { ...(q.status ? { status: q.status } : {}) };
    if (q.project) {
      const access = await deps.access.projectFor(actor, q.workspace ?? actor.username, q.project, "read");
      where.projectId = access.project.id;
    } else {
      where.project = { workspace: { ...(q.workspace ? { name: q.workspace } : {}), members: { some: { userId: actor.userId } } } };
    }
    const rows = await repo.list(where, q.limit, q.cursor);
    const page = rows.slice(0, q.limit);
    return { jobs: await present(page), nextCursor: rows.length > q.limit ? page[page.length - 1]!.id : null };
  }

  async function cancel(actor: Actor, id: string): Promise<Job> {
    const row = await visible(actor, id, "write");
    if (row.status !== "queued" && row.status !== "running") throw Conflict(`job '${id}' is already ${row.status}`);
    const queue = requireQueue();
    await repo.update(id, { cancelRequestedAt: row.cancelRequestedAt ?? deps.clock.now() });
    if (await queue.removeWaiting(id, row.device === "cuda" ? "cuda" : "cpu")) {
      await finish(row, { status: "cancelled", finishedAt: deps.clock.now(), etaSeconds: null });
    } else {
      await queue.requestCancel(id); // the worker sends SIGTERM to the trainer, ends the run aborted
    }
    return one((await repo.byId(id))!);
  }

  /** Applies a terminal or progress update; on a terminal one, revokes the job's key and ends a run left running. */
  async function finish(row: JobRow, patch: Prisma.FineTuneJobUncheckedUpdateInput): Promise<boolean> {
    if (!(await repo.updateIfOpen(row.id, patch))) return false;
    const status = patch.status as JobStatus | undefined;
    if (status && status !== "queued" && status !== "running") {
      if (row.apiKeyId) await prisma.apiKey.updateMany({ where: { id: row.apiKeyId, revokedAt: null }, data: { revokedAt: deps.clock.now() } });
      const runId = (patch.runId as string | null | undefined) ?? row.runId;
      if (runId && status !== "succeeded") {
        const run = await prisma.run.findUnique({ where: { id: runId }, select: { status: true } });
        if (run?.status === "running") await deps.runs.setStatus(runId, status === "cancelled" ? "aborted" : "crashed");
      }
    }
    return true;
  }

  /** Brings one job row in line with its queue state. */
  async function sync(id: string): Promise<void> {
    const row = await repo.byId(id);
    if (!row || (row.status !== "queued" && row.status !== "running") || !deps.queue) return;
    const q = await deps.queue.inspect(id, row.device === "cuda" ? "cuda" : "cpu");
    const now = deps.clock.now();
    let patch = transition(row, q, now);
    if (q.state === "active" && row.workerId) {
      const worker = await repo.worker(row.workerId);
      if (worker && worker.lastHeartbeatAt < workerCutoff()) {
        patch = {
          status: "failed", finishedAt: now, etaSeconds: null,
          error: `worker '${row.workerId}' stopped sending heartbeats (last at ${worker.lastHeartbeatAt.toISOString()})`,
        };
      }
    }
    if (patch) await finish(row, patch);
  }

  async function sweep(): Promise<number> {
    const rows = await repo.open();
    for (const r of rows) await sync(r.id);
    return rows.length;
  }

  async function heartbeat(hb: WorkerHeartbeat): Promise<void> {
    await repo.upsertWorker(hb, deps.clock.now());
  }

  return { create, get, list, cancel, options, sync, sweep, heartbeat };
}
export type JobsService = ReturnType<typeof createJobsService>;
