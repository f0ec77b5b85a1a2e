// The native trainer's stdout protocol (packages/trainer/common/log.h): one JSON object a line, with
// an "event" field and snake_case fields. Loose objects: the trainer may add fields without a change here.
import { z } from "zod";

const Num = z.number();

export const TrainerStartLine = z.looseObject({
  event: z.literal("start"),
  config: z.record(z.string(), z.unknown()),
  base_params: Num.optional(),
  trainable_params: Num.optional(),
  train_samples: Num.optional(),
  eval_samples: Num.optional(),
  total_steps: Num,
  start_step: Num.optional(),
});
export const TrainerStepLine = z.looseObject({
  event: z.literal("step"),
  step: Num,
  epoch: Num,
  loss: Num,
  grad_norm: Num,
  learning_rate: Num,
  tokens_per_s: Num.optional(),
});
export const TrainerPredictionLine = z.looseObject({
  event: z.literal("prediction"),
  index: Num,
  prompt: z.string(),
  output: z.string(),
  output_ids: z.array(Num).optional(),
  label: z.string(),
  correct: z.boolean(),
});
export const TrainerCheckpointLine = z.looseObject({ event: z.literal("checkpoint"), step: Num.optional(), path: z.string() });
export const TrainerEvalLine = z.looseObject({
  event: z.literal("eval"),
  correct: Num,
  total: Num,
  accuracy: Num,
  runtime_s: Num.optional(),
});
export const TrainerDoneLine = z.looseObject({
  event: z.literal("done"),
  runtime_s: Num.optional(),
  final_loss: Num.optional(),
  adapter_path: z.string().optional(),
  steps: Num.optional(),
});
export const TrainerErrorLine = z.looseObject({ event: z.literal("error"), message: z.string() });

/** One stdout line of `qwen3-lora`. */
export const TrainerLogLine = z.discriminatedUnion("event", [
  TrainerStartLine, TrainerStepLine, TrainerPredictionLine, TrainerCheckpointLine, TrainerEvalLine, TrainerDoneLine, TrainerErrorLine,
]);
export type TrainerLogLine = z.infer<typeof TrainerLogLine>;
export type TrainerStartLine = z.infer<typeof TrainerStartLine>;
export type TrainerStepLine = z.infer<typeof TrainerStepLine>;
export type TrainerPredictionLine = z.infer<typeof TrainerPredictionLine>;
export type TrainerEvalLine = z.infer<typeof TrainerEvalLine>;
export type TrainerDoneLine = z.infer<typeof TrainerDoneLine>;
