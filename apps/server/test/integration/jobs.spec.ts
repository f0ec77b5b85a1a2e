// /api/v1/jobs against a real database with a fake queue (the real BullMQ path is tested in
// apps/worker): enqueue payload and per-job key, access, list, cancel, queue → row sync, lost workers.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { createDb, type Db } from "@swanhouse/db";
import { createTestDatabase } from "@swanhouse/testkit";
import type { JobDevice, LoraJobData, WorkerHeartbeat } from "@swanhouse/contracts";
import { buildApp } from "../../src/app.js";
import { parseEnv } from "../../src/env.js";
import type { JobQueuePort, QueueJobState } from "../../src/modules/jobs/job-queue.js";
import { call, createUser, type TestUser } from "./harness.js";

function fakeQueue() {
  const jobs = new Map<string, { data: LoraJobData; state: QueueJobState }>();
  const cancels: string[] = [];
  let handlers: Parameters<JobQueuePort["listen"]>[0] | undefined;
  const port: JobQueuePort = {
    backend: "postgres",
    enqueue: async (data) => void jobs.set(data.jobId, { data, state: { state: "queued" } }),
    inspect: async (id: string, _d: JobDevice) => jobs.get(id)?.state ?? { state: "missing" },
    removeWaiting: async (id) => {
      const j = jobs.get(id);
      if (j?.state.state !== "queued") return false;
      jobs.delete(id);
      return true;
    },
    requestCancel: async (id) => void cancels.push(id),
    listen: async (h) => void (handlers = h),
    close: async () => {},
  };
  return { port, jobs, cancels, heartbeat: (hb: WorkerHeartbeat) => handlers!.onHeartbeat(hb) };
}

const body = (extra: Record<string, unknown> = {}) => ({
  project: "ft", runName: "r1", model: { kind: "init-random" }, data: { kind: "synthetic", trainSamples: 10, testSamples: 2 }, ...extra,
});
const hb = (workerId: string, extra: Partial<WorkerHeartbeat> = {}): WorkerHeartbeat => ({
  workerId, hostname: "gpu-box", startedAt: new Date().toISOString(), cpus: 16, memoryBytes: 1, gpus: [], models: [], activeJobs: [], trainerVersion: "qwen3-lora", ...extra,
});

