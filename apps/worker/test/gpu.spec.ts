// On a GPU machine (GPU_TESTS=1, nvidia-smi, trainer built with CUDA): the worker reports its GPUs, a
// job with device "cuda" runs on one (CUDA_VISIBLE_DEVICES) through the real queue, server and SDK.
// Run by scripts/gpu-check.sh; skipped elsewhere.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REAL_TRAINER, startStack, type Stack } from "./stack.js";

const enabled = process.env.GPU_TESTS === "1" && fs.existsSync(REAL_TRAINER);

describe.skipIf(!enabled)("a job on the GPU", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack("postgres", { trainer: REAL_TRAINER, gpu: true });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("reports the GPUs and trains with --device cuda", async () => {
    expect(s.worker!.gpus.length).toBeGreaterThan(0);
    const opts = await s.api("GET", "/jobs/options");
    expect(opts.body.workers[0].gpus[0].name).toMatch(/NVIDIA|H100|H200/);
    const created = await s.api("POST", "/jobs", {
      project: "gpu", runName: "tiny-cuda", device: "cuda", model: { kind: "init-random", config: "tiny" },
      data: { kind: "synthetic", trainSamples: 320, testSamples: 16, seed: 1, sentences: [1, 2] },
      hyperparameters: { learningRate: 0.01, epochs: 1, microBatch: 8, gradientAccumulation: 1, maxLength: 128, seed: 1 },
    });
    expect(created.status).toBe(201);
    const job = await s.waitJob(created.body.job.id, (j) => j.status === "succeeded" || j.status === "failed", 300_000);
    console.log(`gpu.spec: job ${job.status}${job.error ? `: ${job.error}` : ""}`);
    expect(job.error).toBeNull();
    expect(job.status).toBe("succeeded");
    const { body } = await s.api("GET", `/runs/${job.runId}`);
    expect(body.run.config.trainer.device).toMatch(/cuda/i);
    expect(body.run.config.job.gpu).toBe(0);
    console.log(`gpu.spec: accuracy ${body.run.summary.accuracy}, final loss ${body.run.summary.final_loss}, device ${body.run.config.trainer.device}`);
    expect(fs.existsSync(path.join(body.run.summary.adapter_path as string, "adapter_model.safetensors"))).toBe(true);
  }, 360_000);
});
