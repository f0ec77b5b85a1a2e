// One fine-tune job: create the run (SDK), make or find the model, tokenize the data (.qld), run
// `qwen3-lora train`, report its events, and end the run: finished (job succeeded), aborted (cancelled:
// SIGTERM to the trainer) or crashed with the error and the last stderr lines (job failed).
import fs from "node:fs";
import path from "node:path";
import { init, type Run } from "@swanhouse/sdk";
import { decodeTableOf, encodeQld, encodeRows, loadTokenizer, makeSynthetic, parseTaskJsonl, type QwenTokenizer } from "@swanhouse/trainer";
import type { JobFile, LoraJobData, LoraJobProgress, LoraJobResult } from "@swanhouse/contracts";
import { createReporter } from "./reporter.js";
import { runTrainer, type TrainerExit } from "./trainer-process.js";

export type HandlerEnv = {
  host: string;
  modelsDir: string;
  workDir: string;
  trainerBin: string;
  cpuThreads: number;
  workerId: string;
};

export type JobContext = {
  data: LoraJobData;
  /** Set for GPU jobs: the GPU this job owns (CUDA_VISIBLE_DEVICES). */
  gpuIndex?: number;
  signal: AbortSignal;
  updateProgress: (p: LoraJobProgress) => Promise<void>;
  /** Hardware facts for the run's config (the SDK adds host metadata itself). */
  hardware: Record<string, unknown>;
};

/** The abort reason when the worker itself stops (as opposed to a cancel of the job). */
export const SHUTDOWN = "worker-shutdown";

/** A failure already reported on the run; the job fails with this message. */
export class JobFailure extends Error {
  override name = "JobFailure";
}

export async function runLoraJob(env: HandlerEnv, ctx: JobContext): Promise<LoraJobResult> {
  try {
    return await runJob(env, ctx);
  } finally {
    // Keep the adapter (its path is in the run summary) and the SDK's run folder; drop the bulky inputs.
    const dir = path.join(env.workDir, ctx.data.jobId);
    fs.rmSync(path.join(dir, "model"), { recursive: true, force: true });
    for (const f of ["train.qld", "test.qld", "train-upload.jsonl", "test-upload.jsonl"]) fs.rmSync(path.join(dir, f), { force: true });
  }
}