describe("jobs API", () => {
  let app: FastifyInstance;
  let db: Db;
  let drop: () => Promise<void>;
  let q: ReturnType<typeof fakeQueue>;
  let alice: TestUser;
  let bob: TestUser;
  let now = Date.now();

  beforeAll(async () => {
    const database = await createTestDatabase(inject("pgAdminUrl"), inject("pgTemplate"));
    drop = database.drop;
    const env = parseEnv({ NODE_ENV: "test", LOG_LEVEL: "silent", DATABASE_URL: database.url, JOB_WORKER_TIMEOUT_SECONDS: "30" } as NodeJS.ProcessEnv);
    db = createDb(database.url);
    q = fakeQueue();
    app = await buildApp({ env, db, jobQueue: q.port, clock: { now: () => new Date(now) } });
    await app.ready();
    await app.jobsRuntime.start();
    alice = await createUser(app);
    bob = await createUser(app);
  });
  afterAll(async () => {
    await app.close();
    await db.close();
    await drop();
  });

  it("validates, enqueues with a job key, and hides the job from other users", async () => {
    const res = await call(app, "POST", "/api/v1/jobs", { as: alice, body: body() });
    expect(res.status).toBe(201);
    const job = res.body.job;
    expect(job).toMatchObject({ status: "queued", workspace: alice.username, project: "ft", runId: null, createdBy: alice.username, progress: 0 });
    const queued = q.jobs.get(job.id)!.data;
    expect(queued).toMatchObject({ jobId: job.id, workspace: alice.username, project: "ft", device: "cpu", hyperparameters: { loraR: 8, learningRate: 1e-4 } });
    // The job key works as alice's key until the job ends.
    expect((await call(app, "GET", "/api/v1/auth/me", { headers: { authorization: `Bearer ${queued.apiKey}` } })).body.user.username).toBe(alice.username);
    expect((await call(app, "GET", `/api/v1/jobs/${job.id}`, { as: bob })).status).toBe(404);
    expect((await call(app, "POST", `/api/v1/jobs/${job.id}/cancel`, { as: bob })).status).toBe(404);
    expect((await call(app, "GET", "/api/v1/jobs", { as: bob })).body.jobs).toEqual([]);
    expect((await call(app, "POST", "/api/v1/jobs", { as: bob, body: body({ workspace: alice.username }) })).status).toBe(404);
    expect((await call(app, "POST", "/api/v1/jobs", { body: body() })).status).toBe(401);
  });

  it("follows the queue: running with progress, then succeeded; the job key is revoked", async () => {
    const { body: { job } } = await call(app, "POST", "/api/v1/jobs", { as: alice, body: body({ runName: "r2" }) });
    const entry = q.jobs.get(job.id)!;
    entry.state = { state: "active", progress: { phase: "training", runId: "run-x", step: 5, totalSteps: 20, etaSeconds: 45, workerId: "w1" } };
    await app.services.jobs.sync(job.id);
    let got = (await call(app, "GET", `/api/v1/jobs/${job.id}`, { as: alice })).body.job;
    expect(got).toMatchObject({ status: "running", runId: "run-x", step: 5, totalSteps: 20, progress: 0.25, etaSeconds: 45, workerId: "w1" });
    entry.state = { state: "completed", result: { outcome: "succeeded", runId: "run-x", adapterPath: "/a", accuracy: 1, finalLoss: 0.1 } };
    await app.services.jobs.sweep();
    got = (await call(app, "GET", `/api/v1/jobs/${job.id}`, { as: alice })).body.job;
    expect(got).toMatchObject({ status: "succeeded", progress: 1, etaSeconds: null });
    expect(got.finishedAt).not.toBeNull();
    expect((await call(app, "GET", "/api/v1/auth/me", { headers: { authorization: `Bearer ${entry.data.apiKey}` } })).status).toBe(401);
  });

  it("cancels: a queued job at once, a running one through the worker", async () => {
    const a = (await call(app, "POST", "/api/v1/jobs", { as: alice, body: body({ runName: "c1" }) })).body.job;
    const res = await call(app, "POST", `/api/v1/jobs/${a.id}/cancel`, { as: alice });
    expect(res.body.job).toMatchObject({ status: "cancelled", cancelRequested: true });
    expect((await call(app, "POST", `/api/v1/jobs/${a.id}/cancel`, { as: alice })).status).toBe(409);

    const b = (await call(app, "POST", "/api/v1/jobs", { as: alice, body: body({ runName: "c2" }) })).body.job;
    q.jobs.get(b.id)!.state = { state: "active" };
    await app.services.jobs.sync(b.id);
    const running = await call(app, "POST", `/api/v1/jobs/${b.id}/cancel`, { as: alice });
    expect(running.body.job).toMatchObject({ status: "running", cancelRequested: true });
    expect(q.cancels).toContain(b.id);
  });

  it("lists models from online workers, validates against them, and fails jobs of a silent worker", async () => {
    q.heartbeat(hb("gpu-1", { models: ["Qwen3-1.7B"], gpus: [{ index: 0, name: "NVIDIA H100", memoryMiB: 81559 }] }));
    await new Promise((r) => setTimeout(r, 200));
    const opts = (await call(app, "GET", "/api/v1/jobs/options", { as: alice })).body;
    expect(opts.models.map((m: { label: string }) => m.label)).toContain("Qwen3-1.7B");
    expect(opts.workers).toHaveLength(1);
    const ok = await call(app, "POST", "/api/v1/jobs", { as: alice, body: body({ runName: "g1", device: "cuda", model: { kind: "local", name: "Qwen3-1.7B" } }) });
    expect(ok.status).toBe(201);
    const missing = await call(app, "POST", "/api/v1/jobs", { as: alice, body: body({ model: { kind: "local", name: "Llama" } }) });
    expect(missing.body.error).toMatchObject({ field: "model.name", message: expect.stringContaining("they have: Qwen3-1.7B") });

    const id = ok.body.job.id as string;
    q.jobs.get(id)!.state = { state: "active", progress: { phase: "training", runId: null, step: 1, totalSteps: 9, etaSeconds: null, workerId: "gpu-1" } };
    await app.services.jobs.sync(id);
    now += 31_000; // the worker's last heartbeat is now older than JOB_WORKER_TIMEOUT_SECONDS
    await app.services.jobs.sync(id);
    const failed = (await call(app, "GET", `/api/v1/jobs/${id}`, { as: alice })).body.job;
    expect(failed.status).toBe("failed");
    expect(failed.error).toContain("worker 'gpu-1' stopped sending heartbeats");
    const cuda = await call(app, "POST", "/api/v1/jobs", { as: alice, body: body({ device: "cuda" }) });
    expect(cuda.body.error.field).toBe("device");
  });
});
