// Keeps job rows in step with the queue: listens to queue events and worker heartbeats, and sweeps the
// open jobs every few seconds (missed events, lost workers). Started by main.ts (or a test), never at import.
import type { JobQueuePort } from "./job-queue.js";
import type { JobsService } from "./jobs.service.js";

export type JobsRuntime = ReturnType<typeof createJobsRuntime>;

export function createJobsRuntime(deps: { jobs: JobsService; queue: JobQueuePort | undefined; log: (msg: string, err?: unknown) => void; sweepMs?: number }) {
  let timer: NodeJS.Timeout | undefined;
  let started: Promise<void> | undefined;
  const pending = new Set<string>();
  let draining = false;

  // Events arrive in bursts (a progress per step): coalesce them per job.
  const drain = async () => {
    if (draining) return;
    draining = true;
    try {
      while (pending.size) {
        const [id] = pending;
        pending.delete(id!);
        await deps.jobs.sync(id!).catch((err) => deps.log(`job ${id}: sync failed`, err));
      }
    } finally {
      draining = false;
    }
  };

  async function start() {
    if (!deps.queue) return;
    const queue = deps.queue;
    started ??= (async () => {
      await queue.listen({
        onJobChanged: (id) => {
          pending.add(id);
          void drain();
        },
        onHeartbeat: (hb) => void deps.jobs.heartbeat(hb).catch((err) => deps.log("worker heartbeat not stored", err)),
      });
      const tick = () =>
        void deps.jobs
          .sweep()
          .catch((err) => deps.log("job sweep failed", err))
          .finally(() => {
            if (timer) timer = setTimeout(tick, deps.sweepMs ?? 5_000).unref();
          });
      timer = setTimeout(tick, 0).unref();
    })();
    await started;
  }

  async function stop() {
    if (timer) clearTimeout(timer);
    timer = undefined;
    await deps.queue?.close();
  }

  return { start, stop };
}
