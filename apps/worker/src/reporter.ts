// Trainer events → SDK calls, like the Hugging Face callback: train/loss, train/grad_norm,
// train/learning_rate, train/epoch, train/global_step at step = global step; predictions as Text under
// "Prediction" (text = system, user and assistant messages; caption = the predicted label) and an
// accuracy metric; stderr → console logs. Also tracks progress and ETA for the job.
import { Text } from "@swanhouse/sdk";
import type { TrainerLogLine } from "@swanhouse/contracts";

/** The part of an SDK run the reporter uses. */
export type RunSink = {
  log(data: Record<string, number | Text | Text[]>, step?: number): void;
  logMessage(message: string, level?: "debug" | "info" | "warning" | "error"): void;
  config: { update(values: Record<string, unknown>): void };
};

export type Progress = { step: number; totalSteps: number | null; etaSeconds: number | null; phase: "training" | "evaluating" };

/**
 * The prediction as messages: "system: …", "user: …", "assistant: <output>". The trainer's prompt is
 * either the .qld's readable form (system prompt, "\n", user message) or chat-format text
 * ("<|im_start|>role\ncontent<|im_end|>" blocks).
 */
export function predictionText(prompt: string, output: string): string {
  const blocks = [...prompt.matchAll(/<\|im_start\|>(\w+)\n([\s\S]*?)(?:<\|im_end\|>|$)/g)];
  if (!blocks.length) {
    const cut = prompt.indexOf("\n");
    if (cut < 0) return `user: ${prompt}\n\nassistant: ${output}`;
    return `system: ${prompt.slice(0, cut)}\n\nuser: ${prompt.slice(cut + 1).replace(/\n+$/, "")}\n\nassistant: ${output}`;
  }
  const parts = blocks.map(([, role, content]) => (role === "assistant" ? `assistant: ${(content ?? "") + output}` : `${role}: ${content}`));
  if (blocks[blocks.length - 1]![1] !== "assistant") parts.push(`assistant: ${output}`);
  return parts.join("\n\n");
}

export function createReporter(run: RunSink, opts: { onProgress?: (p: Progress) => void; now?: () => number } = {}) {
  const now = opts.now ?? Date.now;
  let totalSteps: number | null = null;
  let startStep = 0;
  let globalStep = 0;
  let firstStepAt: number | undefined;
  let trainStartedAt: number | undefined;
  let predictions = 0;
  let correct = 0;
  let accuracyLogged = false;
  const out = {
    adapterPath: null as string | null,
    finalLoss: null as number | null,
    accuracy: null as number | null,
    error: null as string | null,
    done: false,
  };

  function eta(step: number): number | null {
    if (totalSteps === null || trainStartedAt === undefined) return null;
    const doneSteps = step - startStep;
    if (doneSteps <= 0) return null;
    const perStep = (now() - trainStartedAt) / doneSteps;
    return Math.max(0, Math.round((perStep * (totalSteps - step)) / 1000));
  }

  function handle(line: TrainerLogLine): void {
    switch (line.event) {
      case "start":
        totalSteps = line.total_steps;
        startStep = line.start_step ?? 0;
        trainStartedAt = now();
        run.config.update({
          trainer: line.config,
          base_params: line.base_params ?? null,
          trainable_params: line.trainable_params ?? null,
          train_samples: line.train_samples ?? null,
          eval_samples: line.eval_samples ?? null,
          total_steps: line.total_steps,
        });
        opts.onProgress?.({ step: startStep, totalSteps, etaSeconds: null, phase: "training" });
        break;
      case "step": {
        globalStep = line.step;
        firstStepAt ??= now();
        run.log(
          {
            "train/loss": line.loss,
            "train/grad_norm": line.grad_norm,
            "train/learning_rate": line.learning_rate,
            "train/epoch": line.epoch,
            "train/global_step": line.step,
            ...(line.tokens_per_s !== undefined ? { "train/tokens_per_s": line.tokens_per_s } : {}),
          },
          line.step,
        );
        out.finalLoss = line.loss;
        opts.onProgress?.({ step: line.step, totalSteps, etaSeconds: eta(line.step), phase: "training" });
        break;
      }
      case "prediction":
        if (predictions === 0) opts.onProgress?.({ step: globalStep, totalSteps, etaSeconds: null, phase: "evaluating" });
        predictions++;
        if (line.correct) correct++;
        run.log({ Prediction: new Text(predictionText(line.prompt, line.output), { caption: line.output.trim() }) }, line.index);
        break;
      case "checkpoint":
        run.logMessage(`checkpoint saved: ${line.path}`);
        break;
      case "eval":
        out.accuracy = line.accuracy;
        accuracyLogged = true;
        run.log({ "eval/accuracy": line.accuracy }, globalStep);
        break;
      case "done":
        out.done = true;
        out.adapterPath = line.adapter_path ?? null;
        if (line.final_loss !== undefined) out.finalLoss = line.final_loss;
        break;
      case "error":
        out.error = line.message;
        run.logMessage(`trainer error: ${line.message}`, "error");
        break;
    }
  }

  /** Call once the trainer exited: logs the accuracy from the predictions when no eval line came. */
  function close(): typeof out {
    if (!accuracyLogged && predictions > 0) {
      out.accuracy = correct / predictions;
      run.log({ "eval/accuracy": out.accuracy }, globalStep);
    }
    return out;
  }

  return { handle, close, stderr: (line: string) => run.logMessage(line), get globalStep() { return globalStep; } };
}