async function runJob(env: HandlerEnv, ctx: JobContext): Promise<LoraJobResult> {
  const { data } = ctx;
  const dir = path.join(env.workDir, data.jobId);
  fs.mkdirSync(dir, { recursive: true });
  const h = data.hyperparameters;
  const run = await init({
    project: data.project,
    workspace: data.workspace,
    name: data.runName,
    ...(data.description ? { description: data.description } : {}),
    host: env.host,
    apiKey: data.apiKey,
    logDir: path.join(dir, "swanlog"),
    exitHooks: false, // the worker outlives its runs; it ends each one itself
    quiet: true,
    tags: ["fine-tune"],
    config: {
      ...h,
      model: data.model,
      device: data.device,
      job: { id: data.jobId, worker: env.workerId, ...(ctx.gpuIndex !== undefined ? { gpu: ctx.gpuIndex } : {}) },
      hardware: ctx.hardware,
    },
  });

  // At most two progress writes a second; the latest skipped one is sent when the interval ends, so the
  // job never shows a stale step (a trainer that goes quiet after a burst of steps).
  let lastProgressAt = 0;
  let lastPhase = "";
  let trailing: ReturnType<typeof setTimeout> | undefined;
  const send = (p: Omit<LoraJobProgress, "runId" | "workerId">) => {
    if (trailing) clearTimeout(trailing);
    trailing = undefined;
    lastProgressAt = Date.now();
    lastPhase = p.phase;
    void ctx.updateProgress({ ...p, runId: run.id, workerId: env.workerId }).catch(() => {});
  };
  const progress = (p: Omit<LoraJobProgress, "runId" | "workerId">, force = false) => {
    const wait = 500 - (Date.now() - lastProgressAt);
    if (force || p.phase !== lastPhase || wait <= 0) return send(p);
    if (trailing) clearTimeout(trailing);
    trailing = setTimeout(() => send(p), wait);
  };
  progress({ phase: "preparing", step: 0, totalSteps: null, etaSeconds: null }, true);

  const stderrTail: string[] = [];
  try {
    const modelDir = await prepareModel(env, data, dir, ctx.signal, run);
    const modelConfig = readJson(path.join(modelDir, "config.json"));
    run.config.update({ model_config: modelConfig, model_dir: modelDir });
    const tok = () => tokenizerFor(fs.existsSync(path.join(modelDir, "tokenizer.json")) ? modelDir : undefined);
    const { train, test } = prepareData(tok, data, dir, run);
    if (ctx.signal.aborted) return await endAborted(run, ctx.signal);

    const out = path.join(dir, "out");
    const args = trainArgs({ data, modelDir, train, test, out, threads: env.cpuThreads });
    run.logMessage(`qwen3-lora ${args.join(" ")}`);
    const reporter = createReporter(run, { onProgress: (p) => progress(p, p.phase !== lastPhase) });
    const exit = await runTrainer(env.trainerBin, args, {
      signal: ctx.signal,
      env: { ...process.env, ...(ctx.gpuIndex !== undefined ? { CUDA_VISIBLE_DEVICES: String(ctx.gpuIndex) } : {}) },
      onLine: reporter.handle,
      onStderr: (line) => run.logMessage(line, /\berror\b/i.test(line) ? "error" : "info"),
    });
    stderrTail.push(...exit.stderrTail);
    const result = reporter.close();
    if (ctx.signal.aborted) return await endAborted(run, ctx.signal);
    if (exit.code !== 0 || !result.done) throw new JobFailure(failureMessage(exit, result.error));

    const summary = { adapter_path: result.adapterPath, final_loss: result.finalLoss, accuracy: result.accuracy, global_step: reporter.globalStep };
    await run.finish("finished");
    await patchSummary(env.host, data.apiKey, run.id, summary).catch((err) => console.error(`job ${data.jobId}: summary not saved: ${(err as Error).message}`));
    return { outcome: "succeeded", runId: run.id, adapterPath: result.adapterPath, accuracy: result.accuracy, finalLoss: result.finalLoss };
  } catch (err) {
    if (ctx.signal.aborted) return await endAborted(run, ctx.signal);
    const message = err instanceof JobFailure ? err.message : `${(err as Error).message ?? String(err)}`;
    run.logMessage(message, "error");
    await run.finish("crashed");
    throw new JobFailure(message);
  } finally {
    if (trailing) clearTimeout(trailing);   // the job is over: no late progress write
  }
}

/** Aborted by a cancel (run aborted, job cancelled) or by the worker shutting down (run crashed, job failed). */
async function endAborted(run: Run, signal: AbortSignal): Promise<LoraJobResult> {
  if (signal.reason === SHUTDOWN) {
    const message = "the worker was stopped while this job ran (SIGTERM); the trainer was stopped";
    run.logMessage(message, "error");
    await run.finish("crashed");
    throw new JobFailure(message);
  }
  run.logMessage("job cancelled: the trainer was stopped (SIGTERM)", "warning");
  await run.finish("aborted");
  return { outcome: "cancelled", runId: run.id, adapterPath: null, accuracy: null, finalLoss: null };
}

export function failureMessage(exit: TrainerExit, error: string | null): string {
  const how = exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
  const head = error ? `trainer error: ${error} (${how})` : `trainer ${how}`;
  const tail = exit.stderrTail.slice(-15);
  return tail.length ? `${head}\nlast stderr lines:\n${tail.join("\n")}` : head;
}

async function prepareModel(env: HandlerEnv, data: LoraJobData, dir: string, signal: AbortSignal, run: Run): Promise<string> {
  if (data.model.kind === "local") {
    const modelDir = path.join(env.modelsDir, data.model.name);
    if (!fs.existsSync(path.join(modelDir, "config.json"))) throw new JobFailure(`model '${data.model.name}' not found: ${modelDir}/config.json does not exist on worker ${env.workerId}`);
    return modelDir;
  }
  const modelDir = path.join(dir, "model");
  const args = ["init-random", "--config", data.model.config, "--out", modelDir, "--seed", String(data.model.seed)];
  run.logMessage(`qwen3-lora ${args.join(" ")}`);
  const exit = await runTrainer(env.trainerBin, args, { signal, onStderr: (l) => run.logMessage(l) });
  if (exit.code !== 0 && !signal.aborted) throw new JobFailure(failureMessage(exit, exit.errorMessage ?? null));
  return modelDir;
}

