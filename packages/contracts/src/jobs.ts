// Fine-tune jobs: the REST shapes (create, list, get, cancel, form options), the BullMQ payloads the
// server enqueues and the worker consumes (LoraJobData, progress, result) and the worker heartbeat.
import { z } from "zod";
import { IsoDate, Name, PageQuery } from "./common.js";

export const JobStatus = z.enum(["queued", "running", "succeeded", "failed", "cancelled"]);
export type JobStatus = z.infer<typeof JobStatus>;
export const JobDevice = z.enum(["cpu", "cuda"]);
export type JobDevice = z.infer<typeof JobDevice>;

export const LoraTargetName = z.enum(["q", "k", "v", "o", "gate", "up", "down"]);
export const InitRandomConfig = z.enum(["tiny", "tiny_hd128"]);

/** The task recipe (issue 8) as defaults; every field maps to one `qwen3-lora train` flag or to data prep. */
export const Hyperparameters = z.object({
  learningRate: z.number().positive().max(1).default(1e-4),
  epochs: z.number().int().min(1).max(100).default(2),
  microBatch: z.number().int().min(1).max(256).default(4),
  gradientAccumulation: z.number().int().min(1).max(1024).default(4),
  loraR: z.number().int().min(1).max(256).default(8),
  loraAlpha: z.number().positive().max(4096).default(32),
  loraDropout: z.number().min(0).lt(1).default(0.1),
  targets: z.array(LoraTargetName).min(1).max(7).default(["q", "k", "v", "o", "gate", "up", "down"]),
  maxLength: z.number().int().min(16).max(32768).default(384),
  /** fit: shorten the text so prompt + answer fit; classic: cut the whole sequence from the right. */
  truncation: z.enum(["fit", "classic"]).default("fit"),
  schedule: z.enum(["linear", "constant"]).default("linear"),
  seed: z.number().int().min(0).max(2 ** 31).default(42),
  maxSteps: z.number().int().min(1).max(10_000_000).optional(),
  /** Test samples to predict after training (all when unset). */
  evalLimit: z.number().int().min(0).max(1_000_000).optional(),
  maxNewTokens: z.number().int().min(1).max(512).default(16),
  saveEvery: z.number().int().min(0).max(10_000_000).default(0),
  recompute: z.boolean().default(false),
});
export type Hyperparameters = z.infer<typeof Hyperparameters>;
export const DEFAULT_HYPERPARAMETERS: Hyperparameters = Hyperparameters.parse({});

/** A model folder the worker found in its models folder, or random weights made on the worker. */
export const JobModel = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("local"), name: z.string().trim().min(1).max(200).regex(/^[^/\\]+$/, "a folder name, not a path") }),
  z.object({ kind: z.literal("init-random"), config: InitRandomConfig.default("tiny"), seed: z.number().int().min(0).max(2 ** 31).default(1) }),
]);
export type JobModel = z.infer<typeof JobModel>;

export const MAX_UPLOAD_CHARS = 24 * 1024 * 1024;
/** Task JSONL (text, category, output) or pre-tokenized JSONL/.qld at an absolute path on the worker host, or uploaded. */
export const JobFile = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("path"), path: z.string().min(2).max(4096).regex(/^\//, "an absolute path on the worker host") }),
  z.object({ kind: z.literal("upload"), filename: z.string().trim().min(1).max(255), content: z.string().min(1).max(MAX_UPLOAD_CHARS) }),
]);
export type JobFile = z.infer<typeof JobFile>;

export const JobData = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("files"), train: JobFile, test: JobFile.optional() }),
  /** The seeded Fudan-like set of @swanhouse/trainer, made on the worker (demos, tests). */
  z.object({
    kind: z.literal("synthetic"),
    trainSamples: z.number().int().min(1).max(100_000).default(1600),
    testSamples: z.number().int().min(0).max(10_000).default(100),
    seed: z.number().int().min(0).max(2 ** 31).default(1),
    sentences: z.tuple([z.number().int().min(1).max(50), z.number().int().min(1).max(50)]).optional(),
  }),
]);
export type JobData = z.infer<typeof JobData>;

export const CreateJobBody = z.object({
  workspace: z.string().min(1).max(64).optional(),
  project: Name,
  runName: z.string().trim().min(1).max(200),
  description: z.string().max(2000).optional(),
  model: JobModel,
  data: JobData,
  hyperparameters: Hyperparameters.default(DEFAULT_HYPERPARAMETERS),
  device: JobDevice.default("cpu"),
});
export type CreateJobBody = z.infer<typeof CreateJobBody>;

