// The real BullMQ path on both backends: POST /jobs → queue → worker → fake trainer → SDK → server.
// Success (metrics at global steps, Prediction texts, accuracy, summary, config), the crash path
// (trainer error → run crashed with the stderr tail, job failed), cancel (SIGTERM → run aborted, job
// cancelled), a queued job cancelled before any worker takes it, a worker killed mid-job.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobBody, startStack, type Backend, type Stack } from "./stack.js";

for (const backend of ["postgres", "redis"] as Backend[]) {
  describe(`jobs on ${backend}`, () => {
    let s: Stack;
    beforeAll(async () => {
      s = await startStack(backend);
    });
    afterAll(async () => {
      await s?.close();
    });

    it("runs a job to success and reports it like the Hugging Face callback", async () => {
      const created = await s.api("POST", "/jobs", jobBody("ok-run", 1));
      expect(created.status).toBe(201);
      const id = created.body.job.id as string;
      expect(created.body.job).toMatchObject({ status: "queued", runName: "ok-run", project: "finetune", workspace: s.username, device: "cpu" });
      expect(created.body.job.hyperparameters).toMatchObject({ loraR: 8, loraAlpha: 32, seed: 1, maxLength: 64 });

      const job = await s.waitJob(id, (j) => j.status === "succeeded");
      expect(job).toMatchObject({ progress: 1, step: 5, totalSteps: 5, error: null, etaSeconds: null });
      expect(job.workerId).toBe(s.worker!.id);
      const runId = job.runId!;
      const { body } = await s.api("GET", `/runs/${runId}`);
      expect(body.run).toMatchObject({ status: "finished", name: "ok-run", project: "finetune" });
      expect(body.run.config).toMatchObject({ learningRate: 0.01, loraR: 8, model: { kind: "init-random", config: "tiny" }, model_config: { model_type: "qwen3", hidden_size: 64 }, trainer: { lr: 0.01 } });
      expect(body.run.summary.adapter_path).toMatch(/out\/adapter$/);
      expect(body.run.summary.accuracy).toBeCloseTo(2 / 3);
      expect(body.run.metadata).toBeTruthy();
      const keys = Object.fromEntries((body.metrics as Array<{ key: string; lastStep: number; count: number; kind: string }>).map((m) => [m.key, m]));
      for (const k of ["train/loss", "train/grad_norm", "train/learning_rate", "train/epoch", "train/global_step"]) {
        expect(keys[k]).toMatchObject({ lastStep: 5, count: 5 });
      }
      expect(keys["Prediction"]).toMatchObject({ kind: "text", count: 3 });
      expect(keys["eval/accuracy"]).toMatchObject({ lastStep: 5 });

      // The job's own API key is revoked once it ended.
      const keysList = await s.api("GET", "/api-keys");
      expect(keysList.body.apiKeys.map((k: { name: string }) => k.name)).not.toContain(`fine-tune job ${id.slice(0, 8)}`);
      const list = await s.api("GET", "/jobs?project=finetune");
      expect(list.body.jobs.map((j: { id: string }) => j.id)).toContain(id);
    });

    it("fails the job and crashes the run with the error and the last stderr lines", async () => {
      const created = await s.api("POST", "/jobs", jobBody("bad-run", 2));
      const job = await s.waitJob(created.body.job.id, (j) => j.status === "failed");
      expect(job.error).toContain("trainer error: gradient norm is not finite at step 2 (exited with code 1)");
      expect(job.error).toContain("[qwen3-lora] about to fail");
      const { body } = await s.api("GET", `/runs/${job.runId}`);
      expect(body.run.status).toBe("crashed");
      const logs = await s.api("GET", `/runs/${job.runId}/logs?limit=500`);
      const lines = JSON.stringify(logs.body);
      expect(lines).toContain("gradient norm is not finite at step 2");
      expect(lines).toContain("about to fail");
    });

    it("cancels a running job: SIGTERM to the trainer, run aborted, job cancelled", async () => {
      const created = await s.api("POST", "/jobs", jobBody("slow-run", 4));
      const id = created.body.job.id as string;
      const running = await s.waitJob(id, (j) => j.status === "running" && j.step >= 2);
      expect(running.runId).toBeTruthy();
      expect(running.totalSteps).toBe(5);
      const res = await s.api("POST", `/jobs/${id}/cancel`);
      expect(res.status).toBe(200);
      expect(res.body.job.cancelRequested).toBe(true);
      const job = await s.waitJob(id, (j) => j.status === "cancelled");
      const { body } = await s.api("GET", `/runs/${job.runId}`);
      expect(body.run.status).toBe("aborted");
      expect((await s.api("POST", `/jobs/${id}/cancel`)).status).toBe(409);
    });

    it("validates: unknown model, no GPU, bad path, bad hyperparameters", async () => {
      const noModel = await s.api("POST", "/jobs", jobBody("x", 1, { model: { kind: "local", name: "Qwen3-1.7B" } }));
      expect(noModel.status).toBe(400);
      expect(noModel.body.error).toMatchObject({ field: "model.name" });
      expect(noModel.body.error.message).toContain("model 'Qwen3-1.7B' is not in the models folder of any online worker");
      const gpu = await s.api("POST", "/jobs", jobBody("x", 1, { device: "cuda" }));
      expect(gpu.status).toBe(400);
      expect(gpu.body.error.field).toBe("device");
      const rel = await s.api("POST", "/jobs", jobBody("x", 1, { data: { kind: "files", train: { kind: "path", path: "data/train.jsonl" } } }));
      expect(rel.status).toBe(400);
      expect(rel.body.error.field).toBe("body.data.train.path");
      const lr = await s.api("POST", "/jobs", { ...jobBody("x", 1), hyperparameters: { learningRate: -1 } });
      expect(lr.status).toBe(400);
      expect(lr.body.error.field).toBe("body.hyperparameters.learningRate");
      const opts = await s.api("GET", "/jobs/options");
      expect(opts.body.workers.map((w: { workerId: string }) => w.workerId)).toContain(s.worker!.id);
      expect(opts.body.defaults).toMatchObject({ learningRate: 1e-4, epochs: 2, microBatch: 4, gradientAccumulation: 4, loraR: 8, loraAlpha: 32, loraDropout: 0.1, maxLength: 384 });
    });

    it("runs an uploaded task JSONL", async () => {
      const rows = Array.from({ length: 8 }, (_, i) => JSON.stringify({ text: `比赛 足球 ${i}`, category: ["Sports", "Law"], output: "Sports" })).join("\n");
      const created = await s.api("POST", "/jobs", jobBody("upload-run", 1, { data: { kind: "files", train: { kind: "upload", filename: "train.jsonl", content: rows }, test: { kind: "upload", filename: "test.jsonl", content: rows } } }));
      expect(created.status).toBe(201);
      expect(created.body.job.data).toEqual({ kind: "files", train: { kind: "upload", filename: "train.jsonl", bytes: Buffer.byteLength(rows) }, test: { kind: "upload", filename: "test.jsonl", bytes: Buffer.byteLength(rows) } });
      await s.waitJob(created.body.job.id, (j) => j.status === "succeeded");
      const bad = await s.api("POST", "/jobs", jobBody("bad-upload", 1, { data: { kind: "files", train: { kind: "upload", filename: "t.jsonl", content: "{\"text\": 1}" } } }));
      const failed = await s.waitJob(bad.body.job.id, (j) => j.status === "failed");
      expect(failed.error).toContain('data.train: t.jsonl:1: "text" must be a string');
    });
  });

  describe(`jobs on ${backend} without a running worker`, () => {
    let s: Stack;
    beforeAll(async () => {
      s = await startStack(backend, { inProcessWorker: false, serverEnv: { JOB_WORKER_TIMEOUT_SECONDS: "4" } });
    });
    afterAll(async () => {
      await s?.close();
    });

    it("cancels a queued job at once", async () => {
      const created = await s.api("POST", "/jobs", jobBody("never-run", 1));
      const res = await s.api("POST", `/jobs/${created.body.job.id}/cancel`);
      expect(res.body.job.status).toBe("cancelled");
      expect(res.body.job.runId).toBeNull();
    });

    it("fails the job and crashes the run when its worker is killed mid-job", async () => {
      const child = await s.startChildWorker();
      // Pre-tokenized JSONL goes to the trainer as is: no tokenizer load in the child.
      const file = path.join(s.workerEnv.SWANHOUSE_WORK_DIR, "pretokenized.jsonl");
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, JSON.stringify({ input_ids: [1, 2, 3], labels: [-100, 2, 3] }) + "\n");
      const created = await s.api("POST", "/jobs", jobBody("killed-run", 4, { data: { kind: "files", train: { kind: "path", path: file } } }));
      const id = created.body.job.id as string;
      const running = await s.waitJob(id, (j) => j.status === "running" && j.step >= 2);
      child.kill("SIGKILL");
      const job = await s.waitJob(id, (j) => j.status === "failed", 60_000);
      expect(job.error).toMatch(/stopped sending heartbeats|stalled/);
      const { body } = await s.api("GET", `/runs/${running.runId}`);
      expect(body.run.status).toBe("crashed");
    });
  });
}
