// A whole job stack in one test process: the server (buildApp on a fresh cloned database, real port,
// jobs runtime started), the worker (startWorker) on the same queue backend, and a user with an API key.
// The worker can also run as a child process (so a test can SIGKILL it).
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { inject } from "vitest";
import { createTestDatabase, redisUrl } from "@swanhouse/testkit";
import { createDb } from "@swanhouse/db";
import type { Job } from "@swanhouse/contracts";
import { buildApp } from "../../server/src/app.js";
import { parseEnv } from "../../server/src/env.js";
import { createJobQueue } from "../../server/src/modules/jobs/job-queue.js";
import { parseWorkerEnv, type WorkerEnv } from "../src/env.js";
import { startWorker, type StartedWorker } from "../src/worker.js";

export const WORKER_DIR = path.resolve(import.meta.dirname, "..");
export const FAKE_TRAINER = path.join(WORKER_DIR, "test/fixtures/fake-trainer.mjs");
export const REAL_TRAINER = path.resolve(WORKER_DIR, "../../packages/trainer/build/qwen3-lora");

export type Backend = "postgres" | "redis";
export type Stack = {
  url: string;
  key: string;
  username: string;
  workerEnv: WorkerEnv;
  worker: StartedWorker | undefined;
  api: <T = any>(method: string, p: string, body?: unknown) => Promise<{ status: number; body: T }>;
  waitJob: (id: string, pred: (j: Job) => boolean, ms?: number) => Promise<Job>;
  startChildWorker: () => Promise<ChildProcess>;
  close: () => Promise<void>;
};

export async function startStack(backend: Backend, opts: { trainer?: string; serverEnv?: Record<string, string>; inProcessWorker?: boolean; gpu?: boolean } = {}): Promise<Stack> {
  const database = await createTestDatabase(inject("pgAdminUrl"), inject("pgTemplate"));
  const prefix = `t${randomBytes(4).toString("hex")}`;
  const target = backend === "redis" ? { backend, url: redisUrl(), prefix } as const : { backend, url: database.url } as const;
  const env = parseEnv({ NODE_ENV: "test", LOG_LEVEL: "silent", DATABASE_URL: database.url, ...opts.serverEnv } as NodeJS.ProcessEnv);
  const db = createDb(database.url);
  const app = await buildApp({ env, db, jobQueue: createJobQueue(target) });
  await app.listen({ host: "127.0.0.1", port: 0 });
  await app.jobsRuntime.start();
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  const username = `w${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
  const reg = await fetch(`${url}/api/v1/auth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username, password: "correct horse battery" }) });
  const cookie = String(reg.headers.get("set-cookie")).split(";")[0]!;
  const keyRes = await fetch(`${url}/api/v1/api-keys`, { method: "POST", headers: { "content-type": "application/json", cookie }, body: JSON.stringify({ name: "worker test" }) });
  const key = ((await keyRes.json()) as { key: string }).key;

  const work = fs.mkdtempSync(path.join(os.tmpdir(), "worker-test-"));
  fs.mkdirSync(path.join(work, "models"));
  const workerEnv = parseWorkerEnv({
    ...(backend === "redis" ? { REDIS_URL: redisUrl(), BULLMQ_PREFIX: prefix } : { DATABASE_URL: database.url }),
    SWANHOUSE_HOST: url, SWANHOUSE_MODELS_DIR: path.join(work, "models"), SWANHOUSE_WORK_DIR: path.join(work, "jobs"),
    TRAINER_BIN: opts.trainer ?? FAKE_TRAINER, WORKER_ID: `test-${prefix}`, WORKER_CPU_THREADS: "2",
    WORKER_HEARTBEAT_SECONDS: "0.5", WORKER_NO_GPU: opts.gpu ? "0" : "1",
  } as NodeJS.ProcessEnv);
  const worker = opts.inProcessWorker === false ? undefined : await startWorker(workerEnv, { log: () => {} });
  const children: ChildProcess[] = [];

  const api: Stack["api"] = async (method, p, body) => {
    const res = await fetch(`${url}/api/v1${p}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const waitJob: Stack["waitJob"] = async (id, pred, ms = 60_000) => {
    const t0 = Date.now();
    for (;;) {
      const { body } = await api<{ job: Job }>("GET", `/jobs/${id}`);
      if (body.job && pred(body.job)) return body.job;
      if (Date.now() - t0 > ms) throw new Error(`job ${id} never got there; last: ${JSON.stringify(body.job)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const startChildWorker = async () => {
    const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", path.join(WORKER_DIR, "src/main.ts")], {
      cwd: WORKER_DIR,
      env: { ...process.env, ...(backend === "redis" ? { REDIS_URL: redisUrl(), BULLMQ_PREFIX: prefix } : { DATABASE_URL: database.url, REDIS_URL: "" }),
        SWANHOUSE_HOST: url, SWANHOUSE_MODELS_DIR: workerEnv.SWANHOUSE_MODELS_DIR, SWANHOUSE_WORK_DIR: workerEnv.SWANHOUSE_WORK_DIR,
        TRAINER_BIN: workerEnv.TRAINER_BIN, WORKER_ID: `child-${prefix}`, WORKER_HEARTBEAT_SECONDS: "0.5", WORKER_NO_GPU: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    const t0 = Date.now();
    while (!out.includes("worker child-")) {
      if (child.exitCode !== null) throw new Error(`worker exited: ${out}`);
      if (Date.now() - t0 > 30_000) throw new Error(`worker did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return child;
  };

  return {
    url, key, username, workerEnv, worker, api, waitJob, startChildWorker,
    close: async () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
      await worker?.close();
      await app.close();
      await db.close();
      await database.drop();
      fs.rmSync(work, { recursive: true, force: true });
    },
  };
}

/** The body of a small synthetic CPU job; `seed` drives the fake trainer's behaviour (see the fixture). */
export function jobBody(runName: string, seed: number, extra: Record<string, unknown> = {}) {
  return {
    project: "finetune", runName,
    model: { kind: "init-random", config: "tiny" },
    data: { kind: "synthetic", trainSamples: 20, testSamples: 3, seed: 1, sentences: [1, 1] },
    hyperparameters: { seed, maxLength: 64, epochs: 1, microBatch: 4, gradientAccumulation: 1, learningRate: 0.01 },
    device: "cpu",
    ...extra,
  };
}
