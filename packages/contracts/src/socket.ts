// socket.io event catalog. Server pushes are batched per room (≤ 200 ms after the write).
import { z } from "zod";
import { MetricValue } from "./common.js";
import { LogLine, TextItem } from "./metrics.js";
import { Run } from "./runs.js";

export const SubscribeBody = z.union([z.object({ runId: z.string().max(64) }), z.object({ projectId: z.string().max(64) })]);
export type SubscribeBody = z.infer<typeof SubscribeBody>;
export const SubscribeAck = z.object({ ok: z.boolean(), error: z.string().optional() });
export type SubscribeAck = z.infer<typeof SubscribeAck>;

export const MetricsAppendedEvent = z.object({
  runId: z.string(),
  points: z.array(z.object({ key: z.string(), step: z.number().int(), value: MetricValue, time: z.string() })),
});
export type MetricsAppendedEvent = z.infer<typeof MetricsAppendedEvent>;
export const TextsAppendedEvent = z.object({ runId: z.string(), items: z.array(TextItem) });
export type TextsAppendedEvent = z.infer<typeof TextsAppendedEvent>;
export const LogsAppendedEvent = z.object({ runId: z.string(), logs: z.array(LogLine) });
export type LogsAppendedEvent = z.infer<typeof LogsAppendedEvent>;
export const RunUpdatedEvent = z.object({ run: Run });
export type RunUpdatedEvent = z.infer<typeof RunUpdatedEvent>;
export const RunDeletedEvent = z.object({ runId: z.string(), projectId: z.string() });
export type RunDeletedEvent = z.infer<typeof RunDeletedEvent>;

export interface ServerToClientEvents {
  "metrics:appended": (e: MetricsAppendedEvent) => void;
  "texts:appended": (e: TextsAppendedEvent) => void;
  "logs:appended": (e: LogsAppendedEvent) => void;
  "run:updated": (e: RunUpdatedEvent) => void;
  "run:deleted": (e: RunDeletedEvent) => void;
}
export interface ClientToServerEvents {
  subscribe: (body: SubscribeBody, ack: (a: SubscribeAck) => void) => void;
  unsubscribe: (body: SubscribeBody, ack?: (a: SubscribeAck) => void) => void;
}
