// Worker environment → typed config. REDIS_URL selects the Redis queue, else DATABASE_URL (the server's
// database) carries BullMQ's PostgreSQL backend. SWANHOUSE_HOST is where the SDK reports runs.
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";

const repoTrainer = fileURLToPath(new URL("../../../packages/trainer/build/qwen3-lora", import.meta.url));

export const WorkerEnvSchema = z.object({
  REDIS_URL: z.string().optional(),
  DATABASE_URL: z.string().optional(),
  /** The server the runs are logged to (the SDK's host). */
  SWANHOUSE_HOST: z.string().url().default("http://127.0.0.1:8000"),
  /** Each sub-folder with a config.json is a model the form offers. */
  SWANHOUSE_MODELS_DIR: z.string().default(path.join(os.homedir(), ".swanhouse", "models")),
  /** Per-job folders (data, model, adapter, SDK spool). */
  SWANHOUSE_WORK_DIR: z.string().default(path.join(os.homedir(), ".swanhouse", "jobs")),
  TRAINER_BIN: z.string().default(repoTrainer),
  WORKER_ID: z.string().max(200).optional(),
  /** Redis key prefix of the queues (default BullMQ's "bull"); lets tests share one Redis. */
  BULLMQ_PREFIX: z.string().max(100).optional(),
  /** CPU threads per CPU job (the trainer's --threads). */
  WORKER_CPU_THREADS: z.coerce.number().int().min(1).default(Math.max(1, os.availableParallelism?.() ?? os.cpus().length)),
  WORKER_HEARTBEAT_SECONDS: z.coerce.number().min(0.2).default(5),
  /** Skip nvidia-smi (CPU-only worker even on a GPU machine). */
  WORKER_NO_GPU: z.enum(["1", "0", "true", "false", ""]).default("").transform((v) => v === "1" || v === "true"),
});
export type WorkerEnv = z.infer<typeof WorkerEnvSchema>;

export function parseWorkerEnv(source: NodeJS.ProcessEnv = process.env): WorkerEnv {
  const parsed = WorkerEnvSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`invalid worker environment:\n${lines.join("\n")}`);
  }
  return parsed.data;
}
