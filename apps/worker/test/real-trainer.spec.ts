// The worker with the real native trainer (packages/trainer/build/qwen3-lora, CPU): an init-random tiny
// Qwen3 on the synthetic set, through the real queue (PostgreSQL backend), server and SDK. Skipped,
// saying why, when the trainer is not built.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REAL_TRAINER, startStack, type Stack } from "./stack.js";

const built = fs.existsSync(REAL_TRAINER);
if (!built) console.warn(`real-trainer.spec: skipped, ${REAL_TRAINER} is not built (bash packages/trainer/scripts/build-native.sh)`);

describe.skipIf(!built)("a job on the real CPU trainer", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack("postgres", { trainer: REAL_TRAINER });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("trains, predicts and saves a PEFT adapter", async () => {
    const created = await s.api("POST", "/jobs", {
      project: "real", runName: "tiny", model: { kind: "init-random", config: "tiny" },
      data: { kind: "synthetic", trainSamples: 160, testSamples: 16, seed: 1, sentences: [1, 2] },
      hyperparameters: { learningRate: 0.01, epochs: 1, microBatch: 8, gradientAccumulation: 1, maxLength: 128, seed: 1 },
    });
    expect(created.status).toBe(201);
    const job = await s.waitJob(created.body.job.id, (j) => j.status === "succeeded" || j.status === "failed", 240_000);
    expect(job.error).toBeNull();
    expect(job).toMatchObject({ status: "succeeded", step: 20, totalSteps: 20, progress: 1 });
    const { body } = await s.api("GET", `/runs/${job.runId}`);
    const metrics = Object.fromEntries((body.metrics as Array<{ key: string; count: number; lastStep: number }>).map((m) => [m.key, m]));
    expect(metrics["train/loss"]).toMatchObject({ count: 20, lastStep: 20 });
    expect(metrics["Prediction"]).toMatchObject({ count: 16 });
    expect(metrics["eval/accuracy"]).toBeTruthy();
    expect(body.run.config).toMatchObject({ model_config: { model_type: "qwen3" }, trainer: { lora_r: 8 } });
    const adapter = body.run.summary.adapter_path as string;
    expect(fs.existsSync(path.join(adapter, "adapter_model.safetensors"))).toBe(true);
    expect(fs.existsSync(path.join(adapter, "adapter_config.json"))).toBe(true);
  }, 300_000);
});
