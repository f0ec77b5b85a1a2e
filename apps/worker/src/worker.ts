// The worker process's core: BullMQ consumers (one CPU job at a time; one job per GPU), cancel requests
// from the control channel, and a heartbeat carrying this machine's capabilities.
import fs from "node:fs";
import os from "node:os";
import { openQueueKit, queueTarget, type QueueKit } from "@swanhouse/queue";
import { LoraJobData, type GpuInfo, type WorkerHeartbeat } from "@swanhouse/contracts";
import type { WorkerEnv } from "./env.js";
import { hostInfo, nvidiaGpus, scanModels } from "./capabilities.js";
import { runLoraJob, SHUTDOWN, type HandlerEnv } from "./handler.js";

export type StartedWorker = { id: string; gpus: GpuInfo[]; kit: QueueKit; heartbeat: () => Promise<void>; close: () => Promise<void> };

export async function startWorker(env: WorkerEnv, opts: { log?: (msg: string) => void; lockSeconds?: number } = {}): Promise<StartedWorker> {
  const log = opts.log ?? ((m: string) => console.log(`[worker] ${m}`));
  const base = queueTarget({ redisUrl: env.REDIS_URL, databaseUrl: env.DATABASE_URL });
  const target = base.backend === "redis" && env.BULLMQ_PREFIX ? { ...base, prefix: env.BULLMQ_PREFIX } : base;
  const kit = openQueueKit(target);
  const host = hostInfo();
  const id = env.WORKER_ID ?? `${host.hostname}-${process.pid}`;
  const gpus = env.WORKER_NO_GPU ? [] : await nvidiaGpus();
  const startedAt = new Date().toISOString();
  const active = new Map<string, AbortController>();
  const freeGpus = gpus.map((g) => g.index);
  fs.mkdirSync(env.SWANHOUSE_WORK_DIR, { recursive: true });

  const handlerEnv: HandlerEnv = {
    host: env.SWANHOUSE_HOST, modelsDir: env.SWANHOUSE_MODELS_DIR, workDir: env.SWANHOUSE_WORK_DIR,
    trainerBin: env.TRAINER_BIN, cpuThreads: env.WORKER_CPU_THREADS, workerId: id,
  };
  const hardware = { worker: id, hostname: host.hostname, cpus: host.cpus, memoryBytes: host.memoryBytes, gpus };

  const heartbeat = async () => {
    const hb: WorkerHeartbeat = {
      workerId: id, hostname: host.hostname, startedAt, cpus: host.cpus, memoryBytes: host.memoryBytes, gpus,
      models: scanModels(env.SWANHOUSE_MODELS_DIR), activeJobs: [...active.keys()],
      trainerVersion: fs.existsSync(env.TRAINER_BIN) ? "qwen3-lora" : null,
    };
    await kit.publish({ eventName: "worker-heartbeat", heartbeat: hb });
  };

  // A cancel can arrive while a job is being taken (before it is in `active`): remember it a minute.
  const earlyCancels = new Map<string, number>();
  const stopControl = await kit.subscribe((e) => {
    if (e.eventName !== "cancel") return;
    const ctl = active.get(e.jobId);
    if (!ctl) {
      const now = Date.now();
      for (const [id, at] of earlyCancels) if (now - at > 60_000) earlyCancels.delete(id);
      earlyCancels.set(e.jobId, now);
    }
    if (ctl && !ctl.signal.aborted) {
      log(`job ${e.jobId}: cancel requested, stopping the trainer (SIGTERM)`);
      ctl.abort("cancel");
    }
  });

  const lockDuration = (opts.lockSeconds ?? 30) * 1000;
  const consumer = (name: "finetune-cpu" | "finetune-gpu", concurrency: number) =>
    kit.worker(
      name,
      async (job) => {
        const data = LoraJobData.parse(job.data);
        const ctl = new AbortController();
        active.set(data.jobId, ctl);
        if (earlyCancels.delete(data.jobId)) ctl.abort("cancel");
        const gpuIndex = name === "finetune-gpu" ? freeGpus.shift() : undefined;
        log(`job ${data.jobId}: started (${data.device}${gpuIndex !== undefined ? ` gpu ${gpuIndex}` : ""})`);
        try {
          const result = await runLoraJob(handlerEnv, {
            data, signal: ctl.signal, hardware, ...(gpuIndex !== undefined ? { gpuIndex } : {}),
            updateProgress: (p) => job.updateProgress(p),
          });
          log(`job ${data.jobId}: ${result.outcome}`);
          return result;
        } catch (err) {
          log(`job ${data.jobId}: failed: ${(err as Error).message.split("\n")[0]}`);
          throw err;
        } finally {
          active.delete(data.jobId);
          if (gpuIndex !== undefined) freeGpus.push(gpuIndex);
        }
      },
      // maxStalledCount 0: a job whose worker died is failed by the next stalled check, not run twice.
      { concurrency, maxStalledCount: 0, lockDuration, stalledInterval: lockDuration },
    );
  const workers = [consumer("finetune-cpu", 1), ...(gpus.length ? [consumer("finetune-gpu", gpus.length)] : [])];
  for (const w of workers) w.on("error", (err) => log(`queue error: ${err.message}`));

  await heartbeat().catch((err) => log(`heartbeat failed: ${(err as Error).message}`));
  const timer = setInterval(() => void heartbeat().catch((err) => log(`heartbeat failed: ${(err as Error).message}`)), env.WORKER_HEARTBEAT_SECONDS * 1000);
  timer.unref();
  log(`worker ${id}: ${gpus.length} GPU(s), ${os.availableParallelism?.() ?? host.cpus} CPUs, queue ${target.backend}, models in ${env.SWANHOUSE_MODELS_DIR}, reporting to ${env.SWANHOUSE_HOST}`);

  return {
    id, gpus, kit, heartbeat,
    async close() {
      clearInterval(timer);
      for (const ctl of active.values()) ctl.abort(SHUTDOWN);
      await Promise.allSettled(workers.map((w) => w.close()));
      await stopControl().catch(() => {});
      await kit.close();
    },
  };
}