/** What the API shows of a data file: never the uploaded content. */
export const JobFileSummary = z.union([
  z.object({ kind: z.literal("path"), path: z.string() }),
  z.object({ kind: z.literal("upload"), filename: z.string(), bytes: z.number().int() }),
]);
export const JobDataSummary = z.union([
  z.object({ kind: z.literal("files"), train: JobFileSummary, test: JobFileSummary.nullable() }),
  z.object({ kind: z.literal("synthetic"), trainSamples: z.number().int(), testSamples: z.number().int(), seed: z.number().int() }),
]);
export type JobDataSummary = z.infer<typeof JobDataSummary>;

export const Job = z.object({
  id: z.string(),
  projectId: z.string(),
  workspace: z.string(),
  project: z.string(),
  runName: z.string(),
  runId: z.string().nullable(),
  status: JobStatus,
  device: JobDevice,
  model: JobModel,
  data: JobDataSummary,
  hyperparameters: Hyperparameters,
  /** 0..1 of the training steps. */
  progress: z.number(),
  step: z.number().int(),
  totalSteps: z.number().int().nullable(),
  etaSeconds: z.number().int().nullable(),
  error: z.string().nullable(),
  workerId: z.string().nullable(),
  createdBy: z.string(),
  createdAt: IsoDate,
  startedAt: IsoDate.nullable(),
  finishedAt: IsoDate.nullable(),
  cancelRequested: z.boolean(),
});
export type Job = z.infer<typeof Job>;

export const JobParams = z.object({ id: z.uuid() });
export type JobParams = z.infer<typeof JobParams>;
export const JobResponse = z.object({ job: Job });
export type JobResponse = z.infer<typeof JobResponse>;
export const ListJobsQuery = PageQuery.extend({
  workspace: z.string().min(1).max(64).optional(),
  project: Name.optional(),
  status: JobStatus.optional(),
});
export type ListJobsQuery = z.infer<typeof ListJobsQuery>;
export const ListJobsResponse = z.object({ jobs: z.array(Job), nextCursor: z.string().nullable() });
export type ListJobsResponse = z.infer<typeof ListJobsResponse>;

// --- worker ↔ server (through the queue) -----------------------------------------------------------

export const GpuInfo = z.object({ index: z.number().int(), name: z.string(), memoryMiB: z.number().int() });
export type GpuInfo = z.infer<typeof GpuInfo>;
/** Published by each worker every few seconds on the control channel. */
export const WorkerHeartbeat = z.object({
  workerId: z.string().min(1).max(200),
  hostname: z.string().max(255),
  startedAt: IsoDate,
  cpus: z.number().int(),
  memoryBytes: z.number(),
  gpus: z.array(GpuInfo),
  /** Model folders (with config.json) found in the worker's models folder. */
  models: z.array(z.string().max(200)).max(1000),
  activeJobs: z.array(z.string()),
  trainerVersion: z.string().max(200).nullable(),
});
export type WorkerHeartbeat = z.infer<typeof WorkerHeartbeat>;

export const JobWorker = WorkerHeartbeat.extend({ lastHeartbeatAt: IsoDate, online: z.boolean() });
export type JobWorker = z.infer<typeof JobWorker>;
export const JobOptionsResponse = z.object({
  models: z.array(z.object({ model: JobModel, label: z.string() })),
  workers: z.array(JobWorker),
  defaults: Hyperparameters,
});
export type JobOptionsResponse = z.infer<typeof JobOptionsResponse>;

/** The BullMQ job payload. `apiKey` is a key minted for this job only, revoked when it ends. */
export const LoraJobData = z.object({
  jobId: z.string(),
  apiKey: z.string(),
  workspace: z.string(),
  project: z.string(),
  runName: z.string(),
  description: z.string().optional(),
  model: JobModel,
  data: JobData,
  hyperparameters: Hyperparameters,
  device: JobDevice,
});
export type LoraJobData = z.infer<typeof LoraJobData>;

export const LoraJobProgress = z.object({
  phase: z.enum(["preparing", "training", "evaluating"]),
  runId: z.string().nullable(),
  step: z.number().int(),
  totalSteps: z.number().int().nullable(),
  etaSeconds: z.number().int().nullable(),
  workerId: z.string(),
});
export type LoraJobProgress = z.infer<typeof LoraJobProgress>;

export const LoraJobResult = z.object({
  outcome: z.enum(["succeeded", "cancelled"]),
  runId: z.string().nullable(),
  adapterPath: z.string().nullable(),
  accuracy: z.number().nullable(),
  finalLoss: z.number().nullable(),
});
export type LoraJobResult = z.infer<typeof LoraJobResult>;
