// The server's side of the job queue: enqueue, inspect a job's BullMQ state, remove a waiting job,
// request a cancel, and hear job changes and worker heartbeats. Opened lazily (start()) so that apps
// that never touch jobs (most tests) open no queue connection.
import { JOB_QUEUE_NAMES, openQueueKit, progressOf, queueNameFor, type QueueKit, type QueueTarget } from "@swanhouse/queue";
import type { JobDevice, LoraJobData, LoraJobProgress, LoraJobResult, WorkerHeartbeat } from "@swanhouse/contracts";

export type QueueJobState = {
  state: "queued" | "active" | "completed" | "failed" | "missing";
  progress?: LoraJobProgress;
  result?: LoraJobResult;
  failedReason?: string;
};

export interface JobQueuePort {
  readonly backend: "redis" | "postgres";
  enqueue(data: LoraJobData): Promise<void>;
  inspect(jobId: string, device: JobDevice): Promise<QueueJobState>;
  /** Removes a job that no worker has taken yet; false when it is already active or gone. */
  removeWaiting(jobId: string, device: JobDevice): Promise<boolean>;
  requestCancel(jobId: string): Promise<void>;
  listen(handlers: { onJobChanged: (jobId: string) => void; onHeartbeat: (hb: WorkerHeartbeat) => void }): Promise<void>;
  close(): Promise<void>;
}

export function createJobQueue(target: QueueTarget): JobQueuePort {
  let kit: QueueKit | undefined;
  const open = () => (kit ??= openQueueKit(target));
  const queues = new Map<string, ReturnType<QueueKit["queue"]>>();
  const queue = (device: JobDevice) => {
    const name = queueNameFor(device);
    let q = queues.get(name);
    if (!q) queues.set(name, (q = open().queue(name)));
    return q;
  };

  return {
    backend: target.backend,
    async enqueue(data) {
      // attempts 1: a trainer error is deterministic, retrying it only burns GPU time. A worker that
      // dies mid-job leaves a stalled job, which the workers' stalled check fails (maxStalledCount 0).
      await queue(data.device).add("lora", data, {
        jobId: data.jobId,
        attempts: 1,
        removeOnComplete: { age: 7 * 24 * 3600 },
        removeOnFail: { age: 7 * 24 * 3600 },
      });
    },
    async inspect(jobId, device) {
      const job = await queue(device).getJob(jobId);
      if (!job) return { state: "missing" };
      const s = await job.getState();
      const progress = progressOf(job);
      if (s === "completed") return { state: "completed", result: job.returnvalue, ...(progress ? { progress } : {}) };
      if (s === "failed") return { state: "failed", failedReason: job.failedReason, ...(progress ? { progress } : {}) };
      if (s === "active") return { state: "active", ...(progress ? { progress } : {}) };
      if (s === "unknown") return { state: "missing" };
      return { state: "queued" };
    },
    async removeWaiting(jobId, device) {
      const job = await queue(device).getJob(jobId);
      if (!job) return false;
      const s = await job.getState();
      if (s !== "waiting" && s !== "delayed" && s !== "prioritized" && s !== "waiting-children") return false;
      try {
        await job.remove();
        return true;
      } catch {
        return false; // taken by a worker meanwhile (locked)
      }
    },
    async requestCancel(jobId) {
      await open().publish({ eventName: "cancel", jobId });
    },
    async listen({ onJobChanged, onHeartbeat }) {
      const k = open();
      for (const name of JOB_QUEUE_NAMES) {
        const events = k.events(name);
        for (const ev of ["active", "progress", "completed", "failed", "removed"] as const) {
          events.on(ev, ((args: { jobId: string }) => onJobChanged(args.jobId)) as never);
        }
        await events.waitUntilReady();
      }
      await k.subscribe((e) => {
        if (e.eventName === "worker-heartbeat") onHeartbeat(e.heartbeat);
      });
    },
    async close() {
      await kit?.close();
    },
  };
}
