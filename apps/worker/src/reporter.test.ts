// Event → SDK mapping, driven by the fake trainer executable (test/fixtures/fake-trainer.mjs) through
// the same process runner the worker uses.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Text } from "@swanhouse/sdk";
import { createReporter, predictionText, type Progress, type RunSink } from "./reporter.js";
import { runTrainer } from "./trainer-process.js";
import { failureMessage } from "./handler.js";

const FAKE = fileURLToPath(new URL("../test/fixtures/fake-trainer.mjs", import.meta.url));

function recordingRun() {
  const logs: Array<{ data: Record<string, unknown>; step: number | undefined }> = [];
  const messages: Array<{ message: string; level: string }> = [];
  const config: Record<string, unknown>[] = [];
  const run: RunSink = {
    log: (data, step) => void logs.push({ data, step }),
    logMessage: (message, level = "info") => void messages.push({ message, level }),
    config: { update: (v) => void config.push(v) },
  };
  return { run, logs, messages, config };
}

function trainArgs(seed: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-train-"));
  fs.writeFileSync(path.join(dir, "train.qld"), "x");
  return ["train", "--model", dir, "--data", path.join(dir, "train.qld"), "--out", path.join(dir, "out"), "--lr", "0.001", "--seed", String(seed)];
}

describe("reporter on the fake trainer", () => {
  it("maps steps to train/* at step = global step, predictions to Text, eval to accuracy, start to config", async () => {
    const { run, logs, messages, config } = recordingRun();
    const progress: Progress[] = [];
    let clock = 0;
    const reporter = createReporter(run, { onProgress: (p) => progress.push(p), now: () => (clock += 1000) });
    const exit = await runTrainer(FAKE, trainArgs(1), { onLine: reporter.handle, onStderr: reporter.stderr });
    const out = reporter.close();
    expect(exit.code).toBe(0);

    const steps = logs.filter((l) => "train/loss" in l.data);
    expect(steps.map((l) => l.step)).toEqual([1, 2, 3, 4, 5]);
    expect(steps[1]!.data).toEqual({
      "train/loss": 1.5, "train/grad_norm": 1.2, "train/learning_rate": 0.0008, "train/epoch": 0.4,
      "train/global_step": 2, "train/tokens_per_s": 1000,
    });

    const preds = logs.filter((l) => "Prediction" in l.data);
    expect(preds.map((l) => l.step)).toEqual([0, 1, 2]);
    const t = preds[2]!.data.Prediction as Text;
    expect(t).toBeInstanceOf(Text);
    expect(t.caption).toBe("Law");
    expect(t.text).toBe("system: sys prompt\n\nuser: 文本:text 2,类型选型:['Art', 'Law']\n\nassistant: Law");

    expect(logs.find((l) => "eval/accuracy" in l.data)).toEqual({ data: { "eval/accuracy": 2 / 3 }, step: 5 });
    expect(config[0]).toMatchObject({ trainer: { lr: 0.001 }, trainable_params: 10, total_steps: 5 });
    expect(messages.map((m) => m.message)).toContain("[qwen3-lora] 20 samples, 5 steps, backend cpu");
    expect(out).toMatchObject({ done: true, finalLoss: 0.6, accuracy: 2 / 3, error: null });
    expect(out.adapterPath).toMatch(/out\/adapter$/);

    // ETA: one fake second per reporter clock tick, 5 steps in all.
    const training = progress.filter((p) => p.phase === "training");
    expect(training[0]).toEqual({ step: 0, totalSteps: 5, etaSeconds: null, phase: "training" });
    expect(training.at(-1)!.step).toBe(5);
    expect(training.at(-1)!.etaSeconds).toBe(0);
    expect(training[2]!.etaSeconds).toBeGreaterThan(0);
    expect(progress.at(-1)!.phase).toBe("evaluating");
  });

  it("keeps the error event and the last stderr lines of a failing trainer", async () => {
    const { run, messages } = recordingRun();
    const reporter = createReporter(run);
    const exit = await runTrainer(FAKE, trainArgs(2), { onLine: reporter.handle, onStderr: reporter.stderr });
    const out = reporter.close();
    expect(exit.code).toBe(1);
    expect(out.error).toBe("gradient norm is not finite at step 2");
    expect(messages).toContainEqual({ message: "trainer error: gradient norm is not finite at step 2", level: "error" });
    const msg = failureMessage(exit, out.error);
    expect(msg).toContain("trainer error: gradient norm is not finite at step 2 (exited with code 1)");
    expect(msg).toContain("[qwen3-lora] about to fail");
  });

  it("reports a trainer killed by a signal without an error line", async () => {
    const { run } = recordingRun();
    const reporter = createReporter(run);
    const exit = await runTrainer(FAKE, trainArgs(3), { onLine: reporter.handle });
    expect(exit.signal).toBe("SIGKILL");
    expect(failureMessage(exit, reporter.close().error)).toMatch(/^trainer killed by SIGKILL\nlast stderr lines:\n[\s\S]*last words before the crash/);
  });

  it("sends SIGTERM on abort", async () => {
    const { run, logs } = recordingRun();
    const reporter = createReporter(run);
    const ctl = new AbortController();
    const exiting = runTrainer(FAKE, trainArgs(4), { onLine: (l) => { reporter.handle(l); if (l.event === "step" && l.step === 3) ctl.abort(); }, signal: ctl.signal });
    const exit = await exiting;
    expect(exit.code).toBe(143);
    expect(exit.stderrTail).toContain("[qwen3-lora] SIGTERM");
    expect(logs.filter((l) => "train/loss" in l.data).length).toBeGreaterThanOrEqual(3);
  });

  it("formats the .qld's readable prompt (system line, user message) as messages", () => {
    expect(predictionText("You classify.\n文本:球赛,类型选型:['Sports', 'Law']", "Sports")).toBe(
      "system: You classify.\n\nuser: 文本:球赛,类型选型:['Sports', 'Law']\n\nassistant: Sports",
    );
    expect(predictionText("just a question", "Law")).toBe("user: just a question\n\nassistant: Law");
  });
});
