// The real BullMQ path on both backends: enqueue, process with progress, completed/failed events, and
// the control channel's custom events (heartbeat, cancel).
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createTestDatabase, redisUrl } from "@swanhouse/testkit";
import { openQueueKit, queueNameFor, type ControlEvent, type QueueKit, type QueueTarget } from "../src/index.js";
import { DEFAULT_HYPERPARAMETERS, type LoraJobData } from "@swanhouse/contracts";

const data = (jobId: string): LoraJobData => ({
  jobId, apiKey: "k", workspace: "w", project: "p", runName: "r",
  model: { kind: "init-random", config: "tiny", seed: 1 },
  data: { kind: "synthetic", trainSamples: 4, testSamples: 1, seed: 1 },
  hyperparameters: DEFAULT_HYPERPARAMETERS, device: "cpu",
});

const until = async (pred: () => boolean, ms = 20_000) => {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
};

for (const backend of ["postgres", "redis"] as const) {
  describe(`queue kit on ${backend}`, () => {
    let kit: QueueKit;
    let drop = async () => {};
    beforeAll(async () => {
      let target: QueueTarget;
      if (backend === "postgres") {
        const db = await createTestDatabase(inject("pgAdminUrl"), inject("pgTemplate"));
        drop = db.drop;
        target = { backend, url: db.url };
      } else {
        target = { backend, url: redisUrl(), prefix: `t${randomBytes(4).toString("hex")}` };
      }
      kit = openQueueKit(target);
    });
    afterAll(async () => {
      await kit.close();
      await drop();
    });

    it("runs a job with progress and reports completed and failed through QueueEvents", async () => {
      const name = queueNameFor("cpu");
      const events = kit.events(name);
      const seen: string[] = [];
      events.on("active", ({ jobId }) => seen.push(`active:${jobId}`));
      events.on("progress", ({ jobId, data: p }) => seen.push(`progress:${jobId}:${(p as { step: number }).step}`));
      events.on("completed", ({ jobId }) => seen.push(`completed:${jobId}`));
      events.on("failed", ({ jobId, failedReason }) => seen.push(`failed:${jobId}:${failedReason}`));
      await events.waitUntilReady();
      const queue = kit.queue(name);
      kit.worker(name, async (job) => {
        if (job.data.runName === "bad") throw new Error("trainer exploded");
        await job.updateProgress({ phase: "training", runId: "run1", step: 3, totalSteps: 10, etaSeconds: 7, workerId: "w1" });
        return { outcome: "succeeded", runId: "run1", adapterPath: "/tmp/a", accuracy: 1, finalLoss: 0.1 };
      }, { concurrency: 1 });
      await queue.add("lora", data("j1"), { jobId: "j1" });
      await queue.add("lora", { ...data("j2"), runName: "bad" }, { jobId: "j2", attempts: 1 });
      await until(() => seen.includes("completed:j1") && seen.some((s) => s.startsWith("failed:j2")));
      expect(seen).toContain("progress:j1:3");
      expect(seen).toContain("failed:j2:trainer exploded");
      const j1 = await queue.getJob("j1");
      expect(await j1!.getState()).toBe("completed");
      expect(j1!.returnvalue.runId).toBe("run1");
    });

    it("carries heartbeats and cancel requests on the control channel", async () => {
      const got: ControlEvent[] = [];
      const stop = await kit.subscribe((e) => got.push(e));
      const heartbeat = { workerId: "w1", hostname: "h", startedAt: new Date().toISOString(), cpus: 2, memoryBytes: 1, gpus: [], models: ["m"], activeJobs: [], trainerVersion: null };
      await kit.publish({ eventName: "worker-heartbeat", heartbeat });
      await kit.publish({ eventName: "cancel", jobId: "j9" });
      await until(() => got.length >= 2);
      expect(got).toEqual([{ eventName: "worker-heartbeat", heartbeat }, { eventName: "cancel", jobId: "j9" }]);
      await stop();
    });
  });
}