// Loading Qwen3's tokenizer takes seconds (and blocks the event loop): once per tokenizer file per process.
const tokenizers = new Map<string, { tok: QwenTokenizer; table?: Uint8Array[] }>();
function tokenizerFor(dir: string | undefined): QwenTokenizer {
  const key = dir ?? "";
  let entry = tokenizers.get(key);
  if (!entry) tokenizers.set(key, (entry = { tok: loadTokenizer(dir) }));
  return entry.tok;
}
function decodeTable(tok: QwenTokenizer): Uint8Array[] {
  const entry = [...tokenizers.values()].find((e) => e.tok === tok);
  if (!entry) return decodeTableOf(tok);
  return (entry.table ??= decodeTableOf(tok));
}

type Prepared = { train: string; test: string | undefined };

/** `tokenizer` is only called for data that needs tokenizing (.qld and pre-tokenized JSONL do not). */
function prepareData(tokenizer: () => QwenTokenizer, data: LoraJobData, dir: string, run: Run): Prepared {
  const h = data.hyperparameters;
  const opts = { maxLen: h.maxLength, truncation: h.truncation };
  const write = (name: string, rows: ReturnType<typeof parseTaskJsonl>) => {
    const tok = tokenizer();
    const table = decodeTable(tok);
    const { samples, stats } = encodeRows(tok, rows, opts);
    const file = path.join(dir, `${name}.qld`);
    fs.writeFileSync(file, encodeQld(samples, table));
    run.logMessage(`${name}: ${stats.samples} samples, ${stats.tokens} tokens (max ${stats.maxTokens}), ${stats.truncated} shortened, ${stats.answerLost} without answer`);
    return file;
  };
  if (data.data.kind === "synthetic") {
    const s = data.data;
    const split = makeSynthetic({ seed: s.seed, train: s.trainSamples, test: s.testSamples, ...(s.sentences ? { sentences: s.sentences } : {}) });
    return { train: write("train", split.train), test: split.test.length ? write("test", split.test) : undefined };
  }
  const one = (name: string, f: JobFile): string => {
    let file: string;
    if (f.kind === "path") {
      if (!fs.existsSync(f.path)) throw new JobFailure(`data.${name}: ${f.path} does not exist on this worker`);
      file = f.path;
    } else {
      file = path.join(dir, `${name}-upload.jsonl`);
      fs.writeFileSync(file, f.content);
    }
    if (file.endsWith(".qld")) return file;
    const content = fs.readFileSync(file, "utf8");
    const first = content.split("\n").find((l) => l.trim());
    // Pre-tokenized JSONL ({"input_ids", "labels"}) goes to the trainer as is.
    if (first && /"input_ids"\s*:/.test(first)) return file;
    try {
      return write(name, parseTaskJsonl(content, f.kind === "path" ? f.path : f.filename));
    } catch (err) {
      throw new JobFailure(`data.${name}: ${(err as Error).message}`);
    }
  };
  return { train: one("train", data.data.train), test: data.data.test ? one("test", data.data.test) : undefined };
}

export function trainArgs(o: { data: LoraJobData; modelDir: string; train: string; test: string | undefined; out: string; threads: number }): string[] {
  const h = o.data.hyperparameters;
  const args = [
    "train", "--model", o.modelDir, "--data", o.train, "--out", o.out,
    ...(o.test ? ["--eval", o.test] : []),
    "--device", o.data.device,
    "--lr", String(h.learningRate), "--epochs", String(h.epochs),
    "--micro-batch", String(h.microBatch), "--accum", String(h.gradientAccumulation),
    "--lora-r", String(h.loraR), "--lora-alpha", String(h.loraAlpha), "--lora-dropout", String(h.loraDropout),
    "--targets", h.targets.join(","), "--max-len", String(h.maxLength), "--seed", String(h.seed),
    "--schedule", h.schedule, "--max-new-tokens", String(h.maxNewTokens), "--threads", String(o.threads),
  ];
  if (h.maxSteps !== undefined) args.push("--max-steps", String(h.maxSteps));
  if (h.evalLimit !== undefined) args.push("--eval-limit", String(h.evalLimit));
  if (h.saveEvery > 0) args.push("--save-every", String(h.saveEvery));
  if (h.recompute) args.push("--recompute");
  return args;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return null;
  }
}

async function patchSummary(host: string, apiKey: string, runId: string, summary: Record<string, unknown>) {
  const res = await fetch(`${host.replace(/\/$/, "")}/api/v1/runs/${encodeURIComponent(runId)}`, {
    method: "PATCH",
    headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ summary }),
  });
  if (!res.ok) throw new Error(`PATCH run ${runId}: ${res.status} ${await res.text()}`);
}
